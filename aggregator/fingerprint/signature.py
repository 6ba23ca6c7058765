"""Story text → shingles → MinHash, and to/from bytes.  Pure.

A fingerprint keeps what the decision needs:

* ``signature``: MinHash of all word 3-shingles (datasketch, ``affine32`` scheme), for
  the LSH that proposes full-text candidates;
* ``lead_signature``: MinHash of the first ``LEAD_LSH`` shingles, for the second LSH
  that finds summaries ("the first 50 words … Read more") and their full texts;
* ``sample``: the shingle hashes themselves (all, or a 1-in-4 sample of long texts), to
  *verify* a candidate by its Jaccard rather than trusting the MinHash estimate;
* ``lead``: the set of the first ``LEAD_VERIFY`` shingles, to check that a short text
  is the beginning of a longer one, not a passage from its middle;
* ``sentences``: a hash of each sentence without its spaces (markup noise and case do
  not change it), to tell a copy, which repeats whole
  sentences, from a story written on the same template, which repeats its phrasing
  with other names and numbers in most sentences; and ``sentence_order``, where each
  sentence stands, to see new paragraphs put between the old ones of an updated story
  (a footer two items share is one run at their end);
* ``lead_words``: the words of its first lead sentence, in order, to see two stories
  written on one template whose opening sentences differ only in the words that fill a
  slot ("the forecast for <town> for Monday"), where the shingles differ too little, and
  ``lead_numbers``, its figures, for templates whose slots are numbers (a junction, a score);
* ``ending``: the shingles of a short last block inside the lead ("Read the full story at
  …", "This is an excerpt …"), so that a partial copy whose closing line is new to the
  boilerplate model can still be seen to lead the full story;
* ``opening``: ``OPENING`` shingles of the start of a text — its first ``OPENING_HEAD``
  in order, then the first ``OPENING_PER_BLOCK`` of each block after — for the index that
  finds the story a teaser of ten words opens (the lead's MinHash is too coarse for it),
  even behind a byline, an "Updated" line and a photo caption.

Bytes are little-endian with a version byte; ``SCHEME`` names everything that
changes the values, and is stored with each fingerprint so a change re-fingerprints.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from aggregator.clean.text import content_key, words
from aggregator.clean.titles import (
    LABEL_WORDS,
    NAMING_HEADING_CHARS,
    NAMING_MIN_WORDS,
    PREFIX_WORDS,
    TAGS,
    naming_lines,
    story_words,
)
from aggregator.fingerprint.minhash import MinHash

SHINGLE = 3
"""Words per shingle, chosen by measurement (``bench/shingle_margin.py`` on syndication-dev,
exact Jaccard after boilerplate removal):

===  =====================  ==========================  =====================================
n    copies: lowest J       different stories: highest  gap around the 0.5 threshold
===  =====================  ==========================  =====================================
2    0.670                  0.225                       copies +0.17, strangers −0.28
3    0.640                  0.123                       copies +0.14, strangers −0.38 (chosen)
4    0.623                  0.091                       copies +0.12, strangers −0.41
5    0.611                  0.071                       copies +0.11, strangers −0.43
===  =====================  ==========================  =====================================

