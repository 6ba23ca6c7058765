"""The Google Reader API's targets on a large database: ``stream/contents`` of 1,000 items
and ``edit-tag`` marking 1,000 items read, each in at most 200 ms.

    python bench/reader_api.py [--items 100000] [--database URL] [--repeat 5] [--read 0.5]

It builds the database by inserting rows directly with the project's models (feeds,
items of about 600 words, clusters of one to three copies, memberships), adds a user, and
times, over real HTTP calls through Starlette's TestClient (the whole app: routing,
authentication, the queries, JSON), the median of ``--repeat`` runs of:

- ``stream/contents`` of the reading list, ``n=1000``, unread only (``xt=read``);
- the same, second page (``c=`` continuation);
- ``stream/items/ids`` with ``n=10000``;
- ``edit-tag`` with 1,000 ``i=`` values, ``a=read``, then the same with ``r=read``;
- ``unread-count``.

Then again with a reader who has read the newest half of the stories (``--read``, the
share; every copy of them, inserted directly): ``stream/contents`` unread only and
unfiltered, ``edit-tag`` read and unread, and ``unread-count``.  That user's unread page
starts behind all the read stories, so it costs what a story's read check costs; the
first user, who has read nothing, never pays it.

Beside ``stream/contents`` and ``edit-tag`` it times, in turns with them so that both
see the same load, their *floor*: the least the work can cost in this process (the
shown items read by id in one statement and written as the same JSON; their read rows
inserted and deleted in two statements), and prints the ratio call / floor.  On a busy
machine the milliseconds move, the ratios much less.  On PostgreSQL the database is
vacuumed and analysed after the build (and after the second user's reads), as autovacuum
does after a bulk load: since PostgreSQL 13 it vacuums a table after many inserts too,
which marks its pages all-visible, so an index that covers a query is read without the
table (``--no-vacuum``: analysed only, as right after a load).

Without ``--database`` it uses a fresh SQLite file in a temporary folder.  ``--page N``
changes the 1,000 (``stream/items/ids`` asks for ten pages, at most 10,000).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, func, insert, select
from starlette.responses import JSONResponse

from aggregator.clean.sanitize import sanitize_html
from aggregator.config import load_settings
from aggregator.publish.accounts import hash_password
from aggregator.publish.app import create_app
from aggregator.publish.greader import long_id, parse_item_id
from aggregator.storage import Storage
from aggregator.storage.models import Cluster, Feed, Item, Membership, ReaderRead

API = "/api/greader/reader/api/0"
WORDS = [
    "story",
    "council",
    "river",
    "market",
    "school",
    "budget",
    "police",
    "storm",
    "railway",
    "harbour",
    "festival",
    "museum",
    "bridge",
    "election",
    "court",
    "hospital",
    "farmers",
    "weather",
    "transport",
    "report",
    "minister",
]


def build(storage: Storage, items: int, feeds: int = 50, seed: int = 1) -> None:
    """``items`` items in ``feeds`` feeds, in clusters of 1–3 copies, as decided rows."""
    rng = random.Random(seed)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with storage.engine.begin() as connection:
        connection.execute(
            insert(Feed),
            [
                {
                    "id": f + 1,
                    "url": f"https://feeds.example/{f}.xml",
                    "fetch_url": f"https://feeds.example/{f}.xml",
                    "name": f"Feed {f}",
                    "group_name": f"Group {f % 5}",
                    "priority": 0,
                    "dedup": True,
                    "disabled": False,
                    "error_count": 0,
                    "created": now,
                    "origin": "config",
                }
                for f in range(feeds)
            ],
        )
    item_id, cluster_id, batch_items, batch_clusters, batch_members = 0, 0, [], [], []
    while item_id < items:
        cluster_id += 1
        copies = min(rng.choice((1, 1, 1, 2, 3)), items - item_id)
        when = now - timedelta(minutes=items - item_id)
        first = item_id + 1
        for copy in range(copies):
            item_id += 1
            text = " ".join(rng.choice(WORDS) for _ in range(600))
            batch_items.append(
                {
                    "id": item_id,
                    "feed_id": rng.randrange(feeds) + 1,
                    "entry_id": f"entry-{item_id}",
                    "guid": f"entry-{item_id}",
                    "link": f"https://site.example/{cluster_id}/{copy}",
                    "title": f"Story {cluster_id}",
                    "author": "Reporter",
                    "published": when,
                    "sort_time": when,
                    "first_seen": when,
                    "content_html": f"<p>{text}</p>",
                    "text": text,
                    "is_summary": False,
                    "revision": "",
                }
            )
            batch_members.append(
                {
                    "item_id": item_id,
                    "cluster_id": cluster_id,
                    "method": "single" if copies == 1 else "exact",
                    "score": 1.0,
                    "decided_at": when,
                    "story_id": first,
                    "canonical": copy == 0,
                }
            )
        batch_clusters.append(
            {
                "id": cluster_id,
                "canonical_item_id": first,
                "size": copies,
                "feed_count": copies,
                "created": when,
                "updated": when,
            }
        )
        if len(batch_items) >= 5000 or item_id >= items:
            with storage.engine.begin() as connection:
                connection.execute(insert(Item), batch_items)
                connection.execute(insert(Cluster), batch_clusters)
                connection.execute(insert(Membership), batch_members)
            batch_items, batch_clusters, batch_members = [], [], []


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def paired(
    call: Callable[[], Any], floor: Callable[[], Any], repeat: int
) -> tuple[float, float, Any]:
    """Medians of ``call`` and of its ``floor``, run in turns so that both see the same
    load; and the call's last result."""
    calls, floors, result = [], [], None
    for _ in range(repeat):
        ms, result = timed(call, 1)
        calls.append(ms)
        floors.append(timed(floor, 1)[0])
    return statistics.median(calls), statistics.median(floors), result


