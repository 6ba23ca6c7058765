"""English-like article text for the generated corpus (:mod:`bench.corpus`).

:class:`Words` makes it from a generated vocabulary; :class:`CorpusText` recombines the
sentences of a real corpus's articles (``bench/ingest.py --text-from DIR``).
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import random
import re
from collections import Counter
from pathlib import Path

from bench import FEED_SUFFIXES

_FUNCTION_WORDS = (
    "the of and to a in that is was for on it with as he said by at from his her an be "
    "have has had not are were they which this but their its who been or will would one "
    "after there also new more than when about two up other into over last could some year "
    "people first out all she no time may only years many before those against such most "
    "while what so under three since during then because where between through both each "
    "week government city officials state told local public report plan"
)
FUNCTION_WORDS = _FUNCTION_WORDS.split()
_SYLLABLES = (
    "ba be bi bo bu ca ce co cu da de di do du fa fe fi fo ga ge go gu ha he hi ho la le li "
    "lo lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te "
    "ti to tu va ve vi vo za ze an en in on ar er ir or st tr pl gr br cl dr sh ch th "
    "ment tion ly ing ed er est al ous ive ist"
)
SYLLABLES = _SYLLABLES.split()


class Words:
    """English-like text: function words at their usual rate, a Zipf-distributed made-up
    vocabulary for the rest, proper names, numbers and punctuation."""

    def __init__(self, rng: random.Random, size: int = 6000) -> None:
        self.rng = rng
        vocab: set[str] = set()
        while len(vocab) < size:
            n = rng.choice((1, 2, 2, 2, 3, 3, 4))
            vocab.add(
                "".join(rng.choice(SYLLABLES[:-9]) for _ in range(n))
                + (rng.choice(SYLLABLES[-9:]) if rng.random() < 0.3 else "")
            )
        self.vocab = sorted(vocab)
        rng.shuffle(self.vocab)
        self.cum = list(
            itertools.accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(self.vocab)))
        )
        self.fcum = list(
            itertools.accumulate(1 / (rank + 1) for rank in range(len(FUNCTION_WORDS)))
        )

    def sentence(self, low: int = 7, high: int = 28) -> str:
        rng = self.rng
        n = rng.randint(low, high)
        content = rng.choices(self.vocab, cum_weights=self.cum, k=n)
        function = rng.choices(FUNCTION_WORDS, cum_weights=self.fcum, k=n)
        out = []
        for i in range(n):
            r = rng.random()
            if r < 0.42:
                word = function[i]
            elif r < 0.47:
                word = content[i].capitalize()
            elif r < 0.485:
                word = rng.choice(
                    (
                        str(rng.randint(2, 99)),
                        f"{rng.randint(1, 999)},{rng.randint(0, 999):03d}",
                        f"{rng.randint(1, 90)} per cent",
                    )
                )
            else:
                word = content[i]
            if i and i < n - 2 and rng.random() < 0.06:
                word += ","
            out.append(word)
        if rng.random() < 0.12:
            out.insert(0, "“" + out.pop(0))
            out[-1] += ",” " + self.rng.choice(("she said", "he said", "they said"))
        text = " ".join(out)
        return text[0].upper() + text[1:] + rng.choice(".....?!")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 5)))

    def phrase(self, n: int) -> str:
        return " ".join(self.rng.choices(self.vocab, cum_weights=self.cum, k=n))


class CorpusText(Words):
    """Sentences of a real corpus's articles, recombined into new paragraphs, with about one
    word in twelve swapped for another word of the corpus, so that no paragraph recurs."""

    def __init__(self, rng: random.Random, folder: Path) -> None:
        super().__init__(rng, size=2000)
        self.sentences = corpus_sentences(folder)
        if len(self.sentences) < 200:
            raise SystemExit(f"--text-from {folder}: only {len(self.sentences)} sentences found")
        pool = Counter(w.strip(".,;:!?“”\"'()").lower() for s in self.sentences for w in s.split())
        self.pool = [w for w, n in pool.items() if w.isalpha() and n >= 2]

    def sentence(self, low: int = 7, high: int = 28) -> str:
        words = self.rng.choice(self.sentences).split()
        for i in range(1, len(words) - 1):
            if self.rng.random() < 0.08 and words[i].isalpha() and words[i].islower():
                words[i] = self.rng.choice(self.pool)
        return " ".join(words)


def corpus_sentences(folder: Path) -> list[str]:
    """Distinct sentences (6-45 words) of the articles of every feed file under ``folder``,
    without those carried by four items or more (footers, sponsor lines)."""
    seen_in: Counter[str] = Counter()
    for path in sorted(p for p in folder.rglob("*") if p.suffix in FEED_SUFFIXES):
        for body in article_bodies(path):
            seen_in.update(sentences_of(body))
    return sorted(s for s, n in seen_in.items() if n < 4)


def article_bodies(path: Path) -> list[str]:
    """The HTML of each item of a feed file (its longest content, else its summary)."""
    if path.suffix == ".json":
        with contextlib.suppress(ValueError):
            doc = json.loads(path.read_bytes())
            return [
                str(i.get("content_html") or i.get("content_text") or "")
                for i in doc.get("items", [])
                if isinstance(i, dict)
            ]
        return []
    import feedparser  # the project's dependency; only needed to read --text-from

    bodies: list[str] = []
    for entry in feedparser.parse(
        path.read_bytes(), sanitize_html=False, resolve_relative_uris=False
    ).entries:
        values = [c.get("value", "") for c in entry.get("content", [])]
        bodies.append(max(values + [entry.get("summary", "")], key=len))
    return bodies


def sentences_of(body: str) -> set[str]:
    """The distinct sentences of 6-45 words in an article's HTML."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S | re.I)
    text = re.sub(r"</?(p|div|br|li|h\d|blockquote)\b[^>]*>", "\n", text, flags=re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    found = set()
    for block in text.split("\n"):
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z“\"])", " ".join(block.split())):
            if 6 <= len(sentence.split()) <= 45 and "]]>" not in sentence:
                found.add(sentence)
    return found
