"""The pages in a real browser: headless Chromium (Debian's chromium + chromium-driver,
installed by .ci/run) against a real uvicorn server over the demo.  Screenshots go to the
test's tmp dir; the assertions are on what is displayed and where."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_publish_demo import demo_pipeline, running_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and (Path(CHROMEDRIVER).exists() or shutil.which("chromedriver"))),
    reason="Chromium is absent (apt-get install chromium chromium-driver; .ci/run does)",
)

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


def follow(browser: Any, element: Any, arrives_at: str = "") -> None:
    """Click a link or button and wait until the next page has loaded (and its address
    holds ``arrives_at``): a click returns before the navigation it starts has ended, so
    reading the page right after it can still see the one it came from. The old page is
    told apart by a mark set on its window, which the new page does not have."""
    browser.execute_script("window.leftByFollow = true")
    element.click()

    def arrived(driver: Any) -> bool:
        try:
            fresh = driver.execute_script(
                "return window.leftByFollow === undefined && document.readyState === 'complete'"
            )
        except WebDriverException:  # asked mid-navigation: not there yet
            return False
        return bool(fresh) and arrives_at in driver.current_url

    WebDriverWait(browser, 15).until(arrived)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings, pipeline = demo_pipeline(tmp_path_factory.mktemp("browser"))
    with running_server(settings, pipeline.storage) as base:
        yield base


def start_chromium(profile: Path, downloads: Path | None = None) -> Any:
    """Headless Chromium under WebDriver (``downloads``: where files it saves go)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    if downloads is not None:
        options.add_experimental_option(
            "prefs",
            {"download.default_directory": str(downloads), "download.prompt_for_download": False},
        )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or CHROMEDRIVER), options=options
    )
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    driver = start_chromium(tmp_path / "profile")
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: Any, path: Path) -> None:
    """The whole page, not just the window."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 50, 8000))
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def _problems(driver: Any) -> list[str]:
    """Console errors (a CSP violation, a failed stylesheet), the missing favicon aside."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "favicon" not in e["message"]
    ]


def test_cluster_list_then_a_cluster_side_by_side(site: str, browser: Any, tmp_path: Path) -> None:
    browser.get(f"{site}/clusters")
    _screenshot(browser, tmp_path / "clusters.png")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Stories"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.clusters tbody tr")
    assert len(rows) == 16  # the demo's stories with more than one copy
    assert (
        "16 stories published more than once" in browser.find_element(By.CSS_SELECTOR, ".lede").text
    )
    # The stylesheet applied (allowed by our CSP): the header is dark, not transparent.
    header = browser.find_element(By.CSS_SELECTOR, "header.site")
    assert header.value_of_css_property("background-color") == "rgba(22, 32, 43, 1)"

    follow(
        browser,
        browser.find_element(By.PARTIAL_LINK_TEXT, "US and Japan Forge AI Alliance"),
        "/clusters/",
    )
    _screenshot(browser, tmp_path / "cluster.png")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("US and Japan Forge AI Alliance")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "Why these copies are one story" in body
    assert "Why this copy is the canonical one" in body
    assert "highest priority" in body  # the canonical copy is from the priority-1 feed
    members = browser.find_elements(By.CSS_SELECTOR, "table.members tbody tr")
    copies = browser.find_elements(By.CSS_SELECTOR, "article.copy")
    assert len(members) == len(copies) == 5
    # Side by side: the copies start on one line, left to right.
    tops = {round(c.rect["y"]) for c in copies[:3]}
    lefts = [c.rect["x"] for c in copies[:3]]
    assert len(tops) == 1 and lefts == sorted(lefts)
    # The differences are highlighted: footers and sponsor lines as boilerplate, changed
    # words and title changes marked.
    boilerplate = [b.text for b in browser.find_elements(By.CSS_SELECTOR, "p.block.boilerplate")]
    assert any("sponsored by" in b.lower() for b in boilerplate)
    assert any("Follow our other news" in b for b in boilerplate)
    assert browser.find_elements(By.CSS_SELECTOR, "h3.title mark.changed, h3.title del")
    reference = browser.find_element(By.CSS_SELECTOR, "article.copy.reference")
    assert "canonical" in reference.text.lower()
    assert not _problems(browser)