def report(label: str, ms: float, floor_ms: float) -> None:
    print(f"{label:42s} {ms:7.1f} ms   floor {floor_ms:6.1f} ms   x{ms / floor_ms:5.2f}")


def contents_floor(storage: Storage, item_ids: list[int]) -> Callable[[], Any]:
    """The least ``stream/contents`` of these items can do: read the shown items by id
    in one statement and write the same JSON, with no story, user or HTTP work."""

    def run() -> Any:
        with storage.engine.connect() as connection:
            rows = connection.execute(
                select(Item.id, Item.title, Item.link, Item.author, Item.content_html).where(
                    Item.id.in_(item_ids)
                )
            ).all()
        body = {
            "items": [
                {
                    "id": long_id(item_id),
                    "title": title,
                    "alternate": [{"href": link, "type": "text/html"}],
                    "author": author,
                    "summary": {"direction": "ltr", "content": sanitize_html(content)},
                }
                for item_id, title, link, author, content in rows
            ]
        }
        return JSONResponse(body).body

    return run


def marks_floor(storage: Storage, user_id: int, item_ids: list[int]) -> Callable[[], Any]:
    """The least marking these items read can do: insert their rows, then delete them
    (two statements, no story or HTTP work)."""

    def run() -> Any:
        with storage.engine.begin() as connection:
            connection.execute(
                insert(ReaderRead),
                [{"user_id": user_id, "item_id": i, "at": datetime.now(UTC)} for i in item_ids],
            )
        with storage.engine.begin() as connection:
            connection.execute(
                delete(ReaderRead).where(
                    ReaderRead.user_id == user_id, ReaderRead.item_id.in_(item_ids)
                )
            )

    return run


def read_newest(storage: Storage, user_id: int, share: float, vacuum: bool = True) -> int:
    """Replace the user's read rows by a row for every copy of the newest ``share`` of
    the stories (a story's id grows with its time here); how many stories that is."""
    with storage.engine.begin() as connection:
        connection.execute(delete(ReaderRead).where(ReaderRead.user_id == user_id))
        stories = connection.scalar(select(func.count(func.distinct(Membership.story_id)))) or 0
        read = int(stories * share)
        if not read:
            return 0
        newest = select(Membership.story_id).distinct().order_by(Membership.story_id.desc())
        first = connection.scalar(newest.offset(read - 1).limit(1))
        items = list(
            connection.scalars(select(Membership.item_id).where(Membership.story_id >= first))
        )
        at = datetime.now(UTC)
        for start in range(0, len(items), 5000):
            connection.execute(
                insert(ReaderRead),
                [{"user_id": user_id, "item_id": i, "at": at} for i in items[start : start + 5000]],
            )
    analyze(storage, vacuum)
    return read


