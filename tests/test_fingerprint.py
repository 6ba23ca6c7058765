"""Fingerprints: the MinHash values are datasketch's, and texts hash the same every time."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from aggregator.fingerprint import signature as fp
from aggregator.fingerprint.minhash import MinHash


@pytest.mark.parametrize("size", [1, 7, 255, 256, 257, 1000, 5000])
def test_minhash_values_equal_datasketch_update_batch(size: int) -> None:
    rng = np.random.default_rng(size)
    shingles = np.unique(rng.integers(0, 2**32, size=size, dtype=np.uint64)).astype(np.uint32)
    reference = MinHash(
        num_perm=fp.NUM_PERM, seed=fp.SEED, hashfunc=int, scheme=fp.PERMUTATION_SCHEME
    )
    reference.update_batch(shingles.tolist())
    assert np.array_equal(fp.minhash_values(shingles), reference.hashvalues)


def test_token_hash_cache_gives_crc32_and_stays_bounded() -> None:
    cache = fp._TokenHashes()
    words = [f"word{i}" for i in range(fp._TokenHashes.LIMIT + 10)]
    assert [cache[w] for w in words[:3]] == [zlib.crc32(w.encode()) for w in words[:3]]
    for w in words:
        cache[w]
    assert len(cache) <= fp._TokenHashes.LIMIT
    assert cache["café"] == zlib.crc32("café".encode())


def test_same_blocks_same_fingerprint_bytes() -> None:
    blocks = (
        "the council voted on tuesday to close the old bridge for repairs",
        "residents said the detour would add twenty minutes to the commute each way",
    )
    first, second = (
        fp.to_bytes(fp.fingerprint_blocks(blocks)),
        fp.to_bytes(fp.fingerprint_blocks(list(blocks))),
    )
    assert first is not None and first == second
    restored = fp.from_bytes(first, None)
    expected = fp.fingerprint_blocks(blocks).signature
    assert restored.signature is not None and expected is not None
    assert np.array_equal(restored.signature, expected)


def test_every_array_of_a_fingerprint_comes_back_from_its_bytes() -> None:
    """Each field the rules read is stored: the first sentence's words and figures, the
    title's words, the closing line's shingles among them."""
    blocks = (
        "a crash has closed northbound lanes on route 9 near junction 14 at 2:45 p.m.",
        "delays of up to 40 minutes are expected and drivers are advised to use local roads",
        "read the full story at county now",
    )
    made = fp.fingerprint_blocks(blocks, "Crash closes lanes on Route 9 near junction 14")
    blob = fp.to_bytes(made)
    assert blob is not None
    restored = fp.from_bytes(blob, made.content_key)
    for name in (
        "hashes",
        "sentences",
        "opening",
        "lead_sentences",
        "title",
        "lead_words",
        "ending",
        "lead_numbers",
    ):
        assert np.array_equal(getattr(restored, name), getattr(made, name)), name
    assert made.lead_numbers.size == 4  # 9, 14, 2, 45
    assert restored.sentence_order == made.sentence_order and len(made.sentence_order) == 3


def test_the_sentence_order_names_each_sentence_in_text_order_repeats_included() -> None:
    """Each sentence, in the order the text has it, as its index among the sorted
    distinct ones: a sentence said twice stands twice."""
    said = "the bridge will stay closed until the spring"
    blocks = (
        f"{said}. the council voted for the repairs on tuesday night",
        "residents said the detour would add twenty minutes each way",
        f"{said}",
    )
    made = fp.fingerprint_blocks(blocks)
    in_order = made.sentences[np.frombuffer(made.sentence_order, dtype=np.uint8)]
    expected = [
        zlib.crc32(s.replace(" ", "").encode())
        for s in (said, blocks[0].split(". ")[1], blocks[1], said)
    ]
    assert in_order.tolist() == expected
