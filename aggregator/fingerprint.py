"""Story text → shingles → MinHash, and to/from bytes.  Pure.

A fingerprint keeps what the decision needs:

* ``minhash``: MinHash of all word 3-shingles (datasketch, ``affine32`` scheme), for
  the LSH that proposes full-text candidates;
* ``lead_minhash``: MinHash of the first ``LEAD_LSH`` shingles, for the second LSH
  that finds summaries ("the first 50 words … Read more") and their full texts;
* ``shingles``: the sorted set of shingle hashes (capped), to *verify* a candidate by
  exact Jaccard/containment rather than trusting the MinHash estimate;
* ``lead``: the set of the first ``LEAD_VERIFY`` shingles, to check that a short text
  is the beginning of a longer one, not a passage from its middle.

Bytes are little-endian with a version byte; ``SCHEME`` names everything that
changes the values, and is stored with each fingerprint so a change re-fingerprints.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from datasketch import LeanMinHash, MinHash

from aggregator.clean import content_key, words

SHINGLE = 3
"""Words per shingle.  Measured on the syndication-dev corpus (bench/quality.py): 3 keeps
copies with edited punctuation/typography above the threshold while two different
stories on one topic share few 3-word runs; 1-2 let same-topic stories look alike."""
NUM_PERM = 128
SEED = 1
PERMUTATION_SCHEME = "affine32"
LEAD_LSH = 32
LEAD_VERIFY = 200
MAX_SHINGLES = 20_000
"""Cap for enormous items: only the first this-many shingles count."""
MIN_SHINGLES = 6
"""Fewer shingles than this (about 8 words) carry no fingerprint: exact keys only."""
SCHEME = (f"w{SHINGLE}-crc32-fmix-{PERMUTATION_SCHEME}-p{NUM_PERM}-s{SEED}"
          f"-lead{LEAD_LSH}/{LEAD_VERIFY}-v1")

_FORMAT_VERSION = 1
_HEADER = struct.Struct("<BHII")  # version, num_perm, shingle count, lead count
U32 = npt.NDArray[np.uint32]


@dataclass(frozen=True, eq=False)
class Fingerprint:
    content_key: str | None
    minhash: LeanMinHash | None
    lead_minhash: LeanMinHash | None
    shingles: U32
    lead: U32
    word_count: int

    @property
    def size(self) -> int:
        return int(self.shingles.size)


@lru_cache(maxsize=1)
def _template() -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int, scheme=PERMUTATION_SCHEME)


def _fmix64(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # MurmurHash3's finaliser: spreads the combined token hashes over all bits.
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xFF51AFD7ED558CCD)
    x = x ^ (x >> np.uint64(33))
    x = x * np.uint64(0xC4CEB9FE1A85EC53)
    return x ^ (x >> np.uint64(33))


def shingle_hashes(tokens: list[str]) -> U32:
    """32-bit hashes of the word ``SHINGLE``-grams, in text order (duplicates kept)."""
    if not tokens:
        return np.empty(0, dtype=np.uint32)
    tokens = tokens[: MAX_SHINGLES + SHINGLE - 1]
    token_hashes = np.fromiter((zlib.crc32(t.encode("utf-8")) for t in tokens),
                               dtype=np.uint64, count=len(tokens))
    if token_hashes.size < SHINGLE:
        combined = token_hashes
    else:
        n = token_hashes.size - SHINGLE + 1
        combined = np.zeros(n, dtype=np.uint64)
        for offset in range(SHINGLE):
            combined = combined * np.uint64(0x100000001B3) + token_hashes[offset:offset + n]
    return (_fmix64(combined) & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def _minhash(values: U32) -> LeanMinHash:
    mh = _template().copy()
    mh.update_batch(values.tolist())
    return LeanMinHash(mh)


def fingerprint_blocks(blocks: tuple[str, ...] | list[str]) -> Fingerprint:
    """Fingerprint the story blocks (already folded and stripped of boilerplate)."""
    tokens: list[str] = []
    for block in blocks:
        tokens.extend(words(block))
    ordered = shingle_hashes(tokens)
    key = content_key(tokens)
    if ordered.size < MIN_SHINGLES:
        empty = np.empty(0, dtype=np.uint32)
        return Fingerprint(key, None, None, empty, empty, len(tokens))
    lead_lsh = np.unique(ordered[:LEAD_LSH])
    return Fingerprint(
        content_key=key,
        minhash=_minhash(np.unique(ordered)),
        lead_minhash=_minhash(lead_lsh),
        shingles=np.unique(ordered),
        lead=np.unique(ordered[:LEAD_VERIFY]),
        word_count=len(tokens),
    )


def to_bytes(fp: Fingerprint) -> bytes | None:
    if fp.minhash is None or fp.lead_minhash is None:
        return None
    parts = [
        _HEADER.pack(_FORMAT_VERSION, NUM_PERM, fp.shingles.size, fp.lead.size),
        struct.pack("<I", fp.word_count),
        np.asarray(fp.minhash.hashvalues, dtype="<u4").tobytes(),
        np.asarray(fp.lead_minhash.hashvalues, dtype="<u4").tobytes(),
        fp.shingles.astype("<u4").tobytes(),
        fp.lead.astype("<u4").tobytes(),
    ]
    return b"".join(parts)


def from_bytes(blob: bytes, content_key_value: str | None) -> Fingerprint:
    version, num_perm, n_shingles, n_lead = _HEADER.unpack_from(blob, 0)
    if version != _FORMAT_VERSION or num_perm != NUM_PERM:
        raise ValueError(f"fingerprint format {version}/{num_perm} is not {SCHEME}")
    offset = _HEADER.size
    (word_count,) = struct.unpack_from("<I", blob, offset)
    offset += 4

    def take(count: int) -> U32:
        nonlocal offset
        values = np.frombuffer(blob, dtype="<u4", count=count, offset=offset).astype(np.uint32)
        offset += 4 * count
        return values

    minhash = LeanMinHash(seed=SEED, hashvalues=take(NUM_PERM), scheme=PERMUTATION_SCHEME)
    lead_minhash = LeanMinHash(seed=SEED, hashvalues=take(NUM_PERM), scheme=PERMUTATION_SCHEME)
    shingles = take(n_shingles)
    lead = take(n_lead)
    return Fingerprint(content_key_value, minhash, lead_minhash, shingles, lead, word_count)


def jaccard(a: U32, b: U32) -> float:
    if a.size == 0 or b.size == 0:
        return 0.0
    common = np.intersect1d(a, b, assume_unique=True).size
    return common / (a.size + b.size - common)


def overlap(a: U32, b: U32) -> int:
    if a.size == 0 or b.size == 0:
        return 0
    return int(np.intersect1d(a, b, assume_unique=True).size)
