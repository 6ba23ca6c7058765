"""Fingerprint: word shingles and MinHash signatures of an item's text."""
