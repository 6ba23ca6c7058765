"""Daemon: the scheduler that polls feeds when due, beside the web face."""