def test_a_member_explained_then_compared_with_another_story(
    site: str, browser: Any, tmp_path: Path
) -> None:
    """From a cluster page, a member's "explain" link gives the rules' verdict against the
    member it matched; the form compares the canonical copy with another story's item."""
    browser.get(f"{site}/clusters")
    follow(
        browser,
        browser.find_element(By.PARTIAL_LINK_TEXT, "US and Japan Forge AI Alliance"),
        "/clusters/",
    )
    cluster_url = browser.current_url
    rules = browser.find_elements(By.CSS_SELECTOR, "table.members td.reason .rule-today")
    assert len(rules) == 5 and all(r.text.startswith("The rules today: ") for r in rules)
    matched = browser.find_elements(By.CSS_SELECTOR, "table.members a.explain[href*='with=']")
    assert matched
    follow(browser, matched[0], "/explain")
    _screenshot(browser, tmp_path / "explain.png")
    heading = browser.find_element(By.TAG_NAME, "h1").text
    assert heading.endswith(": one story"), heading
    assert browser.find_element(By.CSS_SELECTOR, "p.verdict").text.startswith("The rules join them")
    assert len(browser.find_elements(By.CSS_SELECTOR, "section.explained-item")) == 2
    # Another story: the first cluster of the list other than this one.
    browser.get(f"{site}/api/clusters?limit=500")
    other = browser.find_element(By.TAG_NAME, "body").text
    first_other = next(
        c["canonical_item"]["id"]
        for c in json.loads(other)["clusters"]
        if "US and Japan" not in (c["canonical_item"]["title"] or "")
    )
    browser.get(cluster_url)
    field = browser.find_element(By.CSS_SELECTOR, "form.compare input[name=with]")
    field.send_keys(str(first_other))
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.compare button"), "/explain")
    assert browser.find_element(By.TAG_NAME, "h1").text.endswith(": two stories")
    verdict = browser.find_element(By.CSS_SELECTOR, "p.verdict").text
    assert "no edge" in verdict and "in different clusters" in verdict
    assert not _problems(browser)


def test_feeds_page_shows_health(site: str, browser: Any, tmp_path: Path) -> None:
    browser.get(f"{site}/feeds")
    _screenshot(browser, tmp_path / "feeds.png")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.feeds tbody tr")
    assert len(rows) == 5
    statuses = [r.find_element(By.CSS_SELECTOR, ".status").text for r in rows]
    assert statuses == ["ok"] * 5
    assert "The Daily Watch News" in browser.find_element(By.TAG_NAME, "body").text
    assert not _problems(browser)


def test_cluster_page_shows_the_published_copy_cleaned_and_original(
    site: str, browser: Any, tmp_path: Path
) -> None:
    browser.get(f"{site}/clusters")
    follow(
        browser,
        browser.find_element(By.PARTIAL_LINK_TEXT, "US and Japan Forge AI Alliance"),
        "/clusters/",
    )
    section = browser.find_element(By.ID, "published")
    assert "What subscribers get" in section.text
    # The default view is what the feeds publish: the story without footer or sponsor line.
    assert section.find_element(By.CSS_SELECTOR, ".view-current").text == "cleaned"
    cleaned = section.find_element(By.CSS_SELECTOR, "article.published-cleaned").text
    assert "Follow our other news" not in cleaned and "sponsored by" not in cleaned.lower()
    assert len(cleaned.split()) > 100  # the story itself is there
    assert "removed" in section.find_element(By.CSS_SELECTOR, ".views").text

    follow(
        browser,
        section.find_element(By.CSS_SELECTOR, "a.view-original"),
        "?published=original#published",
    )
    _screenshot(browser, tmp_path / "published-original.png")
    section = browser.find_element(By.ID, "published")
    assert section.find_element(By.CSS_SELECTOR, ".view-current").text == "original"
    original = section.find_element(By.CSS_SELECTOR, "article.published-original")
    struck = [b.text for b in original.find_elements(By.CSS_SELECTOR, "p.removed-block del")]
    assert any("Follow our other news" in b for b in struck)
    # The removed blocks show struck through, the story's own blocks plain.
    assert struck[0] not in cleaned
    kept = original.find_elements(By.CSS_SELECTOR, "p.block:not(.removed-block)")
    assert all(k.text in cleaned for k in kept)
    assert not _problems(browser)


def test_the_search_box_finds_a_story_once(site: str, browser: Any, tmp_path: Path) -> None:
    browser.get(f"{site}/feeds")
    box = browser.find_element(By.CSS_SELECTOR, "header.site form.search input[name=q]")
    box.send_keys('Japan "alliance')  # a stray quote is a character, not syntax
    follow(
        browser,
        browser.find_element(By.CSS_SELECTOR, "header.site form.search button"),
        "/search?q=",
    )
    _screenshot(browser, tmp_path / "search.png")
    results = browser.find_elements(By.CSS_SELECTOR, "ol.results li")
    assert len(results) == 1  # five copies, one story
    assert "5 copies" in results[0].find_element(By.CSS_SELECTOR, ".meta").text
    marks = {m.text.lower() for m in results[0].find_elements(By.CSS_SELECTOR, ".snippet mark")}
    assert marks and marks <= {"japan", "alliance"}
    # The box on the results page keeps the words, ready to change them.
    kept = browser.find_element(By.CSS_SELECTOR, "header.site form.search input[name=q]")
    assert kept.get_attribute("value") == 'Japan "alliance'
    follow(browser, results[0].find_element(By.CSS_SELECTOR, "a.title"), "/clusters/")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("US and Japan Forge AI Alliance")
    assert not _problems(browser)
