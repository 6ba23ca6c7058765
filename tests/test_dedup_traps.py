"""Near-duplicate decisions on the traps syndication sets, through the real pipeline."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.feeds import FOOTER, html, rss, story
from tests.helpers import check_consistency, clusters_by_guid, partition, pipeline_for


def _feed(path: Path, items: list[tuple[str, str, str]], date: str | None = None) -> Path:
    """items: (guid, title, html)."""
    path.write_bytes(
        rss(
            path.stem,
            [
                {
                    "guid": g,
                    "title": t,
                    "link": f"https://{path.stem}.example/{g}",
                    "html": h,
                    **({"date": date} if date else {}),
                }
                for g, t, h in items
            ],
        )
    )
    return path


def _sponsor(n: int) -> str:
    return f"<p>This article is sponsored by Sponsor Number {n}</p>"


def test_briefs_sharing_a_long_footer_stay_apart(tmp_path: Path, sqlite_url: str) -> None:
    a = _feed(
        tmp_path / "a.xml",
        [
            (f"a{i}", f"Brief {i}", html(story(100 + i, 1, 30), _sponsor(i) + FOOTER))
            for i in range(4)
        ],
    )
    b = _feed(
        tmp_path / "b.xml",
        [
            (f"b{i}", f"Brief {i}", html(story(200 + i, 1, 30), _sponsor(i + 9) + FOOTER))
            for i in range(3)
        ],
    )
    pipeline = pipeline_for(sqlite_url, [a, b])
    pipeline.poll()
    assert len(set(clusters_by_guid(pipeline).values())) == 7
    learned = {b.sample for b in pipeline.boilerplate.learned()}
    assert "the example times" in learned


def test_recurring_titles_over_different_bodies_stay_apart(tmp_path: Path, sqlite_url: str) -> None:
    a = _feed(
        tmp_path / "a.xml",
        [
            ("a1", "Morning Briefing", html(story(1))),
            ("a2", "Morning Briefing", html(story(2))),
            ("a3", "Market Update", html(story(3))),
        ],
    )
    b = _feed(
        tmp_path / "b.xml",
        [
            ("b1", "Morning Briefing", html(story(4))),
            ("b2", "Morning Briefing", html(story(2), _sponsor(1))),
            ("b3", "Market Update", html(story(5))),
        ],
    )
    pipeline = pipeline_for(sqlite_url, [a, b])
    pipeline.poll()
    expected = {frozenset({"a2", "b2"})} | {frozenset({g}) for g in ("a1", "a3", "b1", "b3")}
    assert partition(pipeline) == expected


STORM_ONE = [
    "A powerful storm swept across the coast on Tuesday night, bringing heavy rain and strong "
    "winds that knocked down power lines in several neighbourhoods.",
    "Emergency crews worked through the night to clear fallen trees from the main roads, and "
    "the city opened two shelters for residents whose homes were flooded.",
    "Forecasters said the rain would ease by Thursday, but warned that rivers could keep "
    "rising for another day as water drains from the hills.",
]
STORM_TWO = [
    "Heavy rain from a slow-moving storm flooded low-lying streets on Wednesday, forcing the "
    "county to close three underpasses and a stretch of the coastal highway.",
    "Officials urged drivers to stay home while crews pumped water out of the tunnels; power "
    "was restored to most homes by the afternoon.",
    "The weather service expects drier weather at the weekend, though the storm has already "
    "brought more rain than the whole of last month.",
]


def test_same_topic_different_stories_stay_apart(tmp_path: Path, sqlite_url: str) -> None:
    a = _feed(tmp_path / "a.xml", [("one", "Storm hits the coast", html(STORM_ONE))])
    b = _feed(
        tmp_path / "b.xml",
        [
            ("two", "Storm floods the coast", html(STORM_TWO)),
            ("one-copy", "STORM HITS THE COAST", html(STORM_ONE[:2] + STORM_ONE[2:], _sponsor(3))),
        ],
    )
    pipeline = pipeline_for(sqlite_url, [a, b])
    pipeline.poll()
    clusters = clusters_by_guid(pipeline)
    assert clusters["one"] == clusters["one-copy"]
    assert clusters["two"] != clusters["one"]


def _lead(paragraphs: list[str], words: int) -> str:
    return " ".join(" ".join(paragraphs).split()[:words]) + " … Read more"


@pytest.mark.parametrize("summary_first", [False, True])
def test_a_summary_joins_its_full_text_in_either_order(
    tmp_path: Path, sqlite_url: str, summary_first: bool
) -> None:
    full = story(7, paragraphs=8)
    a = _feed(tmp_path / "a.xml", [("full", "Story", html(full, FOOTER))])
    b = _feed(
        tmp_path / "b.xml",
        [
            ("summary", "story", f"<p>{_lead(full, 50)}</p>"),
            ("other", "other", f"<p>{_lead(story(8), 50)}</p>"),
        ],
    )
    pipeline = pipeline_for(sqlite_url, [a, b])
    feeds = pipeline.storage.feeds_to_poll()
    for feed in reversed(feeds) if summary_first else feeds:
        pipeline.poll([feed])
    clusters = clusters_by_guid(pipeline)
    assert clusters["summary"] == clusters["full"]
    assert clusters["other"] != clusters["full"]
    items = {i.guid: i for i in pipeline.storage.list_items()}
    assert items["summary"].method == "containment" and items["summary"].is_summary
    assert items["full"].canonical  # a full text beats a summary
    check_consistency(pipeline)


def test_a_rewritten_update_is_a_different_item_and_the_summary_stays_with_the_original(
    tmp_path: Path, sqlite_url: str
) -> None:
    original = story(20, paragraphs=6)
    update = original[:1] + story(21, paragraphs=5)
    a = _feed(
        tmp_path / "a.xml",
        [("original", "Council vote", html(original))],
        date="Fri, 20 Nov 2026 08:00:00 +0000",
    )
    b = _feed(
        tmp_path / "b.xml",
        [("update", "Council vote (updated)", html(update))],
        date="Fri, 20 Nov 2026 15:00:00 +0000",
    )
    c = _feed(
        tmp_path / "c.xml",
        [("summary", "Council vote", f"<p>{_lead(original, 40)}</p>")],
        date="Fri, 20 Nov 2026 09:00:00 +0000",
    )
    pipeline = pipeline_for(sqlite_url, [c, b, a])
    pipeline.poll()
    clusters = clusters_by_guid(pipeline)
    assert clusters["update"] != clusters["original"]
    assert clusters["summary"] == clusters["original"]


KOREAN = [
    "서울시는 내년부터 시내버스 노선을 대폭 개편한다고 밝혔다. "
    "새 노선은 출퇴근 시간의 혼잡을 줄이는 데 초점을 맞췄으며 모두 열두 개 노선이 바뀐다.",
    "시 관계자는 시민 의견을 반영해 배차 간격을 줄이고 심야 버스를 늘리겠다고 설명했다. "
    "일부 주민들은 정류장이 멀어진다며 우려를 나타냈다.",
]
KOREAN_OTHER = [
    "부산 해운대 해수욕장에서 열린 불꽃 축제에 관람객 수십만 명이 몰렸다. 경찰은 안전을 위해 "
    "주변 도로를 통제했다.",
    "축제 조직위원회는 올해 처음으로 드론 공연을 선보였으며 내년에는 규모를 더 키울 계획이라고 "
    "전했다.",
]
CHINESE = [
    "本市今天宣布将在明年春季开通一条新的地铁线路，全长二十五公里，设有十八座车站，预计每天"
    "可以运送乘客三十万人次。",
    "市政府表示，新线路将连接机场和市中心，沿线还将建设三个换乘枢纽，方便市民出行。",
]


def test_non_latin_copies_join_and_other_stories_stay_apart(
    tmp_path: Path, sqlite_url: str
) -> None:
    a = _feed(
        tmp_path / "a.xml",
        [
            ("ko", "버스 노선 개편", html(KOREAN)),
            ("zh", "地铁新线", html(CHINESE)),
            ("ko-other", "불꽃 축제", html(KOREAN_OTHER)),
        ],
    )
    b = _feed(
        tmp_path / "b.xml",
        [
            ("ko-copy", "서울 버스 노선 개편", html(KOREAN, _sponsor(2))),
            ("zh-copy", "地铁新线开通", html(CHINESE, _sponsor(5))),
        ],
    )
    pipeline = pipeline_for(sqlite_url, [a, b])
    pipeline.poll()
    clusters = clusters_by_guid(pipeline)
    assert clusters["ko"] == clusters["ko-copy"]
    assert clusters["zh"] == clusters["zh-copy"]
    assert clusters["ko-other"] not in (clusters["ko"], clusters["zh"])
    assert clusters["ko"] != clusters["zh"]


def test_title_only_empty_and_boilerplate_only_items_make_no_giant_cluster(
    tmp_path: Path, sqlite_url: str
) -> None:
    def items(prefix: str, seed: int) -> list[tuple[str, str, str]]:
        return [(f"{prefix}{i}", f"Story {i}", html(story(seed + i), FOOTER)) for i in range(3)] + [
            (f"{prefix}-title-only", "Live updates: the council debate", ""),
            (f"{prefix}-empty", "", "<p> </p>"),
            (f"{prefix}-footer-only", f"Notice {prefix}", FOOTER),
        ]

    a = _feed(tmp_path / "a.xml", items("a", 300))
    b = _feed(tmp_path / "b.xml", items("b", 400))
    pipeline = pipeline_for(sqlite_url, [a, b])
    pipeline.poll()
    clusters = clusters_by_guid(pipeline)
    assert len(clusters) == 12
    assert len(set(clusters.values())) == 12, "unrelated items were merged"
    check_consistency(pipeline)


def test_enormous_and_junk_items_are_decided_without_crashing(
    tmp_path: Path, sqlite_url: str
) -> None:
    rng = random.Random(3)
    junk = "".join(
        chr(rng.choice([rng.randint(0x20, 0x7E), rng.randint(0xA0, 0x2FFF)])) for _ in range(5000)
    ).replace("]]>", "")
    enormous = html(story(50, paragraphs=3000, words=60))
    a = _feed(tmp_path / "a.xml", [("junk", "junk", f"<p>{junk}</p>"), ("big", "big", enormous)])
    b = _feed(tmp_path / "b.xml", [("big-copy", "big", enormous + _sponsor(4))])
    pipeline = pipeline_for(sqlite_url, [a, b])
    outcomes = pipeline.poll()
    assert all(o.status == "ok" for o in outcomes)
    clusters = clusters_by_guid(pipeline)
    assert clusters["big"] == clusters["big-copy"] != clusters["junk"]


def _network(tmp_path: Path) -> list[Path]:
    stories = {n: story(500 + n, paragraphs=4) for n in range(6)}
    return [
        _feed(
            tmp_path / "n1.xml",
            [(f"n1-{n}", f"S{n}", html(stories[n], _sponsor(n) + FOOTER)) for n in (0, 1, 2, 3)],
        ),
        _feed(
            tmp_path / "n2.xml",
            [
                (f"n2-{n}", f"s{n}", html(stories[n][1:] if n < 4 else stories[n], FOOTER))
                for n in (1, 2, 4)
            ],
        ),
        _feed(
            tmp_path / "n3.xml",
            [(f"n3-{n}", f"S{n} | N3", f"<p>{_lead(stories[n], 45)}</p>") for n in (0, 2, 4, 5)],
        ),
    ]


def test_feed_order_changes_no_cluster(tmp_path: Path) -> None:
    feeds = _network(tmp_path)
    results = []
    for order_seed in range(4):
        order = feeds[:]
        random.Random(order_seed).shuffle(order)
        pipeline = pipeline_for(f"sqlite:///{tmp_path}/order{order_seed}.db", order)
        for feed in pipeline.storage.feeds_to_poll():
            pipeline.poll([feed])
        check_consistency(pipeline)
        results.append(partition(pipeline))
    assert all(r == results[0] for r in results)
    expected_pairs = {
        frozenset({"n1-0", "n3-0"}),
        frozenset({"n1-1", "n2-1"}),
        frozenset({"n1-2", "n2-2", "n3-2"}),
        frozenset({"n2-4", "n3-4"}),
    }
    assert expected_pairs <= results[0]


def test_a_restart_changes_no_cluster_and_rebuild_moves_nothing(
    tmp_path: Path, database_url: str
) -> None:
    feeds = _network(tmp_path)
    first = pipeline_for(database_url, feeds)
    first.poll()
    before = partition(first)
    ids_before = clusters_by_guid(first)
    restarted = pipeline_for(database_url, feeds)
    assert clusters_by_guid(restarted) == ids_before
    restarted.poll()
    assert partition(restarted) == before
    report = restarted.rebuild(dry_run=True)
    assert report.moved == 0 and report.clusters_before == report.clusters_after
