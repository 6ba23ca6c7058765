"""Ingest: one poll end to end (fetch → parse → clean → store → fingerprint → decide),
the in-memory decision state, corrections and rebuild, and the child process that does
the CPU work."""
