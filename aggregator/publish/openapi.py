"""The OpenAPI 3.0 description of the JSON API, served at /api/openapi.json.

Written out by hand next to the handlers in :mod:`aggregator.publish.api` and
:mod:`aggregator.publish.corrections` (a test runs schemathesis against it).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from aggregator import __version__
from aggregator.publish import search
from aggregator.publish.feedhealth import STATUSES
from aggregator.publish.query import MAX_ID, MAX_LIMIT, MAX_OFFSET, MAX_TEXT


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID, "description": description}


_TEXT = {"type": "string", "maxLength": MAX_TEXT, "pattern": "^[^\\x00-\\x1f]*$"}
_PAGE = [
    _query(
        "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50}, "page size"
    ),
    _query(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        "entries to skip",
    ),
]
_FILTERS = [
    _query("group", _TEXT, "only what appeared in feeds of this group (`group:` in the config)"),
    _query("feed", _ID, "only what appeared in this feed (its id, see /api/feeds)"),
    _query("since", _TIME, "published at or after this time (ISO 8601; a date is midnight UTC)"),
    _query("until", _TIME, "published before this time"),
]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_FEED_REF = {
    "type": "object",
    "required": ["id", "name", "url", "group", "priority"],
    "properties": {
        "id": _nullable(_INT),
        "name": _STR,
        "url": _STR,
        "group": _nullable(_STR),
        "priority": _INT,
    },
}

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {"status": _INT, "message": _STR},
            }
        },
    },
    "FeedRef": _FEED_REF,
    "Person": {
        "type": "object",
        "description": "An author as the source gave one (e-mail addresses included: the "
        "source published them)",
        "required": ["name", "email", "url"],
        "properties": {"name": _nullable(_STR), "email": _nullable(_STR), "url": _nullable(_STR)},
    },
    "Item": {
        "type": "object",
        "required": [
            "id",
            "feed_url",
            "guid",
            "link",
            "title",
            "published",
            "cluster_id",
            "canonical",
            "method",
            "score",
            "feed",
        ],
        "properties": {
            "id": _INT,
            "feed_url": _STR,
            "guid": _STR,
            "link": _nullable(_STR),
            "canonical_link": _nullable(_STR),
            "title": _nullable(_STR),
            "author": _nullable(_STR),
            "authors": {"type": "array", "items": _ref("Person")},
            "summary_html": _nullable(_STR),
            "published": _nullable(_TIME),
            "is_summary": {"type": "boolean"},
            "cluster_id": _nullable(_INT),
            "canonical": {"type": "boolean"},
            "method": _nullable(_STR),
            "score": _nullable({"type": "number"}),
            "feed": _ref("FeedRef"),
        },
    },
    "SearchResults": {
        "type": "object",
        "required": ["query", "stories", "limit", "offset", "next"],
        "properties": {
            "query": _STR,
            "stories": {"type": "array", "items": _ref("StoryFound")},
            "limit": _INT,
            "offset": _INT,
            "next": _nullable(_STR),
        },
    },
    "StoryFound": {
        "type": "object",
        "required": ["cluster_id", "size", "canonical_item", "matched_item_id", "snippet", "page"],
        "properties": {
            "cluster_id": _INT,
            "size": _INT,
            "canonical_item": {
                "type": "object",
                "required": ["id", "feed", "feed_url", "title", "link", "published"],
                "properties": {
                    "id": _INT,
                    "feed": {
                        "type": "object",
                        "required": ["id", "name"],
                        "properties": {"id": _INT, "name": _STR},
                    },
                    "feed_url": _STR,
                    "title": _nullable(_STR),
                    "link": _nullable(_STR),
                    "published": _nullable(_TIME),
                },
            },
            "matched_item_id": _INT,
            "snippet": {
                "type": "string",
                "description": "text of the best-matching copy around its matches",
            },
            "page": {"type": "string", "description": "the story's page on this site"},
        },
    },
    "ClusterSummary": {
        "type": "object",
        "required": [
            "id",
            "size",
            "feed_count",
            "updated",
            "canonical_item",
            "sources",
            "methods",
            "links",
        ],
        "properties": {
            "id": _INT,
            "size": _INT,
            "feed_count": _INT,
            "updated": _TIME,
            "canonical_item": _nullable(
                {
                    "type": "object",
                    "properties": {
                        "id": _INT,
                        "title": _nullable(_STR),
                        "link": _nullable(_STR),
                        "published": _nullable(_TIME),
                        "feed": _ref("FeedRef"),
                    },
                }
            ),
            "sources": {"type": "array", "items": _STR},
            "methods": {"type": "array", "items": _STR},
            "links": {"type": "object", "properties": {"self": _STR, "page": _STR}},
        },
    },
    "Member": {
        "type": "object",
        "required": [
            "id",
            "feed",
            "link",
            "title",
            "published",
            "canonical",
            "method",
            "score",
            "matched_item_id",
            "reason",
        ],
        "properties": {
            "id": _INT,
            "feed": _ref("FeedRef"),
            "guid": _STR,
            "link": _nullable(_STR),
            "title": _nullable(_STR),
            "published": _nullable(_TIME),
            "is_summary": {"type": "boolean"},
            "canonical": {"type": "boolean"},
            "method": _nullable(_STR),
            "score": _nullable({"type": "number"}),
            "matched_item_id": _nullable(_INT),
            "reason": {"type": "string", "description": "why it is in this cluster"},
        },
    },
    "Cluster": {
        "allOf": [
            _ref("ClusterSummary"),
            {
                "type": "object",
                "required": ["canonical_item_id", "canonical_reason", "members"],
                "properties": {
                    "created": _TIME,
                    "note": _nullable(_STR),
                    "canonical_item_id": _nullable(_INT),
                    "canonical_reason": {
                        "type": "object",
                        "required": ["rule", "decided_by", "explanation"],
                        "properties": {
                            "rule": _STR,
                            "explanation": _STR,
                            "decided_by": {
                                "type": "string",
                                "enum": [
                                    "only-copy",
                                    "full-text",
                                    "priority",
                                    "earliest",
                                    "id",
                                    "correction",
                                ],
                            },
                        },
                    },
                    "members": {"type": "array", "items": _ref("Member")},
                },
            },
        ]
    },
    "Verdict": {
        "type": "object",
        "description": "The edge the rules give (method null: none), its score and why; "
        "with the similarity figures when two texts were compared",
        "required": ["method", "score", "rule"],
        "properties": {
            "method": _nullable(_STR),
            "score": {"type": "number"},
            "rule": _STR,
            "jaccard": {"type": "number"},
            "containment": {"type": "number"},
            "lead_containment": {"type": "number"},
            "shorter_shingles": _INT,
            "longer_shingles": _INT,
        },
    },
    "Explanation": {
        "type": "object",
        "required": ["items", "digests_checked"],
        "properties": {
            "digests_checked": {
                "type": "boolean",
                "description": "whether the items were checked for digests (the leads of "
                "other stories published within a day of them): false when another "
                "request's check was running",
            },
            "items": {
                "type": "array",
                "items": {
                    "allOf": [
                        _ref("Item"),
                        {
                            "type": "object",
                            "required": [
                                "matched_item_id",
                                "words",
                                "shingles",
                                "boilerplate_removed",
                                "membership",
                            ],
                            "properties": {
                                "matched_item_id": _nullable(_INT),
                                "words": _INT,
                                "shingles": _INT,
                                "boilerplate_removed": {"type": "array", "items": _STR},
                                "membership": {
                                    "allOf": [
                                        _ref("Verdict"),
                                        {
                                            "type": "object",
                                            "required": ["agrees"],
                                            "properties": {"agrees": {"type": "boolean"}},
                                        },
                                    ]
                                },
                                "digest": {
                                    "type": "object",
                                    "description": "present when the item holds the "
                                    "openings of several other stories",
                                    "required": ["clusters", "undecided_items", "rule"],
                                    "properties": {
                                        "clusters": {"type": "array", "items": _INT},
                                        "undecided_items": {"type": "array", "items": _INT},
                                        "rule": _STR,
                                    },
                                },
                            },
                        },
                    ]
                },
            },
            "comparison": {
                "allOf": [
                    _ref("Verdict"),
                    {
                        "type": "object",
                        "required": ["same_cluster"],
                        "properties": {"same_cluster": {"type": "boolean"}, "digest": _STR},
                    },
                ]
            },
        },
    },
    "Feed": {
        "type": "object",
        "required": [
            "id",
            "url",
            "name",
            "group",
            "priority",
            "items",
            "last_success",
            "last_error",
            "error_count",
            "next_check",
            "status",
        ],
        "properties": {
            "id": _INT,
            "url": _STR,
            "fetch_url": _STR,
            "name": _nullable(_STR),
            "title": _nullable(_STR),
            "group": _nullable(_STR),
            "priority": _INT,
            "disabled": {"type": "boolean"},
            "items": _INT,
            "last_checked": _nullable(_TIME),
            "last_success": _nullable(_TIME),
            "last_error": _nullable(_STR),
            "error_count": _INT,
            "next_check": _nullable(_TIME),
            "status": {"type": "string", "enum": list(STATUSES)},
        },
    },
    "Page": {
        "type": "object",
        "required": ["total", "limit", "offset", "next"],
        "properties": {"total": _INT, "limit": _INT, "offset": _INT, "next": _nullable(_STR)},
    },
}

_WRITE_ERRORS = {
    "202": {
        "description": "stored; the process that decides (the daemon) applies it at its "
        "next look at the database",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status", "detail"],
                    "properties": {"status": {"type": "string"}, "detail": {"type": "string"}},
                }
            }
        },
    },
    "401": _error("no or wrong bearer token"),
    "403": _error("writes are disabled: no server.token in the config"),
    "404": _error("no such item or cluster"),
    "409": _error("the correction was refused"),
}


_FEED_DESCRIPTION = (
    "One entry per story (a cluster of syndicated copies), newest first publication first. "
    "Each entry carries its canonical copy's content, cleaned on the way out: learned "
    'boilerplate blocks (network footers, sponsor lines), the generic patterns ("Read '
    'more", share bars, "Advertisement", "The post … appeared first on …") and '
    '"READ MORE: <link>" lines removed, paragraphs, links, images and captions kept, '
    "mojibake repaired, sanitised; its title without the site names and section labels its "
    "feed repeats; its summary beside the content when the source gave one, cleaned the same "
    "way; every copy's authors with the name, e-mail and web address their sources gave; "
    "dated by the story's first publication and updated "
    "when the published copy is later; the source feed (RSS `<source url>`, Atom "
    "`<source>`); and a list of the other copies linking each copy's own article. Stored "
    "content is never changed: `full=1` publishes content and titles as the sources wrote "
    "them, and a feed configured with `clean: false` is always published so. Answers "
    "conditional requests (ETag, Last-Modified → 304)."
)


def _feed_path(summary: str, operation: str, media_type: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "operationId": operation,
            "description": _FEED_DESCRIPTION,
            "parameters": [
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 50},
                    "entries",
                ),
                _FILTERS[0],
                _query(
                    "feed",
                    {"type": "string", "pattern": "^[0-9]+(,[0-9]+)*$", "maxLength": 1200},
                    "a feed set: only stories that appeared in one of these feeds (ids separated "
                    "by commas, at most 100, see /api/feeds)",
                ),
                *_FILTERS[2:],
                _query(
                    "full",
                    {"type": "boolean", "default": False},
                    "true: publish each entry's content and title as its source wrote them "
                    "(sanitised), without cleaning",
                ),
            ],
            "responses": {
                "200": {"description": "the feed", "content": {media_type: {"schema": _STR}}},
                "304": {"description": "not modified since the ETag or Last-Modified given"},
                "400": _error("a query parameter is invalid"),
            },
        }
    }


def _page_of(key: str, schema: str) -> dict[str, Any]:
    return {
        "allOf": [
            _ref("Page"),
            {
                "type": "object",
                "required": [key],
                "properties": {key: {"type": "array", "items": _ref(schema)}},
            },
        ]
    }


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "aggregator API",
        "version": __version__,
        "description": "Stories collapsed from syndicated copies: items, clusters with the "
        "evidence that merged them, feeds and their health, and corrections.",
    },
    "paths": {
        "/feed.rss": _feed_path("The cleaned feed, RSS 2.0", "feedRss", "application/rss+xml"),
        "/feed.atom": _feed_path("The cleaned feed, Atom 1.0", "feedAtom", "application/atom+xml"),
        "/feed.json": _feed_path(
            "The cleaned feed, JSON Feed 1.1 (with the `_aggregator` extension)",
            "feedJson",
            "application/feed+json",
        ),
        "/api/items": {
            "get": {
                "summary": "Items, newest first",
                "operationId": "listItems",
                "parameters": [
                    *_FILTERS,
                    _query("cluster", _ID, "only members of this cluster"),
                    *_PAGE,
                ],
                "responses": {
                    "200": {
                        "description": "a page of items",
                        "content": {"application/json": {"schema": _page_of("items", "Item")}},
                    },
                    "400": _error("a query parameter is invalid"),
                },
            }
        },
        "/api/clusters": {
            "get": {
                "summary": "Clusters (stories), newest first by their canonical item",
                "operationId": "listClusters",
                "parameters": [
                    *_FILTERS,
                    _query(
                        "min_size",
                        {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 1},
                        "only clusters with at least this many copies",
                    ),
                    *_PAGE,
                ],
                "responses": {
                    "200": {
                        "description": "a page of clusters",
                        "content": {
                            "application/json": {"schema": _page_of("clusters", "ClusterSummary")}
                        },
                    },
                    "400": _error("a query parameter is invalid"),
                },
            }
        },
        "/api/clusters/{cluster_id}": {
            "get": {
                "summary": "One cluster: members, how each was matched, why the canonical won",
                "operationId": "getCluster",
                "parameters": [_path("cluster_id", "cluster id")],
                "responses": {
                    "200": _ok("the cluster", "Cluster"),
                    "404": _error("no such cluster"),
                },
            }
        },
        "/api/feeds": {
            "get": {
                "summary": "Feeds and their health",
                "operationId": "listFeeds",
                "responses": {
                    "200": {
                        "description": "every feed",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["feeds"],
                                    "properties": {
                                        "feeds": {"type": "array", "items": _ref("Feed")}
                                    },
                                }
                            }
                        },
                    }
                },
            }
        },
        "/api/search": {
            "get": {
                "summary": "Stories whose titles or texts hold every word, best match first",
                "operationId": "searchStories",
                "parameters": [
                    {
                        **_query("q", _TEXT, "the words to find (any text: never syntax)"),
                        "required": True,
                    },
                    _query(
                        "limit",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": search.MAX_LIMIT,
                            "default": search.DEFAULT_LIMIT,
                        },
                        "page size",
                    ),
                    _query(
                        "offset",
                        {"type": "integer", "minimum": 0, "maximum": search.MAX_OFFSET},
                        "stories to skip",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "a page of stories (no total: see `next`)",
                        "content": {"application/json": {"schema": _ref("SearchResults")}},
                    },
                    "400": _error("no q, or a query parameter is invalid"),
                },
            }
        },
        "/api/items/{item_id}/explain": {
            "get": {
                "summary": "Why an item is in its cluster, or how two items compare "
                "(`aggregator clusters explain` on the web)",
                "operationId": "explainItems",
                "parameters": [
                    _path("item_id", "item id"),
                    _query("with", _ID, "a second item: compare the two"),
                ],
                "responses": {
                    "200": _ok("the evidence and the rules' verdicts", "Explanation"),
                    "400": _error("a query parameter is invalid"),
                    "404": _error("no such item"),
                },
            }
        },
        "/api/items/{item_id}/split": {
            "post": {
                "summary": "Take an item out of its cluster (stored as a correction)",
                "operationId": "splitItem",
                "security": [{"bearer": []}],
                "parameters": [_path("item_id", "item id")],
                "responses": {
                    "200": {
                        "description": "the item's new cluster",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "item_id": _INT,
                                        "previous_cluster_id": _nullable(_INT),
                                        "cluster": _nullable(_ref("ClusterSummary")),
                                    },
                                }
                            }
                        },
                    },
                    **_WRITE_ERRORS,
                },
            }
        },
        "/api/clusters/{first}/merge/{second}": {
            "post": {
                "summary": "Merge two clusters into one (stored as a correction)",
                "operationId": "mergeClusters",
                "security": [{"bearer": []}],
                "parameters": [_path("first", "cluster id"), _path("second", "cluster id")],
                "responses": {
                    "200": {
                        "description": "the merged cluster",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "merged": {"type": "array", "items": _INT},
                                        "cluster": _nullable(_ref("ClusterSummary")),
                                    },
                                }
                            }
                        },
                    },
                    "400": _error("the two ids are the same"),
                    **_WRITE_ERRORS,
                },
            }
        },
    },
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "server.token from the config",
            }
        },
    },
}


def openapi(request: Request) -> JSONResponse:
    return JSONResponse(SPEC)


def routes() -> list[BaseRoute]:
    return [Route("/api/openapi.json", openapi)]
