"""Dedup: the cluster decision (the rules in :mod:`aggregator.dedup.rules`, the engine
that applies them in :mod:`aggregator.dedup.engine`) and its candidate index."""