3 keeps both sides clear of 0.5; larger n buys little on the stranger side and costs copies
with edited words (every changed word breaks n shingles).  Short texts are not given
shorter shingles: summaries are matched by containment of their lead instead."""
NUM_PERM = 128
SEED = 1
PERMUTATION_SCHEME = "affine32"
LEAD_LSH = 32
LEAD_VERIFY = 96
"""Summaries run 40-75 words; the first 96 shingles of the longer text cover them, with
room for a dropped first line."""
KEEP_ALL = 256
"""Texts with at most this many distinct shingles keep them all; longer ones keep a 1-in-4
sample (hashes ≡ 0 mod 4), an unbiased estimate of Jaccard with a quarter of the memory."""
SAMPLE_MASK = 3
MINHASH_SLICE = 256
MAX_SHINGLES = 20_000
"""Cap for enormous items: only the first this-many shingles count."""
MIN_SHINGLES = 6
"""Fewer shingles than this (about 8 words) carry no fingerprint: exact keys only."""
MAX_SENTENCES = 256
"""Sentences hashed per text (its first ones)."""
OPENING = 16
"""Shingles kept of the start of a text (:func:`opening_shingles`)."""
OPENING_HEAD = 8
"""The first shingles of a text, in order: room for a dateline before a story's first
words in its first block (a teaser's query is its own first shingles, among these)."""
OPENING_PER_BLOCK = 2
"""Shingles kept from the start of each following block: a byline, an "Updated" line, a
caption with its agency credit each take one block before the story's first paragraph."""
SHORT_BLOCK_WORDS = 40
"""Blocks shorter than this (a byline, a time line, a caption) may come before a story's
first paragraph; the first longer one is taken for that paragraph."""
MIN_SENTENCE_WORDS = 4
LEAD_SENTENCES = 2
LEAD_SENTENCE_WORDS = 6
"""Shorter sentences ("Advertisement.", "Read more.") are not counted."""
LEAD_WORDS = 40
"""Words kept of the first lead sentence: a template's slots come early in it."""
NUMBER = 0
"""What a number is in ``lead_words`` (``lead_numbers`` keeps the figures)."""
ENDING_WORDS = 20
"""Words at most of a closing line ("Read the full story at …"): a longer last block is a
paragraph of the story (a reaction, a second point), not a pointer to the rest."""
SENTENCE_MARKS = 0
"""Marks kept at a sentence's end when it is hashed: none, wherever it ends."""
# Within the 100 characters of its column (``items.fingerprint_scheme``): the parameters'
# names are short so that one more fits.
SCHEME = (
    f"w{SHINGLE}-crc32-fmix-{PERMUTATION_SCHEME}-p{NUM_PERM}-s{SEED}"
    f"-lead{LEAD_LSH}/{LEAD_VERIFY}-k{KEEP_ALL}-se{MAX_SENTENCES}m{SENTENCE_MARKS}"
    f"-o{OPENING}/{OPENING_HEAD}+{OPENING_PER_BLOCK}-leads{LEAD_SENTENCES}"
    f"-title{PREFIX_WORDS}/{LABEL_WORDS}/{NAMING_MIN_WORDS}/{NAMING_HEADING_CHARS}t{TAGS}"
    f"-b{SHORT_BLOCK_WORDS}-lw{LEAD_WORDS}e{ENDING_WORDS}v11"
)

_FORMAT_VERSION = 11
# version, num_perm, size, sample, lead, words, sentences, opening, lead sentences, title,
# lead words, ending, lead numbers, sentence order (bytes, after the arrays)
_HEADER = struct.Struct("<BHIIIIIHHHHHHH")
U32 = npt.NDArray[np.uint32]
_EMPTY = np.empty(0, dtype=np.uint32)


@dataclass(frozen=True, eq=False, slots=True)
class Fingerprint:
    """What the decision knows of one text.  A holder that needs less (the dedup engine
    keeps no signatures once its index holds their band keys) keeps a copy without them
    (``dataclasses.replace``); :func:`to_bytes` then refuses it."""

    content_key: str | None
    size: int
    """Distinct shingles in the text (before sampling)."""
    hashes: U32
    """``sample`` then ``lead``, in one array (one array header per item, not two)."""
    lead_start: int
    signature: U32 | None
    """MinHash values of the whole text (datasketch, ``NUM_PERM`` permutations)."""
    lead_signature: U32 | None
    """MinHash values of the first ``LEAD_LSH`` shingles."""
    word_count: int
    sentences: U32 = field(default_factory=lambda: _EMPTY)
    """Sorted distinct hashes of its sentences (see the module's docstring)."""
    opening: U32 = field(default_factory=lambda: _EMPTY)
    """Its first ``OPENING`` shingle hashes, in text order."""
    lead_sentences: U32 = field(default_factory=lambda: _EMPTY)
    """The hashes of its first sentences, in order (:func:`sentence_hashes`)."""
    title: U32 = field(default_factory=lambda: _EMPTY)
    """Sorted distinct hashes of the words of its title that name the story
    (:func:`~aggregator.clean.titles.story_words`): never evidence that two items are one
    story, only a way to tell apart two stories written on one template."""
    lead_words: U32 = field(default_factory=lambda: _EMPTY)
    """crc32 of the words of its first lead sentence, in order (up to ``LEAD_WORDS``),
    numbers as ``NUMBER`` (:func:`lead_word_hashes`)."""
    ending: U32 = field(default_factory=lambda: _EMPTY)
    """Sorted distinct hashes of the shingles that hold words of its last block, when that
    block is short, follows another and lies in the lead (:func:`ending_shingles`)."""
    lead_numbers: U32 = field(default_factory=lambda: _EMPTY)
    """crc32 of the numbers among the words ``lead_words`` holds, in order: a template
    whose slots are figures (a junction, a score) names them in its title too."""
    sentence_order: bytes = b""
    """Its sentences in text order, each as its index in ``sentences`` (one byte each:
    ``MAX_SENTENCES`` fit), repeats included."""

    @property
    def sample(self) -> U32:
        """Sorted distinct shingle hashes: all of them, or the 1-in-4 sample for long texts."""
        return self.hashes[: self.lead_start]

    @property
    def lead(self) -> U32:
        """Sorted distinct hashes of the first ``LEAD_VERIFY`` shingles."""
        return self.hashes[self.lead_start :]

    @property
    def sampled(self) -> bool:
        return self.size > KEEP_ALL

    def comparable_sample(self) -> U32:
        """The 1-in-4 sample, whether or not this text keeps all its shingles."""
        sample = self.sample
        if self.sampled:
            return sample
        kept: U32 = sample[(sample & np.uint32(SAMPLE_MASK)) == 0]
        return kept


@lru_cache(maxsize=1)
def _template() -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int, scheme=PERMUTATION_SCHEME)


