"""The signed-in forms in a real browser (issue 16): sign in and out, add a feed found
on a site's page (one of several, or the only one), subscribe anyway to what is no feed
(or is one already), edit and remove a feed, split and merge stories, import and export OPML,
and a form without this session's CSRF token refused.  Headless Chromium against one real
uvicorn server over the demo, with a loopback server playing the sites."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pytest_httpserver import HTTPServer

from aggregator.config import load_settings
from aggregator.ingest.pipeline import Pipeline
from aggregator.publish.accounts import hash_password
from aggregator.publish.opml import parse_opml
from aggregator.storage import Storage
from aggregator.types import FeedSpec
from tests.feeds import html, rss, story
from tests.helpers import wait_for
from tests.test_browser import CHROMIUM, follow, start_chromium
from tests.test_publish_demo import demo_config, running_server

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is absent")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

TOKEN = "the-operator-token-of-this-test"
PAGE = (
    "<!doctype html><html><head><title>Harbour Town</title>"
    '<link rel="alternate" type="application/rss+xml" title="Harbour news" href="news.xml">'
    '<link rel="alternate" type="application/rss+xml" title="Harbour sport" href="/site/sport.xml">'
    "</head><body><p>Welcome</p></body></html>"
)
ONE_FEED_PAGE = (
    "<!doctype html><html><head><title>Harbour Pier</title>"
    '<link rel="alternate" type="application/rss+xml" title="Pier news" href="feed.xml">'
    "</head><body><p>Welcome</p></body></html>"
)


def _feed(title: str, seed: int) -> bytes:
    link = f"https://harbour.example/{seed}"
    return rss(title, [{"guid": f"h-{seed}", "title": f"{title} {seed}", "link": link,
                        "html": html(story(seed))}])  # fmt: skip


@dataclass(frozen=True)
class Site:
    url: str
    storage: Storage
    feeds: HTTPServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    feeds = HTTPServer(host="127.0.0.1", port=0)
    feeds.expect_request("/site/").respond_with_data(PAGE, content_type="text/html")
    feeds.expect_request("/pier/").respond_with_data(ONE_FEED_PAGE, content_type="text/html")
    feeds.expect_request("/notes.txt").respond_with_data("no feed here", content_type="text/plain")
    for served, seed in (
        ("/site/news.xml", 1),
        ("/site/sport.xml", 2),
        ("/opml/a.xml", 3),
        ("/pier/feed.xml", 4),
    ):
        feeds.expect_request(served).respond_with_data(
            _feed("Harbour", seed), content_type="application/rss+xml"
        )
    feeds.expect_request("/missing.xml").respond_with_data("gone", status=404)
    feeds.start()
    root = tmp_path_factory.mktemp("manage")
    config_path = demo_config(root, token=TOKEN)
    config = yaml.safe_load(config_path.read_text())
    # The loopback server plays public sites (as tests/test_safety_fetch.py does).
    config["fetch"] = {"allow_networks": ["127.0.0.0/8"]}
    config_path.write_text(yaml.safe_dump(config))
    settings = load_settings(config_path, env={})
    pipeline = Pipeline(Storage(settings.database), settings, keep_lease=False)
    pipeline.poll()
    pipeline.storage.add_reader("ada", hash_password("correct horse"), None)
    try:
        with running_server(settings, pipeline.storage, pipeline=pipeline) as base:
            yield Site(base, pipeline.storage, feeds)
    finally:
        feeds.stop()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, downloads: Path) -> Iterator[Any]:
    driver = start_chromium(tmp_path_factory.mktemp("profile"), downloads)
    try:
        yield driver
    finally:
        driver.quit()


def _fill(browser: Any, form: str, **fields: str) -> None:
    for name, value in fields.items():
        box = browser.find_element(By.CSS_SELECTOR, f"{form} [name={name}]")
        box.clear()
        box.send_keys(value)


def _submit(browser: Any, form: str) -> None:
    follow(browser, browser.find_element(By.CSS_SELECTOR, f"{form} button[type=submit]"))


def _notice(browser: Any) -> str:
    text: str = browser.find_element(By.CSS_SELECTOR, "p.notice").text
    return text


def _sign_in(browser: Any, site: Site, name: str = "", password: str = TOKEN) -> None:
    browser.get(f"{site.url}/healthz")
    browser.delete_all_cookies()
    browser.get(f"{site.url}/login?next=/manage")
    _fill(browser, "form.manage", name=name, password=password)
    _submit(browser, "form.manage")


def _row(browser: Any, feed_id: int) -> Any:
    return browser.find_element(By.CSS_SELECTOR, f"table.manage-feeds tr[data-feed='{feed_id}']")


def test_sign_in_as_a_reader_and_out_again(site: Site, browser: Any) -> None:
    browser.get(f"{site.url}/healthz")
    browser.delete_all_cookies()
    browser.get(f"{site.url}/manage")
    assert "/login?next=%2Fmanage" in browser.current_url
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    _fill(browser, "form.manage", name="ada", password="wrong horse")
    _submit(browser, "form.manage")
    assert "do not match" in browser.find_element(By.CSS_SELECTOR, ".form-error").text

    _fill(browser, "form.manage", name="ada", password="correct horse")
    _submit(browser, "form.manage")
    assert browser.current_url == f"{site.url}/manage"
    assert _notice(browser) == "Signed in as ada."
    cookie = browser.get_cookie("aggregator_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]
    assert browser.find_element(By.CSS_SELECTOR, "form.account .who").text == "ada"

    follow(browser, browser.find_element(By.CSS_SELECTOR, "form.account button"))
    assert _notice(browser) == "Signed out."
    assert browser.find_element(By.CSS_SELECTOR, "a.account").text == "Sign in"
    browser.get(f"{site.url}/manage")
    assert "/login" in browser.current_url


def test_add_a_feed_found_on_a_site_page(site: Site, browser: Any) -> None:
    _sign_in(browser, site)
    assert _notice(browser) == "Signed in as operator."
    _fill(browser, "form.add-feed", url=site.feeds.url_for("/site/"), group="Harbour")
    _submit(browser, "form.add-feed")
    # The page offers both feeds it links to; the second is chosen.
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Feeds found on")
    choices = browser.find_elements(By.CSS_SELECTOR, "form.choose-feed input[type=radio]")
    assert [c.get_attribute("value") for c in choices] == [
        site.feeds.url_for("/site/news.xml"),
        site.feeds.url_for("/site/sport.xml"),
    ]
    choices[1].click()
    _submit(browser, "form.choose-feed")
    sport = site.feeds.url_for("/site/sport.xml")
    assert _notice(browser).startswith(f"Added {sport}.")
    added = site.storage.find_feed(sport)
    assert added is not None and added.group == "Harbour" and added.origin == "web"
    assert "Harbour" in _row(browser, added.id).text

    # What is not a feed is refused, with the reason.
    _fill(browser, "form.add-feed", url=site.feeds.url_for("/missing.xml"))
    _submit(browser, "form.add-feed")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("No feed at")
    assert "404" in browser.find_element(By.CSS_SELECTOR, ".form-error").text
    assert site.storage.find_feed(site.feeds.url_for("/missing.xml")) is None


def test_a_site_page_with_one_feed_subscribes_to_it_at_once(site: Site, browser: Any) -> None:
    page, feed_url = site.feeds.url_for("/pier/"), site.feeds.url_for("/pier/feed.xml")
    _sign_in(browser, site)
    _fill(browser, "form.add-feed", url=page, name="Pier news")
    _submit(browser, "form.add-feed")
    # No page to choose on: straight back to the feeds, the one feed added.
    assert browser.current_url == f"{site.url}/manage#feeds"
    assert (
        _notice(browser) == f"Added {feed_url} (found on {page}). It is polled at the next cycle."
    )
    added = site.storage.find_feed(feed_url)
    assert added is not None and added.name == "Pier news" and added.origin == "web"
    assert "Pier news" in _row(browser, added.id).text
    assert site.storage.find_feed(page) is None


def test_subscribe_anyway_to_what_is_no_feed_and_to_what_is_subscribed(
    site: Site, browser: Any
) -> None:
    notes = site.feeds.url_for("/notes.txt")
    _sign_in(browser, site)
    _fill(browser, "form.add-feed", url=notes, group="Harbour")
    _submit(browser, "form.add-feed")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"No feed at {notes}"
    assert browser.find_element(By.CSS_SELECTOR, ".form-error").text
    assert site.storage.find_feed(notes) is None
    # The refusal's own form, ticked: subscribed without looking (it may be a feed later),
    # with the group given the first time.
    browser.find_element(By.CSS_SELECTOR, "form.add-feed [name=force]").click()
    _submit(browser, "form.add-feed")
    assert _notice(browser) == f"Added {notes}. It is polled at the next cycle."
    added = site.storage.find_feed(notes)
    assert added is not None and added.group == "Harbour" and added.origin == "web"

    # Once more, ticked again: the feed already subscribed, not a second one.
    _fill(browser, "form.add-feed", url=notes)
    _submit(browser, "form.add-feed")
    assert browser.find_element(By.TAG_NAME, "h1").text == f"No feed at {notes}"
    browser.find_element(By.CSS_SELECTOR, "form.add-feed [name=force]").click()
    _submit(browser, "form.add-feed")
    assert _notice(browser) == f"Already subscribed to {added.shown_name} ({notes})."
    assert [f.url for f in site.storage.list_feeds()].count(notes) == 1


def test_edit_then_remove_a_feed(site: Site, browser: Any) -> None:
    feed, _ = site.storage.add_feed(
        FeedSpec(url=site.feeds.url_for("/site/news.xml"), name="Harbour news"), origin="web"
    )
    _sign_in(browser, site)
    follow(browser, _row(browser, feed.id).find_element(By.CSS_SELECTOR, "a.edit"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Edit Harbour news"
    _fill(browser, "form.edit-feed", name="Harbour daily", group="Metro", priority="7",
          interval="30m")  # fmt: skip
    browser.find_element(By.CSS_SELECTOR, "form.edit-feed [name=enabled]").click()
    _submit(browser, "form.edit-feed")
    assert _notice(browser) == "Saved Harbour daily."
    edited = site.storage.find_feed(feed.id)
    assert edited is not None
    assert (edited.name, edited.group, edited.priority, edited.interval, edited.disabled) == (
        "Harbour daily", "Metro", 7, 1800, True
    )  # fmt: skip
    assert "30m" in _row(browser, feed.id).text

    follow(browser, _row(browser, feed.id).find_element(By.CSS_SELECTOR, "a.remove"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Remove Harbour daily?"
    _submit(browser, "form.remove-feed")
    assert _notice(browser) == "Removed Harbour daily and its 0 items."
    assert site.storage.find_feed(feed.id) is None
    assert not browser.find_elements(By.CSS_SELECTOR, f"tr[data-feed='{feed.id}']")


def test_split_an_item_out_then_merge_it_back(site: Site, browser: Any) -> None:
    clusters, _ = site.storage.cluster_page(min_size=3, limit=1, offset=0)
    cluster = site.storage.get_cluster(clusters[0].id)
    assert cluster is not None
    copy = next(m for m in cluster.members if not m.canonical)
    canonical = next(m for m in cluster.members if m.canonical)
    _sign_in(browser, site)
    browser.get(f"{site.url}/clusters/{cluster.id}")
    Select(browser.find_element(By.CSS_SELECTOR, "form.split select")).select_by_value(str(copy.id))
    _submit(browser, "form.split")
    assert _notice(browser).startswith(f"Item {copy.id} is now a story of its own")
    # Back on the story the copy left (its canonical copy's), without the copy.
    alone, kept = _clusters_of(site, copy.id, canonical.id)
    assert alone != kept == _cluster_id_in(browser)
    assert str(copy.id) not in _member_ids(browser)

    _fill(browser, "form.merge", other=f"{site.url}/clusters/{alone}")
    _submit(browser, "form.merge")
    assert "are one story now" in _notice(browser)
    alone, kept = _clusters_of(site, copy.id, canonical.id)
    assert alone == kept == _cluster_id_in(browser)
    assert str(copy.id) in _member_ids(browser)


def _clusters_of(site: Site, *item_ids: int) -> list[int | None]:
    found = {i.id: i.cluster_id for i in site.storage.list_items(item_ids=list(item_ids))}
    return [found[i] for i in item_ids]


def _member_ids(browser: Any) -> list[str]:
    cells = browser.find_elements(By.CSS_SELECTOR, "table.members tbody td.item")
    return [c.text.split()[0] for c in cells]


def _cluster_id_in(browser: Any) -> int:
    return int(browser.current_url.rsplit("/", 1)[1].split("?")[0].split("#")[0])


def test_import_then_export_opml(site: Site, browser: Any, downloads: Path, tmp_path: Path) -> None:
    listed = tmp_path / "subscriptions.opml"
    listed.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>'
        '<outline text="Imported">'
        f'<outline text="Harbour A" xmlUrl="{site.feeds.url_for("/opml/a.xml")}"/>'
        '<outline text="A local file" xmlUrl="file:///etc/passwd"/>'
        "</outline></body></opml>"
    )
    _sign_in(browser, site)
    browser.find_element(By.CSS_SELECTOR, "form.import-opml input[type=file]").send_keys(
        str(listed)
    )
    _submit(browser, "form.import-opml")
    assert browser.find_element(By.CSS_SELECTOR, ".opml-summary").text == (
        "2 feeds listed: 1 added, 0 already subscribed, 1 skipped."
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "table.opml-results tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, ".status").text for r in rows] == ["added", "skipped"]
    imported = site.storage.find_feed(site.feeds.url_for("/opml/a.xml"))
    assert imported is not None and imported.group == "Imported"

    browser.get(f"{site.url}/manage")
    browser.find_element(By.CSS_SELECTOR, "a.export-opml").click()
    saved = wait_for(
        lambda: [p for p in downloads.glob("*.opml")], timeout=10, what="the OPML download"
    )
    exported = {f.url: f for f in parse_opml(saved[0].read_bytes())}
    assert exported[imported.url].group == "Imported"
    assert {f.url for f in site.storage.list_feeds()} == set(exported)


def test_a_form_without_the_session_token_is_refused(site: Site, browser: Any) -> None:
    _sign_in(browser, site)
    before = len(site.storage.list_feeds())
    url = site.feeds.url_for("/site/news.xml")
    for forge in (
        "document.querySelector('form.add-feed [name=csrf]').value = 'forged'",
        "document.querySelector('form.add-feed [name=csrf]').remove()",
    ):
        browser.get(f"{site.url}/manage")
        _fill(browser, "form.add-feed", url=url)
        browser.execute_script(forge)
        _submit(browser, "form.add-feed")
        assert browser.find_element(By.TAG_NAME, "h1").text == "403 · Forbidden"
        assert "security token" in browser.find_element(By.CSS_SELECTOR, ".lede").text
    # Another site's form: the session cookie stays home (SameSite), and no token either.
    answer = httpx.post(f"{site.url}/manage/feeds", data={"url": url}, timeout=10)
    assert answer.status_code == 403
    assert len(site.storage.list_feeds()) == before
