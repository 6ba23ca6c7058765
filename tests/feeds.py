"""Small feed documents built in tests (no dependence on files outside the repo)."""

from __future__ import annotations

from html import escape

FOOTER = (
    "<p>This story is brought to you by Example Sponsor</p><p>Read more</p>"
    "<p>Follow our network:</p><p>The Example Times</p><p>The Example Post</p>"
)


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    """RSS 2.0 with content:encoded; each item has guid, title, link, date, html."""
    entries = []
    for item in items:
        entries.append(
            "<item>"
            f"<title>{escape(item['title'])}</title>"
            f"<link>{escape(item['link'])}</link>"
            f'<guid isPermaLink="false">{escape(item["guid"])}</guid>'
            f"<pubDate>{item.get('date', 'Fri, 20 Nov 2026 10:00:00 +0000')}</pubDate>"
            f"<content:encoded><![CDATA[{item['html']}]]></content:encoded>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{escape(title)}</title><link>https://example.com/</link>"
        f"<description>test</description>{''.join(entries)}</channel></rss>"
    ).encode()


_VOCABULARY = (
    "harbour council ferry budget school river bridge storm museum farmer market vote "
    "hospital nurse train station library festival mayor police court judge teacher "
    "student factory worker union strike price bread coffee winter summer rain flood "
    "road highway tunnel airport pilot engine battery solar wind turbine grid power "
    "water pipe leak repair crew contract company shares profit loss bank loan "
    "interest rate housing rent tenant landlord park tree garden bird fox deer forest "
    "fire smoke alarm siren doctor vaccine clinic patient study research scientist "
    "planet moon rocket launch orbit signal phone app software update security breach "
    "password election candidate debate poll survey result team coach player season "
    "goal match stadium ticket fan crowd concert singer album film director actor "
    "prize award"
)
_WORDS = _VOCABULARY.split()


def story(seed: int, paragraphs: int = 5, words: int = 45) -> list[str]:
    """Deterministic pseudo-news paragraphs; different seeds share almost no 3-word runs."""
    import random

    rng = random.Random(seed)
    out = []
    for _ in range(paragraphs):
        sentence = [rng.choice(_WORDS) for _ in range(words)]
        sentence[0] = sentence[0].capitalize()
        out.append(" ".join(sentence) + ".")
    return out


def html(paragraphs: list[str], footer: str = "") -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs) + footer