def analyze(storage: Storage, vacuum: bool = True) -> None:
    """Statistics and the visibility map, as PostgreSQL's autovacuum leaves them after a
    bulk load (SQLite keeps no statistics unless asked, and the program never asks)."""
    if storage.engine.dialect.name == "postgresql":
        with storage.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE" if vacuum else "ANALYZE"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--page", type=int, default=1000, help="items per stream/contents and edit-tag"
    )
    parser.add_argument(
        "--read",
        type=float,
        default=0.5,
        help="share of the stories (the newest) the second reader has read (0: no second run)",
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="PostgreSQL: analyse the built database without vacuuming it",
    )
    args = parser.parse_args(argv)
    from starlette.testclient import TestClient

    page, id_page = args.page, min(10 * args.page, 10_000)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'reader.db'}"
        config = Path(folder) / "config.yaml"
        config.write_text("feeds: []\n")
        settings = load_settings(config, env={"AGGREGATOR_DATABASE_URL": url})
        storage = Storage(url)
        storage.upgrade()
        started = time.perf_counter()
        build(storage, args.items)
        analyze(storage, not args.no_vacuum)
        counts = storage.counts()
        print(
            f"database: {storage.engine.dialect.name}, {counts['items']} items in "
            f"{counts['clusters']} stories, {counts['feeds']} feeds "
            f"(built in {time.perf_counter() - started:.1f}s)"
        )
        user = storage.add_reader("bench", hash_password("bench"))
        assert user is not None
        with TestClient(create_app(storage, settings), base_url="http://localhost") as client:
            login = client.post(
                "/api/greader/accounts/ClientLogin", data={"Email": "bench", "Passwd": "bench"}
            )
            auth = dict(line.split("=", 1) for line in login.text.splitlines())["Auth"]
            headers = {"Authorization": f"GoogleLogin auth={auth}"}
            token = client.get(API + "/token", headers=headers).text.strip()
            form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}

            def contents(c: str | None = None, unread: bool = True) -> Any:
                params: dict[str, Any] = {"n": page}
                if unread:
                    params["xt"] = "user/-/state/com.google/read"
                if c:
                    params["c"] = c
                response = client.get(
                    API + "/stream/contents/user/-/state/com.google/reading-list",
                    params=params,
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                return response.json()

            def contents_line(label: str, unread: bool = True) -> Any:
                """Time a first page beside its floor; the page."""
                first = contents(unread=unread)
                assert len(first["items"]) == page
                shown = [parse_item_id(i["id"]) for i in first["items"]]
                floor = contents_floor(storage, [i for i in shown if i is not None])
                ms, floor_ms, _ = paired(lambda: contents(unread=unread), floor, args.repeat)
                report(label, ms, floor_ms)
                return first, floor

            def edit(chosen: list[str], action: str) -> Any:
                body = urlencode(
                    [("i", i) for i in chosen]
                    + [(action, "user/-/state/com.google/read"), ("T", token)]
                )
                response = client.post(API + "/edit-tag", content=body, headers=form)
                assert response.text == "OK", response.text
                return response

            def edit_lines(page_json: Any, suffix: str = "") -> None:
                """Time marking the page's items read, then unread, beside their floor;
                leaves them read."""
                chosen = [i["id"] for i in page_json["items"]]
                shown = [parse_item_id(i) for i in chosen]
                marks = marks_floor(storage, user.id, [i for i in shown if i is not None])
                read_times, unread_times, floor_times = [], [], []
                for _ in range(args.repeat):
                    read_times.append(timed(lambda: edit(chosen, "a"), 1)[0])
                    unread_times.append(timed(lambda: edit(chosen, "r"), 1)[0])
                    floor_times.append(timed(marks, 1)[0])
                floor_ms = statistics.median(floor_times)
                for label, runs in (("a=read", read_times), ("r=read", unread_times)):
                    report(
                        f"edit-tag {page} items {label}{suffix}", statistics.median(runs), floor_ms
                    )
                edit(chosen, "a")

            def unread_count_line(suffix: str = "") -> int:
                ms, counts_json = timed(
                    lambda: client.get(API + "/unread-count", headers=headers).json(), args.repeat
                )
                total = int(counts_json["unreadcounts"][-1]["count"])
                print(f"{'unread-count (' + str(total) + ' unread)' + suffix:42s} {ms:7.1f} ms")
                return total

            first, floor = contents_line(f"stream/contents n={page} (unread)")
            ms, floor_ms, _ = paired(lambda: contents(first["continuation"]), floor, args.repeat)
            report(f"stream/contents n={page}, second page", ms, floor_ms)
            ms, ids = timed(
                lambda: client.get(
                    API + "/stream/items/ids",
                    params={"s": "user/-/state/com.google/reading-list", "n": id_page},
                    headers=headers,
                ).json(),
                args.repeat,
            )
            print(f"{'stream/items/ids n=' + str(id_page):42s} {ms:7.1f} ms")
            edit_lines(first)
            assert unread_count_line() == counts["clusters"] - page
            assert len(ids["itemRefs"]) == id_page

            if args.read > 0:
                # The same user, now with the newest stories read: the unread page is
                # found behind them, so every read story's check is paid on the way.
                read = read_newest(storage, user.id, args.read, not args.no_vacuum)
                mark = f" [{args.read:.0%} read]"
                print(f"the same user with the newest {read} stories read{mark}:")
                unread, _ = contents_line(f"stream/contents n={page} (unread){mark}")
                assert all(
                    "user/-/state/com.google/read" not in i["categories"] for i in unread["items"]
                )
                everything, _ = contents_line(f"stream/contents n={page} (all){mark}", False)
                assert (
                    all(
                        "user/-/state/com.google/read" in i["categories"]
                        for i in everything["items"]
                    )
                    or read < page
                )
                edit_lines(unread, mark)
                assert unread_count_line(mark) == counts["clusters"] - read - page
        storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
