"""Alembic environment and revisions (run by :mod:`aggregator.storage.migrate`)."""
