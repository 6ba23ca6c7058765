"""Stories written on one template are different stories; copies of one of them, with
markup noise, an update line or a dropped paragraph, are one story (issue 13, cases 1, 6
and 7).  Ten families of each shape, made here: the fixed phrasing, then slots."""

from __future__ import annotations

import itertools
import random
import zlib

import numpy as np
import pytest

from aggregator.clean.text import fold, html_to_blocks
from aggregator.dedup.rules import (
    Comparable,
    DedupParams,
    Method,
    compare,
    is_lead_edge,
    judge,
)
from aggregator.dedup.templates import slot_words
from aggregator.fingerprint.signature import fingerprint_blocks
from tests.feeds import story

NAMES = [
    "Harbor Point Capital",
    "Greyfield Advisors LLC",
    "Northwind Asset Management",
    "Calder & Sons Wealth",
    "Bluewater Partners Inc.",
    "Sterling Oak Investments",
    "Redcliff Financial Group",
    "Maple Row Capital",
    "Ironbridge Holdings",
    "Lakeshore Trust Co.",
]
COMPANIES = [
    ("Acme Robotics", "ACMR"),
    ("Borealis Energy", "BORE"),
    ("Cobalt Foods", "CBLT"),
    ("Delta Textiles", "DLTX"),
    ("Evergreen Pharma", "EVGP"),
]
TOWNS = ["Ashford", "Brampton", "Carlisle", "Dunmore", "Eastleigh", "Fairhaven", "Glenrock"]
TEAMS = ["Rovers", "United", "Athletic", "Wanderers", "City", "Albion", "Harriers", "Town"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def fund_story(rng: random.Random, company: tuple[str, str]) -> list[str]:
    fund, (name, ticker) = rng.choice(NAMES), company
    shares, price = rng.randint(1_000, 900_000), rng.randint(10, 400) + rng.random()
    verb = rng.choice(["raised", "cut", "trimmed", "lifted"])
    pct = rng.randint(1, 90) + rng.random()
    return [
        f"{fund} {verb} its position in {name} ({ticker}) by {pct:.1f}% during the third "
        f"quarter, according to its most recent filing with the Securities and Exchange "
        f"Commission. The fund owned {shares:,} shares of the company's stock after the "
        f"change, worth about ${shares * price:,.0f} at the end of the quarter.",
        f"Several other institutional investors have also modified their holdings of "
        f"{ticker}. Shares of {name} opened at ${price:.2f} on {rng.choice(DAYS)}. The stock "
        f"has a fifty day moving average of ${price * 0.97:.2f} and a two hundred day moving "
        f"average of ${price * 0.93:.2f}.",
        f"{name} last released its quarterly earnings report on {rng.choice(DAYS)}. The "
        f"company reported ${rng.random():.2f} earnings per share for the quarter, beating "
        f"the consensus estimate by ${rng.random() / 10:.2f}. Analysts expect the company to "
        f"post {rng.random() * 5:.2f} earnings per share for the current year.",
        f"Wall Street analysts have weighed in on the stock: {rng.randint(2, 9)} have rated "
        f"it with a buy rating and {rng.randint(1, 5)} with a hold rating, giving it an "
        f"average rating of {rng.choice(['Moderate Buy', 'Hold', 'Buy'])} and a consensus "
        f"price target of ${price * 1.2:.2f}.",
    ]


def weather_story(rng: random.Random) -> list[str]:
    town, day = rng.choice(TOWNS), rng.choice(DAYS)
    high, low = rng.randint(8, 30), rng.randint(-3, 12)
    return [
        f"{town} can expect {rng.choice(['fog', 'rain', 'sunshine', 'showers'])} on {day}, "
        f"with a high of {high} degrees and a low of {low} degrees overnight, forecasters "
        f"said in their latest outlook for the region.",
        f"Winds will come from the {rng.choice(['north', 'south', 'east', 'west'])} at "
        f"{rng.randint(5, 40)} kilometres an hour in {town}, easing in the evening. The "
        f"chance of rain stands at {rng.randint(0, 100)} per cent for {day} afternoon.",
        f"Sunrise in {town} is at {rng.randint(5, 8)}:{rng.randint(10, 59)} and sunset at "
        f"{rng.randint(16, 21)}:{rng.randint(10, 59)}. Residents are advised to check the "
        f"forecast again before travelling, as conditions may change through the {day}.",
        f"The outlook for the rest of the week in {town} shows temperatures between "
        f"{low + 1} and {high + 2} degrees, with {rng.choice(['more rain', 'clear skies'])} "
        f"expected by the weekend.",
        "This forecast is produced automatically from the regional weather service's "
        "observations and computer models, updated four times a day. Readers can find "
        "hourly forecasts, radar images and severe weather warnings for their area on our "
        "weather page, and sign up to receive the morning forecast by email every day.",
        "Forecasts are estimates and can change at short notice. In an emergency, always "
        "follow the advice of the local authorities and the national weather service, and "
        "check travel updates before setting out on roads that are prone to flooding.",
    ]


def score_story(rng: random.Random) -> list[str]:
    home, away = rng.sample(TEAMS, 2)
    a, b = rng.randint(0, 5), rng.randint(0, 5)
    scorer = rng.choice(["Ellis", "Moreno", "Okafor", "Lindqvist", "Tanaka", "Byrne"])
    return [
        f"{home} beat {away} {a}-{b} at home on {rng.choice(DAYS)}, with {scorer} scoring in "
        f"the {rng.randint(2, 89)}th minute in front of a crowd of {rng.randint(2, 40)},"
        f"{rng.randint(100, 999)} supporters.",
        f"The result leaves {home} in {rng.randint(1, 20)}th place in the table with "
        f"{rng.randint(5, 60)} points, while {away} stay {rng.randint(1, 20)}th after "
        f"{rng.randint(5, 30)} games of the season.",
        f"{home} face {rng.choice(TEAMS)} next {rng.choice(DAYS)}, and {away} travel to "
        f"{rng.choice(TOWNS)} the following weekend. Both managers said after the match that "
        f"the squad had worked hard in training during the week.",
        f"Tickets for the next home game of {home} go on sale on {rng.choice(DAYS)} through "
        f"the club's website and at the ticket office, the club said in a statement.",
        "This match report was generated automatically from the official league data feed, "
        "which records goals, cards and substitutions as they happen. Full tables, fixtures "
        "and results for every division are available on our sports pages, updated after "
        "the final whistle of every game played across the league this season.",
        "Readers can follow live scores on the app and sign up for the weekly football "
        "newsletter, which brings the best goals, the table and the fixtures of the coming "
        "weekend to their inbox every Friday morning before the first kick-off.",
    ]


def _comparable(paragraphs: list[str], feed_id: int) -> Comparable:
    return Comparable(feed_id, None, fingerprint_blocks([fold(p) for p in paragraphs]))


def _verdict(a: list[str], b: list[str]) -> Method | None:
    return judge(_comparable(a, 1), _comparable(b, 2), DedupParams()).method


def _families(seed: int) -> list[tuple[str, list[str], list[str]]]:
    rng = random.Random(seed)
    pairs = []
    for n in range(10):
        company = COMPANIES[n % len(COMPANIES)]
        pairs.append(("fund", fund_story(rng, company), fund_story(rng, company)))
        pairs.append(("weather", weather_story(rng), weather_story(rng)))
        pairs.append(("score", score_story(rng), score_story(rng)))
    return pairs


@pytest.mark.parametrize("kind,first,second", _families(13))
def test_two_stories_on_one_template_are_not_joined(
    kind: str, first: list[str], second: list[str]
) -> None:
    verdict = judge(_comparable(first, 1), _comparable(second, 2), DedupParams())
    assert verdict.method is None, (kind, verdict.reason)


def _noisy(paragraphs: list[str], rng: random.Random) -> list[str]:
    """What a careless CMS does to a copy: entities, no-break and zero-width spaces, soft
    hyphens, a drop cap, links over words, line breaks; then read back as the cleaner
    reads it."""
    html = []
    for n, paragraph in enumerate(paragraphs):
        words = paragraph.replace("'", "&rsquo;").split(" ")
        for i in range(1, len(words), 7):
            words[i] = f'<a href="/tag/{i}">{words[i]}</a>'
        text = " ".join(words).replace(". ", ".&nbsp; ", 1)
        if n == 0:
            text = f'<span class="dropcap">{text[0]}</span>{text[1:]}'
        long_word = max(text.split(" "), key=len)
        if long_word.isalpha():
            text = text.replace(long_word, long_word[:3] + "\u00ad" + long_word[3:], 1)
        html.append(text)
    fragment = "<div>" + "<br><br>\n".join(html) + "</div>"
    return html_to_blocks(fragment)


@pytest.mark.parametrize("kind,first,_", _families(29))
def test_a_copy_of_a_template_story_is_the_same_story(
    kind: str, first: list[str], _: list[str]
) -> None:
    rng = random.Random(len(first[0]))
    copy = _noisy(first, rng) + ["Follow our other networks here: The Daily Watch News."]
    assert _verdict(first, copy) is not None, kind
    update = ["UPDATE: This story has been updated with new figures.", *first]
    update[2] = "The figures were revised later in the day, officials said on Friday."
    assert _verdict(first, update) is not None, kind
    assert _verdict(first, first[:-1]) is not None, kind  # a dropped paragraph


def test_a_description_escaped_twice_reads_as_its_html() -> None:
    story = fund_story(random.Random(3), COMPANIES[0])
    once = "".join(f"<p>{p.replace(chr(39), '&rsquo;')}</p>" for p in story)
    twice = once.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert html_to_blocks(twice) == html_to_blocks(once)
    assert _verdict(html_to_blocks(once), html_to_blocks(twice)) is not None
    # Text that only mentions a tag, or real markup around escaped tags, stays as written.
    assert html_to_blocks("<p>Use the &lt;p&gt; and &lt;br&gt; elements.</p>") == [
        "Use the <p> and <br> elements."
    ]


def test_explain_names_the_template_rule() -> None:
    """The first pair of weather notices whose Jaccard passes the minhash threshold is
    refused by the template rule, and the reason says so."""
    for seed in range(50):
        rng = random.Random(seed)
        first, second = weather_story(rng), weather_story(rng)
        verdict = judge(_comparable(first, 1), _comparable(second, 2), DedupParams())
        if verdict.match is not None and verdict.match.jaccard >= DedupParams().threshold:
            break
    else:
        pytest.fail("no weather pair above the threshold: the family is too varied to test")
    assert verdict.method is None
    assert verdict.reason.startswith("template: two stories written on one template")


def _one_company(rng: random.Random, fund: str, verb: str) -> list[str]:
    """A filing notice whose story is its opening paragraph: the fund and what it did;
    the rest describes the company, the same for every fund that day."""
    opening = (
        f"{fund} {verb} its position in Acme Robotics (ACMR) by {rng.randint(2, 90)}% during "
        f"the third quarter, according to its latest filing with the regulator. The fund "
        f"owned {rng.randint(1_000, 90_000):,} shares of the company at the end of the period."
    )
    return [opening, *fund_story(random.Random(77), COMPANIES[0])[1:]]


@pytest.mark.parametrize("n", range(10))
def test_filings_of_two_funds_in_one_company_are_two_stories(n: int) -> None:
    rng = random.Random(n)
    first, second = rng.sample(NAMES, 2)
    a = _one_company(rng, first, rng.choice(["raised", "cut"]))
    b = _one_company(rng, second, rng.choice(["raised", "cut"]))
    verdict = judge(_comparable(a, 1), _comparable(b, 2), DedupParams())
    assert verdict.method is None and verdict.reason.startswith("template:"), verdict.reason
    # Its copies, with a dateline or a byline on either side, stay one story.
    dated = ["NEW YORK (Wire) — " + a[0], *a[1:]]
    signed = ["By Jane Doe, Markets Reporter", *a]
    assert _verdict(dated, signed) is not None
    assert _verdict(a, ["UPDATE: This story has been updated.", *a[:-1]]) is not None


def _regional(rng: random.Random, town: str, day: str) -> list[str]:
    """A forecast written for one town from the region's figures: two towns of one region
    are given the same weather, word for word, but for their names."""
    high, low, wind = rng.randint(8, 30), rng.randint(-3, 7), rng.randint(5, 25)
    sky = rng.choice(["partly sunny", "areas of drizzle", "mostly cloudy", "sunny"])
    return [
        f"Here is the weather forecast for {town} for {day}, November {rng.randint(2, 28)}.",
        f"{day}: {sky}, with a high near {high}. South wind {wind} to {wind + 5} mph.",
        f"{day} night: mostly clear, with a low around {low}. Calm wind becoming south "
        f"around 5 mph in the afternoon.",
        f"The next day: {rng.choice(['rain', 'fog', 'showers'])}, with a high near "
        f"{high - 2}. West wind 10 to 15 mph, with gusts as high as 25 mph.",
        f"The next night: mostly cloudy, with a low around {low + 1}. Winds easing after midnight.",
    ]


def _titled(paragraphs: list[str], title: str, feed_id: int) -> Comparable:
    return Comparable(feed_id, None, fingerprint_blocks([fold(p) for p in paragraphs], title))


TOWN_PAIRS = [
    ("Luive Springs", "Menttr"),
    ("Ashford", "Brampton Falls"),
    ("Carlisle Bay", "Dunmore"),
    ("Eastleigh", "Fairhaven Springs"),
    ("Glenrock", "Harbor Point"),
    ("Nationgotion Falls", "Liro"),
    ("Trteed Falls", "Tafabu Springs"),
    ("Soriing Bay", "Drgringville"),
    ("Kingsbridge", "Oakmere"),
    ("Westford", "St. Albans"),
]


@pytest.mark.parametrize("n", range(len(TOWN_PAIRS)))
def test_two_towns_given_the_same_weather_are_two_stories(n: int) -> None:
    """Their texts differ only in the town's name in the first sentence, and in their
    titles: a template's slot, refused as a copy (whole, or one of them cut to its first
    paragraphs), with the reason; copies of either stay one story."""
    rng = random.Random(n)
    day = DAYS[n % len(DAYS)]
    seed = rng.randrange(1000)
    one, other = TOWN_PAIRS[n]
    a = _regional(random.Random(seed), one, day)
    b = _regional(random.Random(seed), other, day)
    title_a = f"{one} forecast for {day}: partly sunny"
    title_b = rng.choice(
        [f"{day} weather in {other}: partly sunny, high 61", f"{other} Weather Forecast For {day}"]
    )
    for second in (b, b[:-1], b[:3]):  # whole, a paragraph dropped, the first three only
        verdict = judge(_titled(a, title_a, 1), _titled(second, title_b, 2), DedupParams())
        assert verdict.method is None, verdict.reason
        assert verdict.reason.startswith("template:"), verdict.reason
        assert verdict.match is not None and not is_lead_edge(verdict.match, DedupParams())
    # A copy keeps its title: with a byline, a dropped paragraph or its first paragraphs
    # only it is the same story; so is one retitled by its site over the same sentences.
    for copy in (["By Jane Doe, Weather Desk", *a], a[:-1], a[:3]):
        verdict = judge(_titled(a, title_a, 1), _titled(copy, title_a.upper(), 2), DedupParams())
        assert verdict.method is not None, verdict.reason
    retitled = judge(
        _titled(a, title_a, 1), _titled(a[:-1], "Your weekend weather", 2), DedupParams()
    )
    assert retitled.method is not None, retitled.reason


@pytest.mark.parametrize(
    "first,second,expected",
    [
        (
            "the forecast for ashford for monday is here",
            "the forecast for brampton falls for monday is here",
            True,
        ),
        (
            "caist capital management llc bought a new position in acme inc in the quarter",
            "ment inc bought a new position in acme inc in the quarter",
            True,
        ),
        # a word added or dropped, not replaced: a dateline, a cut teaser, an update line
        (
            "the forecast for ashford for monday is here",
            "the forecast for ashford for monday",
            False,
        ),
        (
            "the forecast for ashford for monday is here",
            "update the forecast for ashford for monday is here",
            False,
        ),
        # the same sentence, or a different one
        (
            "the forecast for ashford for monday is here",
            "the forecast for ashford for monday is here",
            False,
        ),
        (
            "the forecast for ashford for monday is here",
            "police said on tuesday that seven people were hurt",
            False,
        ),
        # the slot too long for a name, or at the very end of the sentence
        (
            "the forecast for ashford for monday is here",
            "the forecast for a town by the sea near the hills for monday is here",
            False,
        ),
        ("the fund bought shares of ashford", "the fund bought shares of brampton", False),
    ],
)
def test_slot_words_find_one_slot(first: str, second: str, expected: bool) -> None:
    def hashes(sentence: str) -> np.ndarray:
        return np.array([zlib.crc32(w.encode()) for w in sentence.split()], dtype=np.uint32)

    assert (slot_words(hashes(first), hashes(second)) is not None) is expected
    assert (slot_words(hashes(second), hashes(first)) is not None) is expected


def test_two_releases_sharing_their_closing_paragraphs_are_two_stories() -> None:
    """Two releases of one company: each opens with its own news under its own title, then
    the same "About" and forward-looking statements, most of their text.  They share far
    fewer of their sentences than an update keeps of its story."""
    about = [
        "About Acme Robotics: Acme Robotics designs and builds industrial robots for the "
        "automotive, food and logistics industries, with factories in three countries and "
        "more than four thousand employees. Its shares are listed on the Westmoor exchange.",
        "Forward-looking statements: this release contains forward-looking statements that "
        "involve risks and uncertainties, including statements about future results, plans "
        "and expectations. Actual results may differ materially from those expressed or "
        "implied, because of market conditions, competition and other factors described in "
        "the company's annual report. The company undertakes no obligation to update them.",
        "For more information, investors may contact the investor relations team at Acme "
        "Robotics headquarters in Westmoor, or visit the company's investor website.",
    ]
    first = [
        "Acme Robotics today announced the appointment of Jane Doe as chief financial "
        "officer, effective from the first of March. Ms. Doe joins from Borealis Energy, "
        "where she led the finance team for six years.",
        *about,
    ]
    second = [
        "Acme Robotics today reported third quarter revenue of 412 million, up twelve "
        "percent from a year earlier. Operating profit rose faster than sales as the company "
        "cut costs at its two oldest plants.",
        *about,
    ]
    verdict = judge(
        _titled(first, "Acme Robotics names Jane Doe finance chief", 1),
        _titled(second, "Acme Robotics third quarter revenue rises", 2),
        DedupParams(),
    )
    assert verdict.method is None and verdict.reason.startswith("template:"), verdict.reason


REWRITTEN_OPENINGS = [
    "Officials confirmed on Friday evening that the figures had been revised again.",
    "A spokesperson for the regional office said late on Thursday that more details would follow.",
    "New information released this afternoon changes part of the earlier account.",
    "The council issued a fresh statement shortly after midnight, correcting two numbers.",
    "Investigators now believe the first reports understated what happened.",
    "Later in the day, a second statement gave a different picture of the events.",
    "Several readers wrote in after publication, and we have corrected the record.",
    "The agency has since published its own figures, which differ slightly from ours.",
    "In a briefing this morning, the minister offered a fuller explanation.",
    "Further checks overnight turned up an error in the original filing.",
]


@pytest.mark.parametrize("n", range(len(REWRITTEN_OPENINGS)))
def test_an_update_that_rewrote_its_opening_under_a_new_title_is_the_same_story(n: int) -> None:
    """Its first two sentences are new: they share few words with the ones they replace,
    unlike a template's frame with other names in it, and the rest of the story (ten
    paragraphs of twelve) is kept."""
    from tests.feeds import story as generated

    kind = "generated"
    story = generated(60 + n, paragraphs=12)
    update = [
        "UPDATE: This story has been updated with new figures.",
        REWRITTEN_OPENINGS[n],
        REWRITTEN_OPENINGS[(n + 3) % 10],
        *story[2:],
    ]
    verdict = judge(
        _titled(story, "What the filings show this quarter", 1),
        _titled(update, "Revised figures change the picture", 2),
        DedupParams(),
    )
    assert verdict.method is Method.MINHASH, (kind, verdict.reason)
    assert "an update: its opening rewritten" in verdict.reason, verdict.reason


EDITS = [
    ("said", "says"),
    ("council", "County Council"),
    ("harbour", "harbor"),
    ("police", "officers"),
    ("river", "riverside"),
    ("budget", "spending plan"),
    ("school", "academy"),
    ("market", "markets"),
    ("station", "terminal"),
    ("bridge", "brige"),
]


@pytest.mark.parametrize("n", range(len(EDITS)))
def test_a_retitled_copy_with_an_edit_in_its_first_sentence_is_the_same_story(n: int) -> None:
    """A site that gives its copy its own headline and edits a word or two of the first
    sentence (house style, a typo, a fuller name): one slot apart, but the edited words
    are not what its title names, so it is no template story."""
    from tests.feeds import story as generated

    story = generated(80 + n, paragraphs=6)
    old, new = EDITS[n]
    words = story[0].split()
    words[4] = old
    story[0] = " ".join(words)
    copy = [story[0].replace(f" {old} ", f" {new} ", 1), *story[1:]]
    for second in (copy, copy[:1]):  # the whole copy, and a teaser of its first paragraph
        verdict = judge(
            _titled(story, "Council sets out its priorities", 1),
            _titled(second, "Residents react to new proposals", 2),
            DedupParams(),
        )
        assert verdict.method is not None, verdict.reason


ZONE_TOWNS = [
    ("Wexcombe", "Rushden"),
    ("Orchard Park", "Pinecrest"),
    ("Stonehollow", "Upton Vale"),
    ("Amberley", "Dunstable"),
    ("Millbrook", "Northwick"),
    ("Cinderford", "Eastwold"),
    ("Bramblecote", "Dovecote"),
    ("Yarrowby", "Oakhurst"),
    ("Pendleford", "Harrow Green"),
    ("Glenhaven", "Saltcote Bay"),
]
SKIES = [
    "dense morning fog lifting to hazy sunshine by the afternoon",
    "periods of rain, heavy at times, with a risk of localised flooding",
    "bright spells and scattered showers",
    "a cold, clear start and sunshine throughout",
]


def _zone_forecast(town: str, day: str, sky: str, rng: random.Random) -> list[str]:
    """What is left of a zone forecast once the zone's shared paragraph (the same wind and
    rain figures for its four towns that day) is learned as its feed's boilerplate: one
    sentence, the town and the day in their slots."""
    return [
        f"{town} can expect {sky} on {day}, with a high of {rng.randint(5, 30)}°C and an "
        f"overnight low of {rng.randint(-2, 15)}°C."
    ]


@pytest.mark.parametrize("n", range(len(ZONE_TOWNS)))
def test_two_towns_on_two_days_under_one_sky_are_two_stories(n: int) -> None:
    """Two slots apart (the town and the day), the numbers aside: template stories, though
    their one sentence shares half its shingles; a sister site's copy of either, retitled
    with its own suffix, is the same story."""
    rng = random.Random(n)
    one, other = ZONE_TOWNS[n]
    sky = SKIES[n % len(SKIES)]
    first_day, second_day = DAYS[n % len(DAYS)], DAYS[(n + 1) % len(DAYS)]
    a = _zone_forecast(one, first_day, sky, random.Random(n))
    b = _zone_forecast(other, second_day, sky, rng)
    title_a = f"{one} forecast for {first_day}: {sky.split(',')[0].split()[-1]}"
    title_b = f"{other} forecast for {second_day}: {sky.split(',')[0].split()[-1]}"
    verdict = judge(_titled(a, title_a, 1), _titled(b, title_b, 1), DedupParams())
    assert verdict.method is None, verdict.reason
    assert verdict.reason.startswith("template:"), verdict.reason
    copy = judge(
        _titled(a, title_a, 1), _titled(a, f"{title_a} | County Now North", 2), DedupParams()
    )
    assert copy.method is not None, copy.reason


COUNCIL_BODY = [
    "The vote came after a long evening of debate in which residents filled the chamber "
    "and the overflow room next door to hear the arguments.",
    "Supporters said the money would repair roads and bridges left without upkeep for a "
    "decade, while opponents warned that property taxes would climb.",
    "The finance director told members the reserve fund would fall to its lowest level in "
    "fifteen years unless new revenue was found within two years.",
    "A public hearing on the rate is planned for next month at the library, and written "
    "comments can be sent to the clerk until then.",
    "Business owners spoke in favour, saying potholes on the high street had kept "
    "customers away during the busy summer season.",
    "Others asked why the council had not applied for the state grants that neighbouring "
    "towns have used to pay for similar repairs.",
    "The mayor promised to publish a full list of the projects before the hearing, along "
    "with a timetable for the work.",
    "Members agreed to review the plan after one year and to report its costs in the "
    "annual newsletter sent to every household.",
]
EDITED_LEADS = [
    (
        (
            "Hollin police arrested a man over the stabbing of a teenager outside the station "
            "on Monday, a spokesman said.",
            "Man arrested over Hollin station stabbing",
        ),
        (
            "Hollin police charged a man over the stabbing of a teenager outside the station "
            "on Tuesday, a spokesman said.",
            "Man charged over Hollin station stabbing",
        ),
    ),
    (
        (
            "Mayor Jon Smyth resigned from the Hollin council on Monday after a vote of no "
            "confidence by members of his own party.",
            "Hollin mayor Smyth resigns",
        ),
        (
            "Mayor John Smith resigned from the Hollin council on Sunday after a vote of no "
            "confidence by members of his own party.",
            "Hollin mayor John Smith resigns",
        ),
    ),
    (
        (
            "The defence ministry ordered four new ships for the navy, which will base them at "
            "the harbour in the north of the country.",
            "Defence ministry orders four ships",
        ),
        (
            "The defense ministry ordered four new ships for the navy, which will base them at "
            "the harbor in the north of the country.",
            "Defense ministry orders four ships",
        ),
    ),
    (
        (
            "Acme Robotics announced on Monday that it would cut 200 jobs as orders for its "
            "warehouse robots slowed this year.",
            "Acme Robotics announces job cuts",
        ),
        (
            "Acme Robotics confirmed on Tuesday that it would cut 200 jobs as orders for its "
            "warehouse robots slowed this year.",
            "Acme Robotics confirms job cuts",
        ),
    ),
]


@pytest.mark.parametrize("n", range(len(EDITED_LEADS)))
@pytest.mark.parametrize("paragraphs", [len(COUNCIL_BODY), 2])
def test_an_update_that_edits_its_first_sentence_in_two_places_is_the_same_story(
    n: int, paragraphs: int
) -> None:
    """Two or three slots apart in the first sentence, each title naming an edited word
    ("arrested" / "charged", a corrected name and day, a house spelling), the rest of the
    story kept: an update, a correction, a copy in house style, whole or its first
    paragraphs; not two stories on one template."""
    (lead_a, title_a), (lead_b, title_b) = EDITED_LEADS[n]
    a = _titled([lead_a, *COUNCIL_BODY], title_a, 1)
    b = _titled([lead_b, *COUNCIL_BODY[:paragraphs]], title_b, 2)
    verdict = judge(a, b, DedupParams())
    assert verdict.method is not None, verdict.reason


def test_the_slots_are_the_same_either_way_round() -> None:
    """Template pairs judged in both orders get one verdict: which item was stored first
    changes nothing (an alignment breaks ties by position in its first sequence)."""
    names = ["Ashford", "Brampton Falls", "Dunmore", "Eastleigh", "Sunday", "Carlisle Bay"]
    leads = [
        (
            "{0} beat {1} at the {2} ground on Saturday, the league said in a statement.",
            "{0} beat {1} at {2}",
        ),
        (
            "Residents of {0} and {1} can expect fog on {2} morning, forecasters said today.",
            "Fog for {0} and {1} on {2}",
        ),
    ]
    body = ["Attendance across the weekend rose for the third week running, the league said."]
    differ = 0
    for lead, title in leads:
        # Each text fingerprinted once (as feed 1 and as feed 2), not once per pair.
        texts = {
            x: (
                _titled([lead.format(*x), *body], title.format(*x), 1),
                _titled([lead.format(*x), *body], title.format(*x), 2),
            )
            for x in itertools.permutations(names, 3)
        }
        for x, (a, _) in texts.items():
            for y, (_, b) in texts.items():
                if x >= y:
                    continue
                differ += judge(a, b, DedupParams()).method != judge(b, a, DedupParams()).method
                assert a.fingerprint is not None and b.fingerprint is not None
                words_a, words_b = a.fingerprint.lead_words, b.fingerprint.lead_words
                one, other = slot_words(words_a, words_b), slot_words(words_b, words_a)
                assert (one is None) == (other is None)
                if one is not None and other is not None:
                    assert [(x_.tolist(), y_.tolist()) for x_, y_ in one] == [
                        (y_.tolist(), x_.tolist()) for x_, y_ in other
                    ]
    assert differ == 0


def test_two_sides_that_swap_places_in_a_result_are_two_stories() -> None:
    """ "Ashford beat Brampton" and "Brampton beat Ashford": the same words in another
    order, one span of the sentence (the old one-slot reading), two matches of a tie."""
    body = [
        "Attendance across the weekend rose for the third week running, the league said.",
        "Tickets for the next round go on sale on Monday at the club offices.",
    ]
    a = _titled(
        ["Ashford beat Brampton 2-1 at home on Saturday, the league said.", *body],
        "Ashford beat Brampton 2-1",
        1,
    )
    b = _titled(
        ["Brampton beat Ashford 3-0 at home on Saturday, the league said.", *body],
        "Brampton beat Ashford 3-0",
        2,
    )
    verdict = judge(a, b, DedupParams())
    assert verdict.method is None and verdict.reason.startswith("template:"), verdict.reason


@pytest.mark.parametrize("n", range(6))
def test_traffic_alerts_two_slots_apart_with_stock_lines_are_two_stories(n: int) -> None:
    """Two alerts of one feed: the cause and the road in their slots, numbers aside, and
    the feed's stock lines after: they share their last sentences as templates do, but
    not the most of their text that an update keeps."""
    causes = ["Crash", "Fuel spill", "Roadworks", "Broken-down lorry", "Flooding", "Fire"]
    roads = ["the M62", "Route 9", "the B4236", "the A38", "the ring road", "Route 17"]
    rng = random.Random(n)

    def alert(cause: str, road: str) -> tuple[list[str], str]:
        return (
            [
                f"{cause} has closed northbound lanes on {road} near junction "
                f"{rng.randint(2, 30)}, traffic officials said at {rng.randint(1, 11)}:"
                f"{rng.randint(10, 59)} p.m.",
                f"Delays of up to {rng.randint(10, 90)} minutes are expected. Drivers are "
                "advised to use local roads.",
            ],
            f"{cause} closes northbound lanes on {road}",
        )

    (a, title_a), (b, title_b) = alert(causes[n], roads[n]), alert(causes[n - 1], roads[n - 2])
    verdict = judge(_titled(a, title_a, 1), _titled(b, title_b, 1), DedupParams())
    assert verdict.method is None, verdict.reason


@pytest.mark.parametrize("n", range(10))
def test_a_lead_that_opens_with_its_title_is_story_text(n: int) -> None:
    """Filings whose first paragraph repeats the title word for word, then the company's
    description every filing shares: the first paragraph is the story (the fund, what it
    did), not a line that names the title (a footer, dropped), else two funds' filings are
    one text, with a byline before it too.  A heading that only repeats the title still
    goes."""
    rng = random.Random(n)
    first, second = rng.sample(NAMES, 2)
    company = fund_story(random.Random(500 + n), COMPANIES[n % len(COMPANIES)])[1:]

    def filing(fund: str) -> tuple[list[str], str]:
        title = f"{fund} raises its stake in Acme Robotics Inc. (ACMR)"
        return [f"{title} by {rng.randint(2, 60)}% in the third quarter.", *company], title

    (a, title_a), (b, title_b) = filing(first), filing(second)
    verdict = judge(_titled(a, title_a, 1), _titled(b, title_b, 2), DedupParams())
    assert verdict.method is None, verdict.reason
    signed = judge(
        _titled(["By Jane Doe, Markets Desk", *a], title_a, 1),
        _titled(["By Sam Roe", *b], title_b, 2),
        DedupParams(),
    )
    assert signed.method is None, signed.reason  # a byline before it changes nothing
    headed = judge(_titled([title_a, *a], title_a, 1), _titled(a, title_a, 2), DedupParams())
    assert headed.method == "content-hash", headed.reason


@pytest.mark.parametrize("n", range(6))
def test_alerts_whose_slots_are_figures_are_two_stories_and_a_toll_update_one(n: int) -> None:
    """Two alerts of one template on one road, near two junctions: their first sentences
    differ only in figures, which their titles name, and their stock lines aside they share
    little; an update of a death toll under a new title keeps the rest of its story."""
    rng = random.Random(n)

    def alert(junction: int) -> tuple[list[str], str]:
        return (
            [
                f"A crash has closed northbound lanes on Route 9 near junction {junction}, "
                f"traffic officials said at {rng.randint(1, 11)}:{rng.randint(10, 59)} p.m.",
                f"Delays of up to {rng.randint(10, 90)} minutes are expected. Drivers are "
                "advised to use local roads.",
            ],
            f"Crash closes northbound lanes on Route 9 near junction {junction}",
        )

    (a, title_a), (b, title_b) = alert(2 + n), alert(20 + n)
    verdict = judge(_titled(a, title_a, 1), _titled(b, title_b, 1), DedupParams())
    assert verdict.method is None, verdict.reason
    assert verdict.reason.startswith("template:"), verdict.reason
    before, after = 10 + n, 14 + 2 * n
    story = [
        "At least {} people were killed when floods swept through Hollin on Sunday, "
        "officials said.",
        *COUNCIL_BODY,
    ]
    toll = judge(
        _titled([story[0].format(before), *story[1:]], f"Floods kill {before} in Hollin", 1),
        _titled([story[0].format(after), *story[1:]], f"Floods kill {after} in Hollin", 2),
        DedupParams(),
    )
    assert toll.method is not None, toll.reason


@pytest.mark.parametrize("n", range(10))
def test_two_long_texts_of_one_size_compare_the_same_either_way_round(n: int) -> None:
    """Compared on the 1-in-4 sample, containment is counted on the shorter text's sample:
    two texts of the same size (words swapped for others) must not take the first argument
    for the shorter, or the verdict would depend on which item was stored first."""
    rng = random.Random(n)
    text = " ".join(story(7700 + n, paragraphs=12)).split()
    edited = list(text)
    for at in rng.sample(range(len(text)), 40):
        edited[at] = f"w{rng.randrange(10**6)}"
    a, b = _titled([" ".join(text)], "A story", 1), _titled([" ".join(edited)], "A story", 2)
    assert a.fingerprint is not None and b.fingerprint is not None
    if a.fingerprint.size != b.fingerprint.size:
        pytest.skip("the edit changed the size")  # rare: a repeated shingle made or lost
    one, other = compare(a.fingerprint, b.fingerprint), compare(b.fingerprint, a.fingerprint)
    assert a.fingerprint.sampled and one.containment == other.containment
    assert judge(a, b, DedupParams()).method == judge(b, a, DedupParams()).method


@pytest.mark.parametrize("n", range(6))
def test_a_caption_before_a_lead_that_opens_with_its_title_changes_nothing(n: int) -> None:
    """Two copies of one story whose first paragraph repeats its title, one with a photo
    caption before it: the lead is story text in both, so they stay one story."""
    body = COUNCIL_BODY[: 2 + n]
    title = "Hollin council approves a road repair levy"
    lead = f"{title} after a late vote on Tuesday, with two members against."
    plain = _titled([lead, *body], title, 1)
    captioned = _titled(
        [
            "Councillors debate the levy in the chamber on Tuesday. Photo: Jane Doe / Agency",
            lead,
            *body,
        ],
        title,
        2,
    )
    verdict = judge(plain, captioned, DedupParams())
    assert verdict.method is not None, verdict.reason


@pytest.mark.parametrize("n", range(10))
def test_alerts_at_times_on_either_side_of_noon_are_two_stories(n: int) -> None:
    """Two alerts of one template near two junctions, one in the morning ("2:16 a.m.",
    "9 am") and one in the afternoon: the meridiem belongs to the time's figure, so their
    first sentences still differ only in figures; the same alert updated with a later time
    in its first sentence stays one story."""
    rng = random.Random(700 + n)
    morning, afternoon = (("a.m.", "p.m."), ("am", "pm"))[n % 2]

    def alert(junction: int, hour: int, meridiem: str) -> tuple[list[str], str]:
        clock = f"{hour}:{rng.randint(10, 59)}" if n % 3 else str(hour)
        return (
            [
                f"A fuel spill has closed southbound lanes on Highway 401 near junction "
                f"{junction}, traffic officials said at {clock} {meridiem}",
                f"Delays of up to {rng.randint(10, 90)} minutes are expected. Drivers are "
                "advised to use local roads.",
            ],
            f"Fuel spill closes southbound lanes on Highway 401 near junction {junction}",
        )

    (a, title_a), (b, title_b) = alert(2 + n, 2 + n % 9, morning), alert(20 + n, 4, afternoon)
    verdict = judge(_titled(a, title_a, 1), _titled(b, title_b, 1), DedupParams())
    assert verdict.method is None and verdict.reason.startswith("template:"), verdict.reason
    later = [a[0].replace(morning, afternoon), *a[1:]]
    update = judge(_titled(a, title_a, 1), _titled(later, title_a, 2), DedupParams())
    assert update.method is not None, update.reason
