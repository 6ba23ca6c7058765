"""Alembic environment and revisions (installed as ``aggregator.migrations``)."""
