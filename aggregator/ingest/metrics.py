"""What the daemon tells operators: Prometheus metrics, health, and structured log lines.

Metrics live in a registry of their own per :class:`Metrics` (tests make several).
Log lines are ``event=NAME key=value …``: one event name plus fields, values quoted
when they hold spaces, quotes or newlines, so a hostile server's reason phrase cannot
forge a log line.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from aggregator.errors import AggregatorError, FetchError, ParseError


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.fetches = Counter(
            "aggregator_fetches",
            "Feed fetches by outcome (ok, not-modified, "
            "http-4xx, http-5xx, gone, network, parse, storage)",
            ["outcome"],
            registry=r,
        )
        self.fetched_bytes = Counter(
            "aggregator_fetched_bytes", "Bytes of feed bodies fetched", registry=r
        )
        self.fetch_seconds = Histogram(
            "aggregator_fetch_seconds",
            "Wall time of one fetch, success or not",
            buckets=(0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 60.0),
            registry=r,
        )
        self.items = Counter(
            "aggregator_items",
            "Items stored, by kind (new, updated, skipped)",
            ["kind"],
            registry=r,
        )
        self.cluster_events = Counter(
            "aggregator_cluster_events",
            "Cluster decisions (formed, joined, merged)",
            ["event"],
            registry=r,
        )
        self.decision_seconds = Histogram(
            "aggregator_decision_seconds",
            "Time to fingerprint and decide one batch per item",
            buckets=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0),
            registry=r,
        )
        self.feed_changes = Counter(
            "aggregator_feed_changes",
            "Feeds moved (301/308) or disabled (410 Gone)",
            ["change"],
            registry=r,
        )
        # The names date from batch cycles; the daemon's polling is a stream now, and a
        # "cycle" is a tick that reported feeds stored since the one before.
        self.cycles = Counter(
            "aggregator_poll_cycles", "Ticks that reported stored feeds", registry=r
        )
        self.cycle_seconds = Gauge(
            "aggregator_poll_cycle_seconds", "Seconds the last report covered", registry=r
        )
        self.feeds_due = Gauge("aggregator_feeds_due", "Feeds due at the last tick", registry=r)
        self.poll_lag = Gauge(
            "aggregator_poll_lag_seconds",
            "How late the most overdue feed handed out at the last tick was",
            registry=r,
        )
        self.last_poll = Gauge(
            "aggregator_last_poll_timestamp_seconds",
            "Unix time the polling stream last stored feeds, or had none to poll",
            registry=r,
        )
        self.poll_lateness = Histogram(
            "aggregator_poll_lateness_seconds",
            "How long after it was due a fetch started",
            buckets=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self.decision_latency = Histogram(
            "aggregator_decision_latency_seconds",
            "From an item's storing (its fetch's end) to its first cluster",
            buckets=(0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self.decider = Gauge(
            "aggregator_decider", "1 while this process holds the decider's lease", registry=r
        )
        self.decision_backlog = Gauge(
            "aggregator_decision_backlog", "Items stored and waiting for the decider", registry=r
        )
        self.decision_lag = Gauge(
            "aggregator_decision_lag_seconds",
            "How long the oldest waiting item has waited",
            registry=r,
        )


@dataclass
class Health:
    """What ``/healthz`` reports: is the scheduler alive, when did it last poll, and is
    the writer failing (a job — polling, deciding — that failed ``unhealthy_after``
    times in a row)."""

    scheduler_running: bool = False
    last_poll: datetime | None = None
    last_cycle_error: str | None = None
    role: str = "starting"
    """``decider`` (holds the lease: polls and decides) or ``standby`` (another daemon
    does; this one takes over when it stops)."""
    unhealthy_after: int = 3
    """Consecutive failed cycles of one job after which the writer counts as failing."""
    failures: dict[str, int] = field(default_factory=dict)
    """Each job's consecutive failed cycles (0 once one succeeds)."""

    def cycle_done(self, job: str, error: BaseException | None = None) -> None:
        """Record one cycle of ``job``: a success resets its count, a failure adds one."""
        if error is None:
            self.failures[job] = 0
            if not any(self.failures.values()):
                self.last_cycle_error = None
        else:
            self.failures[job] = self.failures.get(job, 0) + 1
            self.last_cycle_error = f"{error.__class__.__name__}: {error}"

    def failing_jobs(self) -> dict[str, int]:
        """The jobs failing ``unhealthy_after`` times in a row or more, with their count."""
        return {j: n for j, n in self.failures.items() if n >= self.unhealthy_after}

    @property
    def healthy(self) -> bool:
        return self.scheduler_running and not self.failing_jobs()


def outcome_of(error: AggregatorError) -> str:
    """The ``outcome`` label of a failed fetch: few values, so the series stay bounded."""
    if isinstance(error, FetchError) and error.status is not None:
        if error.status == 410:
            return "gone"
        return "http-4xx" if error.status < 500 else "http-5xx"
    if isinstance(error, FetchError):
        return "network"
    if isinstance(error, ParseError):
        return "parse"
    return "storage"


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    if not text or any(c in text for c in ' "=\\') or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return text


def log_event(logger: logging.Logger, level: int, event: str, **fields: object) -> None:
    """Log ``event=EVENT k=v …`` (fields in the order given; None fields left out)."""
    if logger.isEnabledFor(level):
        logger.log(
            level,
            "event=%s%s",
            event,
            "".join(
                f" {key}={_value(value)}" for key, value in fields.items() if value is not None
            ),
        )
