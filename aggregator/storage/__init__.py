"""Persistence: the only package that imports SQLAlchemy."""

from aggregator.storage.store import Storage

__all__ = ["Storage"]