@lru_cache(maxsize=1)
def _permutations() -> tuple[U32, U32]:
    """datasketch's own permutation parameters (a, b) for our seed and size."""
    a, b = _template().permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def _fmix32(x: U32) -> U32:
    # The 32-bit MurmurHash3 finaliser datasketch's affine32 scheme applies to each input
    # before permuting; uint32 arithmetic wraps, as the scheme intends.
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


class _TokenHashes(dict[str, int]):
    """crc32 of each distinct word, computed once: news text repeats a small vocabulary, and
    a dictionary hit (through ``map``, in C) costs a tenth of hashing the word again."""

    LIMIT = 50_000
    """Distinct words kept (a few MB); when full it starts over rather than track age."""

    def __missing__(self, token: str) -> int:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[token] = zlib.crc32(token.encode("utf-8"))
        return value


_token_hashes = _TokenHashes()


def word_hash(token: str) -> int:
    """The hash of one word as ``lead_words`` and titles keep it."""
    return _token_hashes[token]


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
    token_hashes = np.fromiter(
        map(_token_hashes.__getitem__, tokens), dtype=np.uint64, count=len(tokens)
    )
    if token_hashes.size < SHINGLE:
        combined = token_hashes
    else:
        n = token_hashes.size - SHINGLE + 1
        combined = np.zeros(n, dtype=np.uint64)
        for offset in range(SHINGLE):
            combined = combined * np.uint64(0x100000001B3) + token_hashes[offset : offset + n]
    return (_fmix64(combined) & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def minhash_values(shingles: U32) -> U32:
    """datasketch MinHash of a set of 32-bit shingle hashes, as its ``hashvalues``.

    The values are those of ``MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=int,
    scheme="affine32").update_batch(shingles)`` (a test holds us to it), computed on the
    array directly: ``update_batch`` first calls ``hashfunc`` on every value in Python,
    which was most of its cost here.
    """
    a, b = _permutations()
    signature: U32 = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    mixed = _fmix32(shingles.astype(np.uint32, copy=False))[:, np.newaxis]
    # In slices: a (slice × permutations) uint32 matrix of 256 × 128 stays in the CPU
    # cache, where one matrix for a long text would not.
    for start in range(0, mixed.shape[0], MINHASH_SLICE):
        permuted = mixed[start : start + MINHASH_SLICE] * a + b
        np.minimum(signature, permuted.min(axis=0), out=signature)
    return signature


def title_hashes(title: str | None) -> U32:
    """Sorted distinct crc32 of the words of ``title`` that name its story."""
    return np.array(
        sorted({zlib.crc32(word.encode("utf-8")) for word in story_words(title)}), dtype=np.uint32
    )


def fingerprint_blocks(
    blocks: tuple[str, ...] | list[str], title: str | None = None
) -> Fingerprint:
    """Fingerprint the story blocks (already folded and stripped of boilerplate) and the
    item's ``title`` (as the source gave it): a line that names the title, a footer, is
    left out (:func:`~aggregator.clean.titles.naming_lines`)."""
    naming = naming_lines(blocks, title)
    blocks = without_dateline(
        [block for index, block in enumerate(blocks) if index not in naming]
        if naming
        else list(blocks)
    )
    tokens = words("\n".join(blocks))  # one pass over the text, not one per block
    ordered = shingle_hashes(tokens)
    key = content_key(tokens)
    if ordered.size < MIN_SHINGLES:
        return Fingerprint(key, 0, _EMPTY, 0, None, None, len(tokens))
    distinct = np.unique(ordered)
    sentences, lead_sentences, first_lead, order = sentence_hashes(blocks)
    sample = (
        distinct
        if distinct.size <= KEEP_ALL
        else distinct[(distinct & np.uint32(SAMPLE_MASK)) == 0]
    )
    return Fingerprint(
        content_key=key,
        size=int(distinct.size),
        hashes=np.concatenate([sample, np.unique(ordered[:LEAD_VERIFY])]),
        lead_start=int(sample.size),
        signature=minhash_values(distinct),
        lead_signature=minhash_values(np.unique(ordered[:LEAD_LSH])),
        word_count=len(tokens),
        sentences=sentences,
        opening=ordered[opening_positions(blocks, ordered.size)],
        lead_sentences=lead_sentences,
        title=title_hashes(title),
        lead_words=lead_word_hashes(first_lead),
        ending=ending_shingles(blocks, ordered),
        lead_numbers=lead_number_hashes(first_lead),
        sentence_order=order,
    )


def lead_word_hashes(sentence: str) -> U32:
    """crc32 of the first ``LEAD_WORDS`` words of a sentence, each number as ``NUMBER``: a
    template's slot holds a name (the town, the fund), while an update changes a figure
    ("12 killed", then "15")."""
    return np.fromiter(
        (
            NUMBER if token.isdecimal() else _token_hashes[token]
            for token in words(sentence)[:LEAD_WORDS]
        ),
        dtype=np.uint32,
    )


def lead_number_hashes(sentence: str) -> U32:
    """crc32 of the numbers among the first ``LEAD_WORDS`` words of a sentence, in order
    (as a title's words are hashed)."""
    return np.fromiter(
        (_token_hashes[token] for token in words(sentence)[:LEAD_WORDS] if token.isdecimal()),
        dtype=np.uint32,
    )


def ending_shingles(blocks: list[str], ordered: U32) -> U32:
    """The shingles of a last block of at most ``ENDING_WORDS`` words that follows
    another, those that span into it included, when they lie in the lead; else none.  A
    partial copy ends with a line of its own (where to read the rest), unknown to the
    boilerplate model until its site has repeated it."""
    if len(blocks) < 2 or blocks[-1].count(" ") >= ENDING_WORDS:
        return _EMPTY
    start = max(0, ordered.size - len(words(blocks[-1])))
    if start >= LEAD_VERIFY:
        return _EMPTY
    return np.unique(ordered[start:LEAD_VERIFY])


def text_shingles(blocks: tuple[str, ...] | list[str]) -> U32:
    """Sorted distinct hashes of every shingle of the story blocks, unsampled (what a
    digest holds of other stories' openings, for ``clusters explain``)."""
    return np.unique(shingle_hashes(words("\n".join(without_dateline(list(blocks))))))


def opening_positions(blocks: tuple[str, ...] | list[str], shingles: int) -> list[int]:
    """Which shingles of a text make its ``opening``: the first ``OPENING_HEAD``, then the
    first ``OPENING_PER_BLOCK`` of each next block (after its dateline) up to the first
    long one, then the next ones in order, up to ``OPENING`` (fewer only for a text that
    has fewer).  Only short blocks are looked into (a byline, a time line, a caption):
    the story's first paragraph is the first long one."""
    chosen = dict.fromkeys(range(min(OPENING_HEAD, shingles)))
    start = 0
    for index, block in enumerate(blocks[: OPENING - OPENING_HEAD + 1]):
        if index > 0:
            dateline = _DATELINE.match(block) if _may_open_with_dateline(block) else None
            first = start + (len(words(dateline.group(0))) if dateline else 0)
            for position in range(first, min(first + OPENING_PER_BLOCK, shingles)):
                if len(chosen) < OPENING:
                    chosen.setdefault(position)
        if block.count(" ") >= SHORT_BLOCK_WORDS:
            break  # no block start after it: counting its words would cost a second pass
        start += len(words(block))
    position = OPENING_HEAD
    while len(chosen) < OPENING and position < shingles:
        chosen.setdefault(position)
        position += 1
    return list(chosen)


_DATELINE = re.compile(
    r"^(?:[^\W\d_][\w.,' ]{1,40}?(?: \([^)]{1,40}\))? ?(?:[—–-]{1,2}|\|) "
    r"|[^\W\d_][\w.']*(?: [\w.']+){0,2}(?: \([^)]{1,40}\))?: )"
)
"""A dateline or a byline before a paragraph's first sentence ("london (wire) — ",
"westmoor, england — ", "corvello: ", "jane doe, the courier | "), in folded text."""


def without_dateline(blocks: list[str]) -> list[str]:
    """``blocks`` with a dateline or byline taken off the start of the first: one copy
    carries it and another not, and it is no part of the story."""
    return [_without_dateline(blocks[0]), *blocks[1:]] if blocks else blocks


_ABBREVIATIONS = frozenset(
    "inc co corp ltd plc mr mrs ms dr st jr sr prof gen gov sen rep no vs".split()  # noqa: SIM905
)
"""Words whose period ends an abbreviation, not a sentence ("Acme Inc. bought", "Mr.
Smith"; "U.S." too): split there, a name's sentence would leave a fragment ("bought a new
position in …") that any notice of the same template shares."""
_DATELINE_REACH = 100
"""A dateline's separator ("— ", "| ", ": ") comes within this many characters."""


def _ends_with_abbreviation(text: str) -> bool:
    """Whether ``text`` ends with a whole word of :data:`_ABBREVIATIONS` (or "u.s", "u.k")."""
    word = text[text.rfind(" ") + 1 :]
    if word in _ABBREVIATIONS or word in ("u.s", "u.k"):
        return True
    if len(word) > 5 or word.isalnum():  # most sentences: no sign before a short word
        return False
    start = len(text)  # a word after a bracket or a sign: "(inc", "&co"
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    if text[start:] in _ABBREVIATIONS:
        return True
    return text.endswith(("u.s", "u.k")) and (
        start == 2 or not (text[start - 3].isalnum() or text[start - 3] == "_")
    )


def _may_open_with_dateline(block: str) -> bool:
    """Whether a dateline's separator is near enough the start for :data:`_DATELINE` to
    find one: most paragraphs are spared the regex, at ten times the cost."""
    head = block[:_DATELINE_REACH]
    return "- " in head or "\u2014 " in head or "\u2013 " in head or "| " in head or ": " in head


def _without_dateline(block: str) -> str:
    return _DATELINE.sub("", block, count=1) if _may_open_with_dateline(block) else block


def sentence_hashes(blocks: tuple[str, ...] | list[str]) -> tuple[U32, U32, str, bytes]:
    """Sorted distinct crc32 of the sentences of folded blocks, without their spaces (a
    word split or glued by markup, a drop cap, leaves the hash alone), the hashes of
    its first ``LEAD_SENTENCES`` sentences of ``LEAD_SENTENCE_WORDS`` words or more, in
    order (a byline or an "Updated at" line is shorter), the first of those sentences,
    and each sentence's index among the distinct ones, in text order.  A block ends a
    sentence: a line put between paragraphs ("READ MORE: …") stays a sentence of its own
    instead of changing the next one.  A dateline is no part of a sentence; a period
    after an abbreviation ends none.  Plain string methods for the sentences: this runs
    for every item."""
    hashes: list[int] = []
    lead: list[int] = []
    first_lead = ""
    for block in blocks:
        # At any block's start: a byline or a time line may come before the dateline.
        block = _without_dateline(block).replace("! ", ". ").replace("? ", ". ")
        pieces = block.split(". ")
        last = len(pieces) - 1
        held = ""  # a piece that ends with an abbreviation: the sentence goes on
        for index, piece in enumerate(pieces):
            sentence = f"{held} {piece}" if held else piece
            if index < last and _ends_with_abbreviation(sentence):
                held = sentence
                continue
            held = ""
            # The last sentence of a block keeps its mark, the others lose it to the split:
            # a teaser that runs on past its story's first paragraph ends that sentence
            # mid-block.
            sentence = sentence.rstrip(".!?")
            words = sentence.count(" ") + 1
            if words >= MIN_SENTENCE_WORDS:
                hashes.append(zlib.crc32(sentence.replace(" ", "").encode("utf-8")))
                if words >= LEAD_SENTENCE_WORDS and len(lead) < LEAD_SENTENCES:
                    lead.append(hashes[-1])
                    first_lead = first_lead or sentence
        if len(hashes) >= MAX_SENTENCES:
            break
    # sorted(set()) then one array: np.unique costs more than the hashing for a few dozen
    kept = hashes[:MAX_SENTENCES]
    distinct = np.array(sorted(set(kept)), dtype=np.uint32)
    order = np.searchsorted(distinct, np.array(kept, dtype=np.uint32)).astype(np.uint8)
    return distinct, np.array(lead, dtype=np.uint32), first_lead, order.tobytes()


def to_bytes(fp: Fingerprint) -> bytes | None:
    """The stored form; None for a text too short to have signatures."""
    if fp.size == 0:
        return None
    if fp.signature is None or fp.lead_signature is None:
        raise ValueError("a fingerprint without its signatures cannot be stored")
    return b"".join(
        [
            _HEADER.pack(
                _FORMAT_VERSION,
                NUM_PERM,
                fp.size,
                fp.sample.size,
                fp.lead.size,
                fp.word_count,
                fp.sentences.size,
                fp.opening.size,
                fp.lead_sentences.size,
                fp.title.size,
                fp.lead_words.size,
                fp.ending.size,
                fp.lead_numbers.size,
                len(fp.sentence_order),
            ),
            fp.signature.astype("<u4").tobytes(),
            fp.lead_signature.astype("<u4").tobytes(),
            fp.sample.astype("<u4").tobytes(),
            fp.lead.astype("<u4").tobytes(),
            fp.sentences.astype("<u4").tobytes(),
            fp.opening.astype("<u4").tobytes(),
            fp.lead_sentences.astype("<u4").tobytes(),
            fp.title.astype("<u4").tobytes(),
            fp.lead_words.astype("<u4").tobytes(),
            fp.ending.astype("<u4").tobytes(),
            fp.lead_numbers.astype("<u4").tobytes(),
            fp.sentence_order,
        ]
    )


def from_bytes(blob: bytes, content_key_value: str | None) -> Fingerprint:
    if blob[:1] != bytes([_FORMAT_VERSION]):
        raise ValueError(f"fingerprint format {blob[:1].hex()} is not {SCHEME}")
    (
        version,
        num_perm,
        size,
        n_sample,
        n_lead,
        word_count,
        n_sentences,
        n_opening,
        n_leads,
        n_title,
        n_lead_words,
        n_ending,
        n_lead_numbers,
        n_order,
    ) = _HEADER.unpack_from(blob, 0)
    if version != _FORMAT_VERSION or num_perm != NUM_PERM:
        raise ValueError(f"fingerprint format {version}/{num_perm} is not {SCHEME}")
    offset = _HEADER.size

    def take(count: int) -> U32:
        nonlocal offset
        values = np.frombuffer(blob, dtype="<u4", count=count, offset=offset).astype(np.uint32)
        offset += 4 * count
        return values

    signature, lead_signature = take(NUM_PERM), take(NUM_PERM)
    hashes = take(n_sample + n_lead)
    sentences, opening, leads = take(n_sentences), take(n_opening), take(n_leads)
    title, lead_words, ending = take(n_title), take(n_lead_words), take(n_ending)
    lead_numbers = take(n_lead_numbers)
    order = blob[offset : offset + n_order]
    return Fingerprint(
        content_key_value,
        size,
        hashes,
        n_sample,
        signature,
        lead_signature,
        word_count,
        sentences,
        opening,
        leads,
        title,
        lead_words,
        ending,
        lead_numbers,
        order,
    )


def overlap(a: U32, b: U32) -> int:
    if a.size == 0 or b.size == 0:
        return 0
    return int(np.intersect1d(a, b, assume_unique=True).size)
