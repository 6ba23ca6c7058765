"""Prometheus metrics of one process, in a registry of its own (tests make several)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.fetches = Counter("aggregator_fetches", "Feed fetches by outcome",
                               ["outcome"], registry=r)
        self.fetched_bytes = Counter("aggregator_fetched_bytes", "Bytes of feed bodies fetched",
                                     registry=r)
        self.items = Counter("aggregator_items", "Items stored, by kind (new, updated)",
                             ["kind"], registry=r)
        self.cluster_events = Counter("aggregator_cluster_events",
                                      "Cluster decisions (formed, joined, merged)", ["event"],
                                      registry=r)
        self.decision_seconds = Histogram(
            "aggregator_decision_seconds", "Time to fingerprint and decide one batch per item",
            buckets=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0), registry=r)
        self.poll_lag = Gauge("aggregator_poll_lag_seconds",
                              "How late the most overdue feed was at the last cycle", registry=r)
        self.last_poll = Gauge("aggregator_last_poll_timestamp_seconds",
                               "Unix time of the last poll cycle", registry=r)


@dataclass
class Health:
    """What ``/healthz`` reports: is the scheduler alive, and when did it last poll."""

    scheduler_running: bool = False
    last_poll: datetime | None = None
    last_cycle_error: str | None = None
