"""The documents of the generated corpus (:mod:`bench.corpus`): article HTML, RSS, Atom."""

from __future__ import annotations

import html
import random
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from bench.corpus import Entry, FeedPlan, Story


def article_html(plan: FeedPlan, story: Story, rng: random.Random, copy: bool) -> str:
    """The story as the feed publishes it: a copy sometimes drops a paragraph or curls its
    quotes; every feed adds its sponsor line, maybe a "continue reading" link, its footer."""
    paragraphs = list(story.paragraphs)
    if copy and len(paragraphs) > 3 and rng.random() < 0.5:
        del paragraphs[rng.randrange(1, len(paragraphs))]  # a dropped paragraph
    if copy and rng.random() < 0.3:
        paragraphs = [p.replace("'", "’") for p in paragraphs]
    out: list[str] = []
    for n, para in enumerate(paragraphs):
        out.append(f"<p>{paragraph_markup(n, para, story, rng)}</p>")
        out.extend(embellishments(n, para, story))
    out.append(f"<p><em>{html.escape(plan.sponsor)}</em></p>")
    if plan.read_more:
        out.append(
            f'<p><a href="{html.escape(story.link)}" rel="nofollow">Continue reading on '
            f"{html.escape(plan.name)}</a></p>"
        )
    out.append(f'<div class="footer"><p>{html.escape(plan.footer)}</p></div>')
    return "\n".join(out).replace("]]>", "]] >")


def paragraph_markup(n: int, para: str, story: Story, rng: random.Random) -> str:
    """A paragraph's text with a topic link (the first) or, now and then, emphasis."""
    words = html.escape(para, quote=False).split(" ")
    if n == 0 and len(words) > 6:
        at = rng.randrange(1, len(words) - 3)
        words[at] = f'<a href="/topics/{story.topic}">{words[at]}'
        words[at + 2] += "</a>"
    elif len(words) > 8 and rng.random() < 0.3:
        at = rng.randrange(0, len(words) - 3)
        tag = rng.choice(("strong", "em", "b", "i"))
        words[at] = f"<{tag}>{words[at]}"
        words[at + 1] += f"</{tag}>"
    return " ".join(words)


def embellishments(n: int, para: str, story: Story) -> list[str]:
    """What follows paragraph ``n`` of some stories: a subhead, a figure, an embed."""
    out: list[str] = []
    if n == 2 and story.key % 2:
        out.append(f"<h2>{html.escape(' '.join(para.split()[:6]).rstrip('.,'))}</h2>")
    if n == 1 and story.key % 3 == 0:
        out.append(
            f'<figure><img src="/media/{story.key}/photo.jpg" alt="" width="800" '
            f'height="450" loading="lazy"><figcaption>'
            f"{html.escape(' '.join(para.split()[:9]))}</figcaption></figure>"
        )
    if n == 3 and story.key % 10 == 7:
        out.append(
            '<blockquote class="embed-post"><p>'
            f"{html.escape(' '.join(para.split()[:14]))}</p></blockquote>"
            '<script async src="https://embed.example/widgets.js"></script>'
        )
    return out


def summary(story: Story) -> str:
    words = " ".join(story.paragraphs).split()
    return " ".join(words[:45]) + " …"


def rss_document(
    plan: FeedPlan, entries: Sequence[Entry], rng: random.Random, base: datetime
) -> bytes:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">\n<channel>\n'
        f"<title>{escape(plan.name)}</title>\n<link>https://{plan.host}/</link>\n"
        f"<description>{escape(plan.name)}: the latest stories</description>\n"
        f"<language>en</language>\n<lastBuildDate>{format_datetime(base)}</lastBuildDate>\n"
        f'<atom:link href="https://{plan.host}/feed" rel="self" '
        'type="application/rss+xml"/>\n'
    ]
    for entry in entries:
        story = entry.story
        out.append(
            f"<item>\n<title>{escape(entry.title)}</title>\n<link>{escape(entry.link)}</link>\n"
            f'<guid isPermaLink="false">{escape(entry.guid)}</guid>\n'
            f"<pubDate>{format_datetime(entry.published)}</pubDate>\n"
            f"<dc:creator>{escape(story.author)}</dc:creator>\n"
            f"<category>{story.topic}</category>\n"
            f"<description>{escape(summary(story))}</description>\n"
            f"<content:encoded><![CDATA[{article_html(plan, story, rng, entry.copy)}]]>"
            "</content:encoded>\n</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out).encode("utf-8")


def atom_document(
    plan: FeedPlan, entries: Sequence[Entry], rng: random.Random, base: datetime
) -> bytes:
    def stamp(when: datetime) -> str:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(plan.name)}</title>\n"
        f'<link rel="alternate" href="https://{plan.host}/"/>\n'
        f'<link rel="self" href="https://{plan.host}/feed.atom"/>\n'
        f"<id>https://{plan.host}/</id>\n<updated>{stamp(base)}</updated>\n"
    ]
    for entry in entries:
        story = entry.story
        out.append(
            f"<entry>\n<title>{escape(entry.title)}</title>\n"
            f'<link rel="alternate" href={quoteattr(entry.link)}/>\n'
            f"<id>{escape(entry.guid)}</id>\n"
            f"<published>{stamp(entry.published)}</published>\n"
            f"<updated>{stamp(entry.published)}</updated>\n"
            f"<author><name>{escape(story.author)}</name></author>\n"
            f'<category term="{story.topic}"/>\n'
            f"<summary>{escape(summary(story))}</summary>\n"
            f'<content type="html">{escape(article_html(plan, story, rng, entry.copy))}'
            "</content>\n</entry>\n"
        )
    out.append("</feed>\n")
    return "".join(out).encode("utf-8")
