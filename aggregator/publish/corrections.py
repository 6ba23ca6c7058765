"""The write side of the API: a user's corrections to the clustering.

``POST /api/items/{id}/split`` takes an item out of its cluster; ``POST
/api/clusters/{a}/merge/{b}`` joins two clusters.  Both need ``Authorization: Bearer
TOKEN`` with ``server.token`` from the config; with no token configured every write is
refused (403), so a server started without one is read-only whatever the network sees.
The header (not a cookie) also keeps other web pages from posting on a user's behalf.
The signed-in web forms (:mod:`aggregator.publish.manage`) call :func:`split` and
:func:`merge` here too, with a session and its CSRF token in place of the header.

Writes go through the one :class:`~aggregator.ingest.pipeline.Pipeline` of the process (the
daemon's, or one made on first use by ``aggregator serve``) under ``app.state.write_lock``,
the lock the scheduler holds while it polls.  A correction is stored, then applied by
the one decider of the database (this process, or the daemon it waits for), in the order
corrections were made.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from aggregator.errors import AggregatorError
from aggregator.publish.api import cluster_summary, path_id
from aggregator.publish.context import feeds_by_id, storage_of

if TYPE_CHECKING:
    from aggregator.ingest.pipeline import Pipeline


def authorize(request: Request) -> None:
    token: str | None = request.app.state.settings.server.token
    if not token:
        raise HTTPException(
            403, "writes are disabled: set server.token in the config to allow corrections"
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # compare_digest: the time taken must not tell how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise HTTPException(
            401,
            "this needs the header 'Authorization: Bearer TOKEN' with server.token from the config",
            headers={"WWW-Authenticate": 'Bearer realm="aggregator"'},
        )


def _pipeline(request: Request) -> Pipeline:
    """The process's writer; ``aggregator serve`` makes one on the first write."""
    state = request.app.state
    if state.pipeline is None:
        from aggregator.ingest.pipeline import Pipeline

        # It decides only while no daemon does, and gives the lease back after each write.
        state.pipeline = Pipeline(state.storage, state.settings, keep_lease=False)
    pipeline: Pipeline = state.pipeline
    return pipeline


STORED = (
    "the correction is stored; the process that decides applies it at its next look at the database"
)


def _accepted() -> JSONResponse:
    """202: stored, and applied by the daemon that decides at its next look."""
    return JSONResponse({"status": "accepted", "detail": STORED}, status_code=202)


def _refused(exc: AggregatorError) -> HTTPException:
    message = str(exc)
    return HTTPException(404 if message.startswith("no ") else 409, message)


def _cluster_of(request: Request, item_id: int) -> dict[str, Any] | None:
    storage = storage_of(request)
    items = storage.list_items(item_ids=[item_id])
    cluster_id = items[0].cluster_id if items else None
    cluster = storage.get_cluster(cluster_id) if cluster_id is not None else None
    return None if cluster is None else cluster_summary(cluster, feeds_by_id(storage))


def split(request: Request, item_id: int) -> tuple[int | None, bool]:
    """Take ``item_id`` out of its cluster (the JSON API and the web form both come here).
    Returns the cluster it was in, and whether the split is applied already (False: stored,
    for the process that decides).  404 or 409 when refused."""
    storage = storage_of(request)
    found = storage.list_items(item_ids=[item_id])
    if not found:
        raise HTTPException(404, f"no item {item_id}")
    with request.app.state.write_lock:
        try:
            applied = _pipeline(request).split_item(item_id)
        except AggregatorError as exc:
            raise _refused(exc) from exc
    return found[0].cluster_id, applied is not None


def merge(request: Request, first: int, second: int) -> tuple[int | None, bool]:
    """Join two clusters (the JSON API and the web form both come here).  Returns an item
    of the joined cluster (the first one's canonical copy, else the second's) and whether
    the merge is applied already.  400, 404 or 409 when refused."""
    if first == second:
        raise HTTPException(400, f"cannot merge cluster {first} with itself")
    storage = storage_of(request)
    anchor = None
    for cluster_id in (first, second):
        cluster = storage.get_cluster(cluster_id)
        if cluster is None:
            raise HTTPException(404, f"no cluster {cluster_id}")
        anchor = anchor or cluster.canonical_item_id
    with request.app.state.write_lock:
        try:
            applied = _pipeline(request).merge_clusters(first, second)
        except AggregatorError as exc:
            raise _refused(exc) from exc
    return anchor, applied is not None


def split_item(request: Request) -> JSONResponse:
    authorize(request)
    item_id = path_id(request, "item_id", "item")
    previous, applied = split(request, item_id)
    if not applied:
        return _accepted()
    return JSONResponse(
        {
            "item_id": item_id,
            "previous_cluster_id": previous,
            "cluster": _cluster_of(request, item_id),
        }
    )


def merge_clusters(request: Request) -> JSONResponse:
    authorize(request)
    first = path_id(request, "first", "cluster")
    second = path_id(request, "second", "cluster")
    anchor, applied = merge(request, first, second)
    if not applied:
        return _accepted()
    return JSONResponse(
        {"merged": [first, second], "cluster": _cluster_of(request, anchor) if anchor else None}
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/api/items/{item_id:int}/split", split_item, methods=["POST"]),
        Route("/api/clusters/{first:int}/merge/{second:int}", merge_clusters, methods=["POST"]),
    ]
