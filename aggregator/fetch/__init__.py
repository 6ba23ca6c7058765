"""Fetch: the only network code (conditional GET, deadlines, size and redirect caps)."""
