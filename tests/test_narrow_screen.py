"""Issue 16: below 700 px the clusters table's Sources header stayed while its cells were
hidden, so every header from there on stood over the wrong column.  In headless Chromium
(the fixtures of tests/test_browser.py), at a phone's width and at a desktop's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_browser import browser, site  # noqa: F401  (fixtures)

By = pytest.importorskip("selenium.webdriver.common.by").By


def _columns(driver: Any, table: str) -> tuple[list[str], list[list[str]]]:
    """The headers shown, and each row's shown cells (by their header's class or index)."""
    headers = driver.find_elements(By.CSS_SELECTOR, f"{table} thead th")
    shown = [h.text.title() for h in headers if h.is_displayed()]  # the CSS upper-cases them
    rows = [
        [c.text for c in row.find_elements(By.CSS_SELECTOR, "td") if c.is_displayed()]
        for row in driver.find_elements(By.CSS_SELECTOR, f"{table} tbody tr")
    ]
    return shown, rows


@pytest.mark.parametrize(("width", "sources"), [(600, False), (1200, True)])
def test_every_header_hides_with_its_cells(
    site: str,  # noqa: F811
    browser: Any,  # noqa: F811
    width: int,
    sources: bool,
) -> None:
    browser.set_window_size(width, 900)
    browser.get(f"{site}/clusters")
    headers, rows = _columns(browser, "table.clusters")
    assert rows, "no cluster rows"
    assert all(len(row) == len(headers) for row in rows), (headers, rows[0])
    assert ("Sources" in headers) is sources
    # The cells under "Copies" are the copy counts, whatever the width.
    copies = headers.index("Copies")
    assert all(row[copies].isdigit() for row in rows)
