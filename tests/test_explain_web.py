"""``clusters explain`` on the web: ``/api/items/{id}/explain``, the ``/items/{id}/explain``
page and the rules' verdicts on the cluster page give the command's own answer, for a
template pair, a digest and every method the engine produces."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aggregator.cli import main
from aggregator.config import load_settings
from aggregator.publish import explaining
from aggregator.publish.app import create_app
from aggregator.storage import Storage
from tests.feeds import rss
from tests.helpers import web_client
from tests.test_explain import briefing_corpus, corpus  # noqa: F401  (a fixture)
from tests.test_templates import DAYS, TOWN_PAIRS, _regional


def _cli(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> Any:
    capsys.readouterr()
    assert main(["--config", str(config), *args]) == 0
    return json.loads(capsys.readouterr().out)


def _polled(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, dict[str, Any]]:
    assert main(["--config", str(config), "poll", "--once"]) == 0
    items = _cli(capsys, config, "items", "list", "--format", "json", "--all")
    return {item["guid"]: item for item in items}


def _web(config: Path) -> TestClient:
    settings = load_settings(config)
    return web_client(create_app(Storage(settings.database), settings))


def _same_evidence(web: dict[str, Any], cli: dict[str, Any]) -> None:
    """The web's report is the command's, but for the feed's address (redacted) and name."""
    strip = {"feed_url", "feed"}
    assert [{k: v for k, v in i.items() if k not in strip} for i in web["items"]] == [
        {k: v for k, v in i.items() if k not in strip} for i in cli["items"]
    ]
    assert web.get("comparison") == cli.get("comparison")


def test_the_api_gives_the_commands_answer_for_every_method(
    corpus: Path,  # noqa: F811  (the fixture imported above)
    capsys: pytest.CaptureFixture[str],
) -> None:
    items = _polled(capsys, corpus)
    ids = sorted(item["id"] for item in items.values())
    with _web(corpus) as client:
        for item in items.values():
            [cli] = _cli(capsys, corpus, "clusters", "explain", str(item["id"]), "--format", "json")
            web = client.get(f"/api/items/{item['id']}/explain").json()
            _same_evidence(web, cli)
            assert web["items"][0]["membership"]["method"] == item["method"]
        first, second = items["a-url"]["id"], items["b-url"]["id"]
        [cli] = _cli(
            capsys, corpus, "clusters", "explain", str(first), str(second), "--format", "json"
        )
        web = client.get(f"/api/items/{first}/explain?with={second}").json()
        _same_evidence(web, cli)
        assert web["comparison"]["method"] == "url" and web["comparison"]["same_cluster"]
        missing = client.get(f"/api/items/{ids[-1] + 1}/explain")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == f"no item {ids[-1] + 1}"
        assert client.get(f"/api/items/{first}/explain?with=x").status_code == 400


def test_the_explain_page_names_a_digest_and_its_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = briefing_corpus(tmp_path, 3)
    items = _polled(capsys, config)
    briefing, teaser = items["briefing"], items["teaser"]
    with _web(config) as client:
        # While another request reads the day's stories, the check is skipped, and said so.
        assert explaining._SCANNING.acquire(blocking=False)
        try:
            busy = client.get(f"/api/items/{briefing['id']}/explain").json()
            busy_page = client.get(f"/items/{briefing['id']}/explain")
        finally:
            explaining._SCANNING.release()
        assert busy["digests_checked"] is False and "digest" not in busy["items"][0]
        assert "The digest check (whether an item holds the leads" in busy_page.text
        report = client.get(f"/api/items/{briefing['id']}/explain?with={teaser['id']}").json()
        assert report["digests_checked"] is True
        rule = report["items"][0]["digest"]["rule"]
        assert rule.startswith(f"digest: item {briefing['id']} holds the leads of ")
        assert report["comparison"]["same_cluster"] is False
        page = client.get(f"/items/{briefing['id']}/explain?with={teaser['id']}")
    assert page.status_code == 200
    assert f"Item {briefing['id']} and item {teaser['id']}: two stories" in page.text
    assert rule.replace("'", "&#39;") in page.text
    for cluster in report["items"][0]["digest"]["clusters"]:
        assert f'<a href="/clusters/{cluster}">cluster {cluster}</a>' in page.text


def test_two_towns_on_one_template_are_explained_as_two_stories(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A regional forecast written for two towns: the page says the template rule keeps
    them apart, and the cluster page of one links to the comparison form."""
    one, other = TOWN_PAIRS[1]
    day = DAYS[1]
    entries = [
        {
            "guid": town,
            "title": f"{town} forecast for {day}",
            "link": f"https://weather{n}.example/{n}",
            "html": "".join(f"<p>{p}</p>" for p in _regional(random.Random(5), town, day)),
        }
        for n, town in enumerate((one, other))
    ]
    for n, entry in enumerate(entries):
        (tmp_path / f"w{n}.xml").write_bytes(rss(f"w{n}.xml", [entry]))
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'db.sqlite'}\nfeeds:\n  - url: w0.xml\n  - url: w1.xml\n"
    )
    items = _polled(capsys, config)
    first, second = items[one], items[other]
    assert first["cluster_id"] != second["cluster_id"]
    with _web(config) as client:
        report = client.get(f"/api/items/{first['id']}/explain?with={second['id']}").json()
        page = client.get(f"/items/{first['id']}/explain?with={second['id']}")
        cluster_page = client.get(f"/clusters/{first['cluster_id']}")
    assert report["comparison"]["method"] is None
    assert report["comparison"]["rule"].startswith("template:")
    assert "The rules give the pair <strong>no edge</strong>" in page.text
    assert "two stories" in page.text and "template:" in page.text
    assert f'action="/items/{first["id"]}/explain"' in cluster_page.text
    assert "The rules today: single: no verified edge to another item." in cluster_page.text
