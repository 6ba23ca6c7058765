#!/usr/bin/env python3
"""A second, independent labelled corpus of near-duplicates "in the wild".

    python bench/wild_corpus.py --out DIR [--seed N] [--items 1500]

Writes ``DIR/feeds/*`` (RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents of seven site
networks) and ``DIR/truth.json`` in the layout ``bench/hard_quality.py`` scores:
``{"items": [{"feed", "site", "guid", "link", "story", "kind", "source", "traits"}],
"gray_sources": [], "kinds": {KIND: what it is}}``.  Two items are the same story when
their ``story`` is equal.

It exists to check that the dedup rules were not fitted to the wording of
``bench/hard_corpus.py``: its prose comes from its own phrase grammar, its template
families, interjected lines, footers and markup noise are written separately, and its
networks mix the cases in other proportions.  One seed gives the same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path

KINDS = {
    "origin": "a story as its first site publishes it",
    "copy": "the story on another site (other footer, title suffix or casing, sponsor line)",
    "category": "the same item (guid, link, text) repeated in the site's category feed",
    "republish": "the story republished later on the same site under a new guid",
    "update": "an 'UPDATE:' line on top and one paragraph rewritten; same story",
    "teaser": "10-30 words of the story's lead, maybe after a dateline or byline",
    "interrupted": "a copy with bylines, 'Updated' stamps, READ MORE, ads, captions in it",
    "partial": "the first paragraphs and a 'read the full story' or 'appeared first' line",
    "markup": "a copy whose HTML splits words (spans, links, drop caps, entities, &shy;)",
    "template": "an auto-generated story of a template family: a different story per slot",
    "template-copy": "a template story on a sister site: the same story",
    "digest": "a briefing of the leads of five stories: a story of its own",
    "followup": "a new story quoting background paragraphs of an older one",
    "querylink": "a blog post whose link differs from others only in the query string",
    "tracked": "a blog post repeated with utm_* tracking parameters: the same story",
}

# ---------------------------------------------------------------------------- prose

FIRST = [
    "Amara",
    "Bettina",
    "Casimir",
    "Delphine",
    "Emeka",
    "Farida",
    "Gideon",
    "Halvard",
    "Ines",
    "Jovan",
    "Kalani",
    "Leocadia",
    "Marisol",
    "Nnamdi",
    "Orla",
    "Pieter",
    "Quinlan",
    "Rosalind",
    "Soren",
    "Tamsin",
    "Ulrich",
    "Valentina",
    "Wendell",
    "Ximena",
    "Yusuf",
    "Zofia",
    "Anselm",
    "Brigida",
    "Cormac",
    "Dagny",
    "Esmond",
    "Fenella",
    "Gaspard",
    "Hyacinth",
    "Isidore",
    "Juniper",
    "Kasimir",
    "Lucinda",
    "Mateus",
    "Noor",
    "Octavia",
    "Percival",
    "Rhiannon",
    "Severin",
    "Thora",
    "Umberto",
    "Vivienne",
    "Wilhelmina",
    "Yannick",
    "Zeno",
    "Aurelio",
    "Beatrix",
    "Cosima",
    "Dmitri",
    "Eulalia",
    "Florian",
    "Gwendolyn",
]
LAST = [
    "Okonkwo",
    "Haverford",
    "Lindqvist",
    "Mbeki",
    "Castellano",
    "Whitlock",
    "Oyelaran",
    "Brandvold",
    "Quarshie",
    "Pemberton",
    "Szymanski",
    "Achterberg",
    "Delacroix",
    "Fairweather",
    "Gallardo",
    "Holloway",
    "Ishikawa",
    "Jablonski",
    "Kettering",
    "Lowenthal",
    "Marchetti",
    "Nakashima",
    "Ormsby",
    "Pradhan",
    "Renwick",
    "Sandoval",
    "Thistlewood",
    "Umeh",
    "Vanterpool",
    "Westerhout",
    "Yardley",
    "Zielinski",
    "Abernathy",
    "Bellweather",
    "Coutinho",
    "Dunmore",
    "Eriksen",
    "Falconer",
    "Grimaldi",
    "Hargreave",
    "Ignatowski",
    "Joubert",
    "Kowalczyk",
    "Lachance",
    "Mwangi",
    "Northcott",
    "Ostrowski",
    "Petrakis",
    "Ravensworth",
    "Strathmore",
    "Tremblay",
    "Underhill",
    "Voskuijlen",
]
TOWNS = [
    "Ashcombe",
    "Brindlewood",
    "Carrowmore",
    "Dunstable",
    "Elmbridge",
    "Fallowfield",
    "Glenhaven",
    "Harrowgate",
    "Ivybridge",
    "Juniper_Falls",
    "Kestrel_Bay",
    "Larkspur",
    "Millbrook",
    "Northwick",
    "Oakhurst",
    "Pendleford",
    "Quarry_Hill",
    "Redmarsh",
    "Saltcote",
    "Thornbury",
    "Upton_Vale",
    "Wexcombe",
    "Yarrowby",
    "Amberley",
    "Bramblecote",
    "Cinderford",
    "Dovecote",
    "Eastwold",
    "Foxley",
    "Greywater",
    "Hollin_Cross",
    "Ironbridge",
    "Kingsmead",
    "Lowmoor",
    "Marrowdale",
    "Netherby",
    "Orchard_Park",
    "Pinecrest",
    "Rushden",
    "Stonehollow",
]
TOWNS = [t.replace("_", " ") for t in TOWNS]
CITIES = [
    "LISBON",
    "NAIROBI",
    "OSLO",
    "MONTREAL",
    "HANOI",
    "LIMA",
    "ADELAIDE",
    "KRAKOW",
    "TUNIS",
    "SEVILLE",
    "WINNIPEG",
    "GLASGOW",
    "ACCRA",
    "TALLINN",
    "BOGOTA",
    "PERTH",
    "ZAGREB",
    "DENVER",
    "CORK",
    "BERGEN",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Each topic: who acts, what it is about, and verbs and details only it uses, so that two
# stories of one topic share the grammar of news prose but not their sentences.
TOPICS: dict[str, dict[str, list[str]]] = {
    "council": {
        "body": ["the town council", "the county board", "the planning committee", "aldermen"],
        "thing": [
            "a revised budget for road resurfacing",
            "a ban on overnight parking downtown",
            "a rezoning plan for the old tannery site",
            "a property tax freeze for pensioners",
            "new rules for short-term holiday rentals",
            "a ten-year plan to replace lead water pipes",
        ],
        "verb": ["approved", "rejected", "deferred a vote on", "narrowly passed", "amended"],
        "detail": [
            "residents packed the chamber for more than three hours",
            "two members abstained after a heated exchange",
            "the measure had been opposed by a coalition of local shop owners",
            "officials said the cost had risen sharply since the spring",
            "an independent audit had flagged the project last year",
        ],
    },
    "court": {
        "body": ["a federal judge", "the appeals court", "a jury", "the district court"],
        "thing": [
            "a lawsuit over contaminated well water",
            "charges against a former school treasurer",
            "a challenge to the new district boundaries",
            "the sentencing of a man convicted of arson",
            "a dispute between two rival ferry operators",
            "a class action over unpaid overtime at a warehouse",
        ],
        "verb": ["dismissed", "upheld", "sent back", "ruled on", "delayed"],
        "detail": [
            "lawyers for the defence said they would appeal",
            "prosecutors had sought a longer sentence",
            "the case had dragged on for almost four years",
            "the ruling runs to more than eighty pages",
            "several witnesses changed their accounts under cross-examination",
        ],
    },
    "health": {
        "body": ["the regional hospital trust", "health officials", "the clinic", "nurses"],
        "thing": [
            "the closure of a maternity ward",
            "a measles outbreak at two primary schools",
            "longer waiting times for hip operations",
            "a shortage of paediatric antibiotics",
            "a pilot scheme for evening GP appointments",
            "a new cancer screening van for rural villages",
        ],
        "verb": ["announced", "warned about", "launched", "paused", "expanded"],
        "detail": [
            "staff shortages were blamed for much of the backlog",
            "patients were advised to check their vaccination records",
            "the union said morale had never been lower",
            "the scheme will be reviewed after six months",
            "families described waiting for hours in corridors",
        ],
    },
    "business": {
        "body": ["the company", "the manufacturer", "the retailer", "the cooperative"],
        "thing": [
            "plans to close its packaging plant",
            "a takeover offer from a rival group",
            "three hundred new jobs at its distribution hub",
            "a recall of electric kettles sold since March",
            "a move of its headquarters across the river",
            "a four-day working week for office staff",
        ],
        "verb": ["confirmed", "unveiled", "scrapped", "defended", "postponed"],
        "detail": [
            "shares fell in early trading after the announcement",
            "the chief executive said the decision was painful but necessary",
            "suppliers were told in a letter on Friday",
            "analysts had expected the move for several months",
            "the site has operated since the nineteen-sixties",
        ],
    },
    "science": {
        "body": ["researchers", "a team of astronomers", "marine biologists", "geologists"],
        "thing": [
            "a previously unknown species of cave beetle",
            "evidence of an ancient lake beneath the plateau",
            "a faint signal from a distant dwarf galaxy",
            "unusual warming in the deep waters of the fjord",
            "a fossil footprint trail on the shoreline",
            "a faster way to recycle lithium from old batteries",
        ],
        "verb": ["described", "reported", "identified", "mapped", "measured"],
        "detail": [
            "the findings were published in a peer-reviewed journal",
            "other scientists cautioned that the sample was small",
            "the work took nearly a decade of fieldwork",
            "funding came from a European research grant",
            "the team plans to return next summer with better equipment",
        ],
    },
    "transport": {
        "body": ["the rail operator", "transit officials", "the port authority", "drivers"],
        "thing": [
            "a strike that halted bus services",
            "repairs to the swing bridge over the canal",
            "a new timetable for commuter trains",
            "fare increases on the harbour ferry",
            "the reopening of the tunnel after flooding",
            "a plan to add cycle lanes on the ring road",
        ],
        "verb": ["announced", "called off", "brought forward", "criticised", "completed"],
        "detail": [
            "commuters faced long delays during the morning rush",
            "engineers found corrosion in several steel girders",
            "the union said talks had broken down",
            "the work is expected to last until the autumn",
            "passenger groups welcomed the change but wanted more",
        ],
    },
    "environment": {
        "body": ["firefighters", "the environment agency", "conservation volunteers", "farmers"],
        "thing": [
            "a wildfire on the moorland above the village",
            "a fish kill in the lower reaches of the river",
            "the return of beavers to the wetland reserve",
            "drought restrictions on garden hoses",
            "a landslip that closed the coastal path",
            "illegal dumping of tyres in the forest",
        ],
        "verb": ["tackled", "investigated", "reported", "imposed", "cleared"],
        "detail": [
            "smoke could be seen from more than twenty miles away",
            "samples were sent to a laboratory for testing",
            "the area had been dry for six weeks",
            "walkers were asked to keep dogs on leads",
            "officials said a full assessment could take weeks",
        ],
    },
    "education": {
        "body": ["the school board", "the university", "teachers", "the academy trust"],
        "thing": [
            "the merger of two village primary schools",
            "a cut in funding for music lessons",
            "a new campus for engineering students",
            "free breakfast clubs for every pupil",
            "changes to the admissions lottery",
            "a ban on mobile phones during lessons",
        ],
        "verb": ["voted for", "proposed", "abandoned", "consulted on", "backed"],
        "detail": [
            "parents started a petition that gathered thousands of signatures",
            "the head teacher wrote to families on Monday evening",
            "enrolment has fallen by a fifth in five years",
            "the plan still needs approval from the state",
            "students staged a walkout in protest",
        ],
    },
    "culture": {
        "body": ["the festival organisers", "the museum", "the orchestra", "the theatre"],
        "thing": [
            "a record crowd at the lantern parade",
            "the return of a stolen medieval manuscript",
            "a new director for the summer season",
            "the restoration of a painted ceiling",
            "a free open-air concert in the park",
            "an exhibition of wartime photographs",
        ],
        "verb": ["celebrated", "unveiled", "announced", "opened", "hosted"],
        "detail": [
            "tickets sold out within an hour",
            "volunteers worked through the night to finish the stage",
            "the collection had been in storage for decades",
            "critics praised the ambitious programme",
            "local businesses reported their busiest weekend of the year",
        ],
    },
    "police": {
        "body": ["police", "detectives", "the coastguard", "investigators"],
        "thing": [
            "a burglary at a jewellery shop on the high street",
            "the disappearance of a hiker on the ridge",
            "a spate of catalytic converter thefts",
            "a collision between a lorry and a tractor",
            "counterfeit banknotes found at the market",
            "an arson attack on a sports pavilion",
        ],
        "verb": ["appealed for witnesses to", "arrested two men over", "are investigating"],
        "detail": [
            "officers asked anyone with dashcam footage to come forward",
            "a cordon remained in place for most of the day",
            "the suspects were released on bail pending further inquiries",
            "neighbours reported hearing a loud bang shortly after midnight",
            "a search team with dogs was called in",
        ],
    },
}

OPENERS = [
    "On {day},",
    "Late on {day},",
    "After months of debate,",
    "In a surprise move,",
    "Earlier this week,",
    "Following a review,",
    "For the first time in {n} years,",
    "Despite objections,",
]
SAY = ["said", "told reporters", "added", "said in a statement", "wrote in an email", "noted"]
ROLES = [
    "a spokeswoman for",
    "a spokesman for",
    "the chair of",
    "a senior adviser at",
    "the director of",
    "a long-serving member of",
    "the treasurer of",
    "a researcher at",
]
ORG_HEADS = [
    "Northern",
    "Southern",
    "Eastern",
    "Western",
    "Upper",
    "Lower",
    "Greater",
    "Old",
    "New",
    "Central",
]
ORG_TAILS = [
    "Residents' Association",
    "Chamber of Commerce",
    "Civic Trust",
    "Water Board",
    "Tenants' Union",
    "Heritage Society",
    "Growers' Cooperative",
    "Transport Users' Forum",
    "Teachers' Federation",
    "Small Business Network",
]
QUOTE_BITS = [
    "we have listened carefully to everyone who wrote to us",
    "this is not the outcome anybody wanted",
    "people deserve straight answers and they deserve them now",
    "the numbers simply do not add up",
    "we will keep pushing until the job is finished",
    "nobody should have to wait that long",
    "it is a small step but an important one",
    "frankly the whole process has been a mess",
    "the community has shown remarkable patience",
    "we owe it to the next generation to get this right",
    "there are still a lot of questions to answer",
    "I have never seen anything quite like it",
]
AFTER = [
    "A further meeting is planned for {month}.",
    "A decision on the next phase is expected by the end of {month}.",
    "The full report will be made public in {month}.",
    "Officials said they would publish an update on {day}.",
    "Campaigners said they would continue to monitor the situation closely.",
    "It is not yet clear how much the changes will cost.",
]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def org(rng: random.Random, town: str) -> str:
    return rng.choice(
        [
            f"{town} {rng.choice(ORG_TAILS)}",
            f"{rng.choice(ORG_HEADS)} {town} {rng.choice(ORG_TAILS)}",
        ]
    )


@dataclass
class Story:
    sid: str
    title: str
    paras: list[str]
    town: str
    topic: str


class Prose:
    """News prose from a phrase grammar: each story draws its own people, place, numbers
    and details, so two stories share at most the glue words of the genre."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0

    def sid(self) -> str:
        self.count += 1
        return f"s{self.count:05d}"

    def fill(self, text: str) -> str:
        r = self.rng
        return text.format(day=r.choice(WEEKDAYS), n=r.randint(3, 40), month=r.choice(MONTHS))

    def story(self, topic: str | None = None) -> Story:
        r = self.rng
        topic = topic or r.choice(sorted(TOPICS))
        t = TOPICS[topic]
        town = r.choice(TOWNS)
        body = r.choice(t["body"])
        thing = r.choice(t["thing"])
        verb = r.choice(t["verb"])
        people = [person(r) for _ in range(3)]
        orgs = [org(r, town) for _ in range(2)]
        money = f"{r.randint(2, 95)}.{r.randint(1, 9)} million"
        count = r.randint(12, 4800)
        details = r.sample(t["detail"], 3)
        quotes = r.sample(QUOTE_BITS, 2)
        lead = (
            f"{self.fill(r.choice(OPENERS))} {body} in {town} {verb} {thing}, "
            f"{r.choice(['a decision that', 'a step that', 'news that'])} "
            f"{r.choice(['could affect', 'is likely to worry', 'was welcomed by', 'angered'])} "
            f"{r.choice(['hundreds of', 'thousands of', 'dozens of'])} "
            f"{r.choice(['residents', 'families', 'workers', 'commuters', 'households'])}."
        )
        lead = lead[0].upper() + lead[1:]
        paras = [
            lead,
            f"{details[0].capitalize()}, according to {people[0]}, "
            f"{r.choice(ROLES)} {orgs[0]}. The figure most often cited was {count:,}, "
            f"{r.choice(['up from', 'down from', 'compared with'])} "
            f"{int(count * r.uniform(0.4, 1.6)):,} "
            f"{r.choice(['last year', 'in 2019', 'a decade ago'])}.",
            f'"{quotes[0].capitalize()}," {people[0].split()[1]} '
            f"{r.choice(SAY)}. "
            f'"{quotes[1].capitalize()}."',
            f"The {r.choice(['plan', 'matter', 'issue', 'dispute', 'project'])} "
            f"{r.choice(['has cost', 'is expected to cost', 'could save'])} "
            f"about {money} {r.choice(['pounds', 'dollars', 'euros'])}, "
            f"and {details[1]}. {people[1]}, who lives on "
            f"{r.choice(['Mill Lane', 'Station Road', 'Quarry Street', 'Harbour Row'])}"
            f", said {r.choice(QUOTE_BITS)}.",
            f"{orgs[1]} {r.choice(['questioned', 'welcomed', 'criticised', 'asked about'])} "
            f"the timing. {details[2].capitalize()}. "
            f"{r.choice(['Its', 'The group’s'])} {r.choice(ROLES).split(' ', 2)[1]} "
            f"{people[2]} said the {r.choice(['consultation', 'process', 'review'])} "
            f"{r.choice(['had been rushed', 'was fair', 'left too many gaps', 'came too late'])}.",
            self.fill(r.choice(AFTER)),
        ]
        if r.random() < 0.5:  # a longer story: one more paragraph of background
            paras.insert(
                4,
                f"{town} last faced a similar {r.choice(['row', 'decision', 'crisis'])} in "
                f"{r.randint(1987, 2022)}, when {r.choice(t['detail'])}. "
                f"{person(r)} {r.choice(['recalled', 'remembered', 'said'])} that "
                f"{r.choice(QUOTE_BITS)}.",
            )
        title = f"{town}: {body.replace('the ', '', 1).capitalize()} {verb} {thing.split(',')[0]}"
        title = re.sub(r"\s+", " ", title)
        if r.random() < 0.3:
            title = f"{people[0]} on {thing.split(' ', 1)[1]}: '{r.choice(QUOTE_BITS)}'"
        return Story(self.sid(), title, paras, town, topic)

    def followup(self, old: Story) -> Story:
        """A new story on the same subject that quotes one or two background paragraphs
        of ``old`` verbatim, as follow-ups do."""
        r = self.rng
        fresh = self.story(old.topic)
        quoted = old.paras[1 : 1 + r.choice([1, 2])]
        paras = fresh.paras[:3] + [
            r.choice(["As we reported earlier:", "Background:", "Previously:"]) + " " + quoted[0],
            *quoted[1:],
            *fresh.paras[3:],
        ]
        title = (
            f"{old.town} {r.choice(['latest', 'row deepens', 'what happens next'])}: "
            + (fresh.title.split(": ", 1)[-1])
        )
        return Story(fresh.sid, title, paras, old.town, old.topic)


# ---------------------------------------------------------------------------- templates


def company(rng: random.Random) -> tuple[str, str, str, str]:
    """(name, exchange, ticker, what it does)."""
    a = rng.choice(
        [
            "Arclight",
            "Bluefen",
            "Corvane",
            "Dunmoor",
            "Everline",
            "Fernmark",
            "Granitex",
            "Halcyra",
            "Ionport",
            "Jetstow",
            "Kelvara",
            "Lumora",
            "Mistral",
            "Norvance",
            "Ordwell",
            "Pelliquin",
            "Quillion",
            "Rovanta",
            "Sablewood",
            "Tervane",
            "Umbrix",
            "Veridane",
            "Wolfram",
            "Xentrix",
            "Yarrowline",
            "Zephyrine",
        ]
    )
    b = rng.choice(
        [
            "Holdings",
            "Inc.",
            "Group",
            "Therapeutics",
            "Systems",
            "Logistics",
            "Energy",
            "Bancorp",
            "Semiconductor",
            "Foods",
        ]
    )
    tick = (a[:2] + b[0] + rng.choice("AEIKLMNRSTX")).upper()
    what = rng.choice(
        [
            "designs and sells power-management chips for data centres and vehicles",
            "operates a network of regional grocery stores and a wholesale business",
            "develops antibody treatments for rare autoimmune diseases",
            "provides cold-chain trucking and warehousing across North America",
            "owns and operates wind and solar farms under long-term contracts",
            "is the holding company for a community bank with forty branches",
            "makes industrial valves, pumps and flow-control equipment",
            "sells subscription software for dental and veterinary practices",
        ]
    )
    return f"{a} {b}", rng.choice(["NYSE", "NASDAQ"]), tick, what


def fund(rng: random.Random) -> str:
    return (
        f"{rng.choice(LAST)} {rng.choice(['Capital', 'Wealth', 'Asset', 'Advisory'])} "
        f"{rng.choice(['Management LLC', 'Partners LP', 'Group Inc.', 'Advisors LLC'])}"
    )


def money(rng: random.Random, lo: float, hi: float) -> str:
    return f"{rng.uniform(lo, hi):,.2f}"


def tpl_fund(rng: random.Random, variant: int) -> tuple[str, list[str]]:
    name, exch, tick, what = company(rng)
    f = fund(rng)
    up = rng.random() < 0.6
    q = rng.choice(["first", "second", "third", "fourth"])
    pct = f"{rng.uniform(0.5, 240):.1f}"
    shares = rng.randint(1200, 900000)
    price = rng.uniform(8, 420)
    if variant == 0:
        title = f"{f} {'Increases' if up else 'Trims'} Holdings in {name} ({exch}:{tick})"
        paras = [
            f"{f} {'increased' if up else 'trimmed'} its holdings in {name} ({exch}:{tick}) by "
            f"{pct}% during the {q} quarter, according to its latest 13F filing with the "
            f"Securities and Exchange Commission. The firm owned {shares:,} shares of the "
            f"company's stock after {'buying' if up else 'selling'} "
            f"{rng.randint(100, 50000):,} shares in the quarter. Its stake was valued at "
            f"${shares * price:,.0f} at the end of the period.",
            f"A number of other hedge funds and institutional investors have also adjusted "
            f"their positions in {tick}. {fund(rng)} acquired a new stake in {name} in the "
            f"{rng.choice(['first', 'second', 'third'])} quarter worth about "
            f"${rng.randint(20, 900)},000. {fund(rng)} lifted its position by "
            f"{rng.uniform(1, 80):.1f}% in the same period. Institutional investors own "
            f"{rng.uniform(30, 95):.2f}% of the company's shares.",
            f"{name} Price Performance",
            f"{tick} opened at ${price:.2f} on {rng.choice(WEEKDAYS)}. The business has a "
            f"50-day moving average of ${price * rng.uniform(0.9, 1.1):.2f} and a 200-day "
            f"moving average of ${price * rng.uniform(0.8, 1.2):.2f}. The stock has a market "
            f"capitalization of ${rng.uniform(0.3, 90):.2f} billion, a price-to-earnings "
            f"ratio of {rng.uniform(5, 60):.2f} and a beta of {rng.uniform(0.3, 2.1):.2f}.",
            "Wall Street Analysts Weigh In",
            f"{rng.choice(LAST)} Securities {rng.choice(['raised', 'cut'])} its price target "
            f"on {name} from ${money(rng, 10, 400)} to ${money(rng, 10, 400)} in a research "
            f"note on {rng.choice(WEEKDAYS)}. The stock currently has a consensus rating of "
            f'"{rng.choice(["Moderate Buy", "Hold", "Buy"])}" and an average price target '
            f"of ${money(rng, 10, 450)}.",
            f"About {name}",
            f"{name} {what}.",
        ]
    else:
        title = f"{name} ({tick}) Stake {'Raised' if up else 'Lowered'} by {f}"
        paras = [
            f"{f} {'raised' if up else 'lowered'} its position in shares of {name} "
            f"({exch}:{tick}) by {pct}% in the {q} quarter, the firm disclosed in a "
            f"regulatory filing. After the trade, {f} held {shares:,} shares worth "
            f"${shares * price:,.0f}.",
            f"Other large investors have also bought and sold shares of the stock. "
            f"{fund(rng)} boosted its stake by {rng.uniform(1, 60):.1f}%, while "
            f"{fund(rng)} opened a new position valued at ${rng.randint(15, 700)},000.",
            f"Shares of {name} traded at ${price:.2f} at midday on {rng.choice(WEEKDAYS)}. "
            f"Over the past twelve months the stock has ranged from a low of "
            f"${price * rng.uniform(0.5, 0.9):.2f} to a high of "
            f"${price * rng.uniform(1.05, 1.6):.2f}. The company has a debt-to-equity ratio "
            f"of {rng.uniform(0, 2):.2f} and a current ratio of {rng.uniform(0.5, 4):.2f}.",
            f"The company last posted quarterly earnings of ${rng.uniform(-1, 5):.2f} per "
            f"share, {rng.choice(['beating', 'missing'])} the consensus estimate by "
            f"${rng.uniform(0.01, 0.5):.2f}. Revenue for the quarter was "
            f"${rng.uniform(20, 9000):.1f} million.",
            f"Company Profile: {name} {what}.",
        ]
    return title, paras


def tpl_mover(rng: random.Random, variant: int) -> tuple[str, list[str]]:
    name, exch, tick, what = company(rng)
    up = rng.random() < 0.5
    pct = f"{rng.uniform(1.5, 14):.1f}"
    price = rng.uniform(3, 300)
    title = f"{name} ({exch}:{tick}) Shares {'Gap Up' if up else 'Gap Down'} {pct}% - Here's Why"
    paras = [
        f"Shares of {name} ({exch}:{tick}) {'gapped up' if up else 'gapped down'} before the "
        f"market opened on {rng.choice(WEEKDAYS)}. The stock had previously closed at "
        f"${price:.2f}, but opened at ${price * (1 + (1 if up else -1) * float(pct) / 100):.2f}. "
        f"About {rng.randint(10000, 3000000):,} shares of the company changed hands during "
        f"mid-day trading, {rng.choice(['up', 'down'])} "
        f"{rng.randint(5, 90)}% from the average session volume.",
        f"The company's fifty day moving average price is ${price * rng.uniform(0.85, 1.15):.2f} "
        f"and its two-hundred day moving average price is "
        f"${price * rng.uniform(0.7, 1.3):.2f}. The firm has a market cap of "
        f"${rng.uniform(0.1, 40):.2f} billion.",
        "Analysts Set New Price Targets",
        f"Several equities analysts have recently commented on {tick}. {rng.choice(LAST)} "
        f'Brothers reiterated a "{rng.choice(["buy", "neutral", "sell"])}" rating on shares '
        f"of {name} in a report on {rng.choice(WEEKDAYS)}.",
        f"About {name}: {name} {what}.",
    ]
    if variant:
        paras.reverse()
        paras = paras[-1:] + paras[:-1]
    return title, paras


def tpl_earnings(rng: random.Random, variant: int) -> tuple[str, list[str]]:
    name, exch, tick, what = company(rng)
    day = rng.choice(WEEKDAYS[:5])
    eps = rng.uniform(-0.5, 4)
    title = f"{name} ({exch}:{tick}) Projected to Post Quarterly Earnings on {day}"
    paras = [
        f"{name} ({exch}:{tick}) is projected to release its quarterly earnings data "
        f"{rng.choice(['before the market opens', 'after the market closes'])} on {day}. "
        f"Analysts expect the company to announce earnings of ${eps:.2f} per share and "
        f"revenue of ${rng.uniform(15, 5000):.1f} million for the quarter.",
        f"In its previous quarter, {name} reported ${eps * rng.uniform(0.7, 1.3):.2f} earnings "
        f"per share, {rng.choice(['topping', 'missing'])} analysts' consensus estimates by "
        f"${rng.uniform(0.01, 0.4):.2f}. The business's revenue was "
        f"{rng.choice(['up', 'down'])} {rng.uniform(0.5, 30):.1f}% compared to the same "
        f"quarter last year.",
        f"{name} stock opened at ${rng.uniform(5, 350):.2f} on {rng.choice(WEEKDAYS)}. "
        f"The company has a quick ratio of {rng.uniform(0.3, 3):.2f} and a market "
        f"capitalization of ${rng.uniform(0.2, 60):.2f} billion.",
        f"{name} {what}.",
    ]
    return title, paras


TEAMS = [
    "Harbour_Rovers",
    "Millbrook_United",
    "Redmarsh_Athletic",
    "Saltcote_Town",
    "Ironbridge_Wanderers",
    "Kestrel_Bay_FC",
    "Larkspur_City",
    "Northwick_Albion",
    "Pinecrest_Rangers",
    "Glenhaven_Celtic",
    "Stonehollow_Swifts",
    "Thornbury_Park",
    "Eastwold_Vale",
    "Foxley_Borough",
]
TEAMS = [t.replace("_", " ") for t in TEAMS]


def tpl_score(rng: random.Random, variant: int) -> tuple[str, list[str]]:
    a, b = rng.sample(TEAMS, 2)
    x, y = rng.randint(1, 5), rng.randint(0, 3)
    if x == y:
        x += 1
    scorers = [person(rng) for _ in range(x + y)]
    minutes = sorted(rng.sample(range(3, 90), x + y))
    goals = ", ".join(f"{s.split()[1]} ({m}')" for s, m in zip(scorers, minutes, strict=True))
    crowd = rng.randint(800, 24000)
    if variant == 0:
        title = f"{a} beat {b} {x}-{y}"
        paras = [
            f"{a} beat {b} {x}-{y} on {rng.choice(WEEKDAYS)} in front of {crowd:,} fans.",
            f"Goals: {goals}.",
            f"{a} move up to {rng.randint(1, 12)}th in the table with {rng.randint(10, 60)} "
            f"points, while {b} stay on {rng.randint(5, 55)} points.",
            f"{a} play their next match away from home on {rng.choice(WEEKDAYS)}. {b} host "
            f"{rng.choice(TEAMS)} a week later.",
            "This report was generated automatically from official match data.",
        ]
    else:
        title = f"Match report: {a} {x}, {b} {y}"
        paras = [
            f"Final score: {a} {x}, {b} {y}. The {rng.choice(['league', 'cup'])} match was "
            f"played at {a.split()[0]} Stadium with an attendance of {crowd:,}.",
            f"Scoring summary: {goals}.",
            f"{b} had {rng.randint(30, 70)}% of possession and {rng.randint(2, 20)} shots, "
            f"{rng.randint(0, 9)} of them on target. {a} were shown "
            f"{rng.randint(0, 5)} yellow cards.",
            "Data and report provided by ScoreFeed automated services.",
        ]
    return title, paras


CONDITIONS = {
    "fog": "dense morning fog lifting to hazy sunshine by the afternoon",
    "rain": "periods of rain, heavy at times, with a risk of localised flooding",
    "sunny": "plenty of sunshine and light winds",
    "showers": "scattered showers and bright spells",
    "snow": "light snow showers, mainly on higher ground",
    "wind": "strong gusty winds and passing cloud",
}
ZONES = [TOWNS[i : i + 4] for i in range(0, 40, 4)]


def weather_slots(rng: random.Random) -> dict[str, str]:
    cond = rng.choice(sorted(CONDITIONS))
    hi = rng.randint(4, 29)
    return {
        "cond": cond,
        "day": rng.choice(WEEKDAYS),
        "hi": str(hi),
        "lo": str(hi - rng.randint(3, 11)),
        "wind": f"{rng.choice(['north', 'south-west', 'east'])} at {rng.randint(3, 30)} mph",
        "rain": str(rng.randint(0, 95)),
        "uv": str(rng.randint(1, 8)),
    }


def tpl_weather(town: str, s: dict[str, str], variant: int) -> tuple[str, list[str]]:
    if variant == 0:
        title = f"{town} forecast for {s['day']}: {s['cond']}"
        paras = [
            f"{town} can expect {CONDITIONS[s['cond']]} on {s['day']}, with a high of "
            f"{s['hi']}°C and an overnight low of {s['lo']}°C.",
            f"Winds will blow from the {s['wind']}. The chance of rain is {s['rain']}% and "
            f"the UV index will peak at {s['uv']}.",
            "Forecasts are updated every six hours using data from the national weather service.",
        ]
    else:
        title = f"{s['day']} weather in {town}: {s['cond'].capitalize()}, high {s['hi']}"
        paras = [
            f"Weather for {town}, {s['day']}: {CONDITIONS[s['cond']]}. High {s['hi']}, "
            f"low {s['lo']}. Wind {s['wind']}. Precipitation chance {s['rain']}%.",
            "This automated forecast is produced for every community we cover.",
        ]
    return title, paras


def tpl_obituary(rng: random.Random, variant: int) -> tuple[str, list[str]]:
    name = person(rng)
    age = rng.randint(54, 101)
    town, born = rng.sample(TOWNS, 2)
    job = rng.choice(
        [
            "a postal worker",
            "a nurse",
            "a machinist",
            "a schoolteacher",
            "a farmer",
            "an accountant",
            "a bus driver",
            "a pharmacist",
        ]
    )
    title = f"{name}, {age}, of {town}"
    paras = [
        f"{name}, {age}, of {town}, passed away peacefully on {rng.choice(WEEKDAYS)}, "
        f"{rng.choice(MONTHS)} {rng.randint(1, 28)}, surrounded by family.",
        f"Born in {born}, {name.split()[0]} worked for {rng.randint(12, 45)} years as {job} "
        f"and was a devoted member of the {rng.choice(TOWNS)} "
        f"{rng.choice(['bowling club', 'choir', 'allotment society', 'fire brigade'])}.",
        f"{name.split()[0]} is survived by {rng.randint(1, 5)} children, "
        f"{rng.randint(0, 14)} grandchildren and a sister, {person(rng)}.",
        f"Visitation will be held at {rng.choice(LAST)} Funeral Home on "
        f"{rng.choice(WEEKDAYS)} from {rng.randint(2, 5)} to {rng.randint(6, 8)} p.m. "
        "In lieu of flowers, donations may be made to the local hospice.",
    ]
    if variant:
        paras.append("Online condolences may be left on the funeral home's website.")
    return title, paras


def tpl_house(rng: random.Random, variant: int) -> tuple[str, list[str]]:
    town = rng.choice(TOWNS)
    street = rng.choice(["Road", "Lane", "Avenue", "Court"])
    addr = f"{rng.randint(1, 980)} {rng.choice(LAST)} {street}"
    price = rng.randint(140, 1900) * 1000
    beds = rng.randint(1, 6)
    sqft = rng.randint(600, 4200)
    title = f"Home at {addr} in {town} sells for ${price:,}"
    paras = [
        f"A {beds}-bedroom home at {addr} in {town} has a new owner. The "
        f"{sqft:,}-square-foot house sold on {rng.choice(MONTHS)} {rng.randint(1, 28)} for "
        f"${price:,}, or ${price // sqft:,} per square foot.",
        f"The property was built in {rng.randint(1905, 2021)} and sits on a "
        f"{rng.uniform(0.05, 2):.2f}-acre lot. It has {rng.randint(1, 4)} bathrooms"
        f"{rng.choice([' and a two-car garage', ', a deck and a fireplace', ''])}.",
        f"Other homes in {town} sold recently: a {rng.randint(1, 5)}-bedroom house on "
        f"{rng.choice(LAST)} Street went for ${rng.randint(120, 1500) * 1000:,}.",
        "Sales data come from public county property records.",
    ]
    return title, paras


def tpl_traffic(rng: random.Random, variant: int) -> tuple[str, list[str]]:
    road = rng.choice(["the A38", "Route 9", "the M62", "Highway 401", "the B4236", "I-84"])
    where = f"junction {rng.randint(2, 40)}"
    what = rng.choice(["Crash", "Broken-down lorry", "Fuel spill", "Roadworks", "Fallen tree"])
    way = rng.choice(["northbound", "southbound", "eastbound", "westbound"])
    title = f"{what} closes {way} lanes on {road} near {where}"
    paras = [
        f"{what} has closed {way} lanes on {road} near {where}, traffic officials said at "
        f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(['a.m.', 'p.m.'])}.",
        f"Delays of up to {rng.randint(10, 90)} minutes are expected. Drivers are advised to "
        f"use {rng.choice(['the bypass', 'local roads', 'alternative routes'])}.",
        "This alert will be updated as more information becomes available.",
    ]
    return title, paras


TEMPLATES = {
    "fund": tpl_fund,
    "mover": tpl_mover,
    "earnings": tpl_earnings,
    "score": tpl_score,
    "obituary": tpl_obituary,
    "house": tpl_house,
    "traffic": tpl_traffic,
}

# ---------------------------------------------------------------------------- feeds


@dataclass
class Entry:
    guid: str
    link: str
    title: str
    html: str
    when: datetime
    story: str
    kind: str
    traits: list[str] = field(default_factory=list)
    summary: str | None = None
    author: str | None = None


@dataclass
class Feed:
    name: str
    site: str
    home: str
    fmt: str  # rss, atom, json
    entries: list[Entry] = field(default_factory=list)
    escape_twice: bool = False
    """Descriptions escaped twice and no full content (a broken CMS export)."""


def paras_html(paras: list[str]) -> str:
    return "".join(f"<p>{escape(p, quote=False)}</p>\n" for p in paras)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def words_lead(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n])


# ---------------------------------------------------------------------------- noise


def noisy(text: str, rng: random.Random) -> str:
    """``text`` as a careless CMS writes it: escaped HTML with words split by inline
    elements and invisible characters (one paragraph's worth)."""
    out = []
    for w in text.split(" "):
        e = escape(w, quote=False)
        roll = rng.random()
        if roll < 0.03 and len(w) > 5:
            cut = rng.randint(2, len(w) - 2)
            e = f'<a href="/tag/{slug(w)}">{escape(w[:cut])}</a>{escape(w[cut:])}'
        elif roll < 0.06 and len(w) > 5:
            cut = rng.randint(2, len(w) - 2)
            e = f'{escape(w[:cut])}<span class="hl">{escape(w[cut:])}</span>'
        elif roll < 0.10 and len(w) > 6:
            cut = rng.randint(3, len(w) - 3)
            e = f"{escape(w[:cut])}&shy;{escape(w[cut:])}"
        elif roll < 0.12 and len(w) > 4:
            e = f"{escape(w[:2])}&#8203;{escape(w[2:])}"
        elif roll < 0.16:
            e = f"<em>{e}</em>" if rng.random() < 0.5 else f"<strong>{e}</strong>"
        e = e.replace("'", rng.choice(["&rsquo;", "&#8217;", "’"])).replace(
            "’", rng.choice(["&rsquo;", "&#8217;", "’"])
        )
        out.append(e)
    joined = ""
    for i, e in enumerate(out):
        if i:
            joined += "&nbsp;" if rng.random() < 0.08 else " "
        joined += e
    return joined


def noisy_html(paras: list[str], rng: random.Random) -> str:
    parts = []
    for i, p in enumerate(paras):
        body = noisy(p, rng)
        if i == 0 and len(p) > 1 and p[0].isalpha():
            # A drop cap: the first letter in its own element, glued to the rest.
            body = f'<span class="dropcap">{p[0]}</span>{noisy(p[1:], rng)}'
        parts.append(f'<p class="{rng.choice(["body", "txt", "p1"])}">{body}</p>')
    return "\n".join(parts)


# ---------------------------------------------------------------------------- builder


class Builder:
    def __init__(self, seed: int, items: int, base: datetime) -> None:
        self.rng = random.Random(seed)
        self.prose = Prose(self.rng)
        self.scale = items / 1500
        self.base = base
        self.feeds: dict[str, Feed] = {}
        self.post = 1000
        self.stories: dict[str, Story] = {}

    def n(self, count: float) -> int:
        return max(1, round(count * self.scale))

    def feed(self, name: str, site: str, fmt: str, escape_twice: bool = False) -> Feed:
        host = slug(site).replace("-", "") + self.rng.choice([".com", ".net", ".co.uk", ".org"])
        f = Feed(name, site, f"https://{host}/", fmt, escape_twice=escape_twice)
        self.feeds[name] = f
        return f

    def when(self, after: datetime | None = None) -> datetime:
        if after is not None:
            return after + timedelta(minutes=self.rng.randint(20, 60 * 30))
        return self.base + timedelta(minutes=self.rng.randint(0, 60 * 24 * 4))

    def add(
        self,
        feed: Feed,
        story: str,
        kind: str,
        title: str,
        html: str,
        *,
        when: datetime | None = None,
        traits: list[str] | None = None,
        link_style: str = "path",
        summary: str | None = None,
        author: str | None = None,
    ) -> Entry:
        self.post += self.rng.randint(1, 7)
        if link_style == "p":
            link = f"{feed.home}?p={self.post}"
        elif link_style == "id":
            link = f"{feed.home}article.php?id={self.post}"
        elif link_style == "view":
            link = f"{feed.home}view.php?id={self.post}&amp;section=news".replace("&amp;", "&")
        else:
            link = f"{feed.home}{(when or self.base):%Y/%m/%d}/{slug(title)}-{self.post}"
        guid = link if self.rng.random() < 0.5 else f"{feed.home}?guid={self.post}"
        if link_style in ("p", "id", "view"):
            guid = link
        e = Entry(
            guid,
            link,
            title,
            html,
            when or self.when(),
            story,
            kind,
            traits or [],
            summary,
            author,
        )
        feed.entries.append(e)
        return e

    def repeat(self, feed: Feed, e: Entry, kind: str, **changes: str) -> Entry:
        """The same item in another feed (a category feed): guid, link and text kept."""
        copy = Entry(
            changes.get("guid", e.guid),
            changes.get("link", e.link),
            e.title,
            e.html,
            e.when,
            e.story,
            kind,
            [*e.traits, f"repeats-{e.kind}"],
            e.summary,
            e.author,
        )
        feed.entries.append(copy)
        return copy

    # ---- text variants of one story

    def footer(self, site: str) -> str:
        r = self.rng
        return r.choice(
            [
                f"<p><em>© {self.base.year} {site}. All rights reserved.</em></p>",
                f"<p>Follow {site} on social media for the latest local news.</p>",
                f'<div class="sponsor">This story is supported by {r.choice(LAST)} '
                f"{r.choice(['Bank', 'Motors', 'Insurance', 'Solicitors'])}.</div>",
                f"<p>Got a news tip? Email the {site} newsroom.</p>",
                f"<p>Copyright {self.base.year} {site}. Distributed by "
                f"{r.choice(['NewsBridge', 'PressLink', 'Syndigate'])}.</p>",
            ]
        )

    def copy_title(self, title: str, site: str) -> str:
        r = self.rng
        roll = r.random()
        if roll < 0.3:
            return f"{title} | {site}"
        if roll < 0.45:
            return f"{title} - {site}"
        if roll < 0.6:
            return title.title()
        if roll < 0.7:
            return title.upper()
        return title

    def interjections(self, paras: list[str], others: list[str]) -> tuple[list[str], list[str]]:
        """``paras`` with lines a newsroom CMS puts before and between paragraphs; the
        returned traits name them."""
        r = self.rng
        out = list(paras)
        traits = []
        top: list[str] = []
        if r.random() < 0.6:
            top.append(
                f"By {person(r)}, "
                f"{r.choice(['Staff Writer', 'Local Democracy Reporter', 'Correspondent'])}"
            )
            traits.append("byline")
        if r.random() < 0.5:
            top.append(
                f"{r.choice(['Updated', 'Last updated', 'Published'])} "
                f"{r.randint(1, 12)}:{r.randint(0, 59):02d} {r.choice(['a.m.', 'p.m.'])} "
                f"{r.choice(['GMT', 'BST', 'ET'])} {r.choice(WEEKDAYS)}"
            )
            traits.append("stamp")
        lines: list[Callable[[], str]] = [
            lambda: f"READ MORE: {r.choice(others)}",
            lambda: f"Related: {r.choice(others)}",
            lambda: "Advertisement",
            lambda: "Story continues below advertisement",
            lambda: (
                "Sign up to our free morning newsletter and get the day's top stories "
                "straight to your inbox. We will never share your email address."
            ),
            lambda: (
                f"{r.choice(['Volunteers', 'Residents', 'Officials', 'Crews'])} "
                f"{r.choice(['gather outside the hall', 'inspect the site', 'wait for news'])} "
                f"on {r.choice(WEEKDAYS)}. (Photo: {person(r)}/"
                f"{r.choice(['Reuters', 'AFP', 'Getty Images', 'PA Wire', 'AP'])})"
            ),
        ]
        for _ in range(r.randint(2, 4)):
            pos = r.randint(1, len(out))
            pick = r.randrange(len(lines))
            out.insert(pos, lines[pick]())
            traits.append(
                ["readmore", "related", "advert", "advert", "newsletter", "caption"][pick]
            )
        return top + out, sorted(set(traits))

    def update_of(self, story: Story) -> tuple[str, list[str]]:
        r = self.rng
        paras = list(story.paras)
        i = r.randrange(1, len(paras))
        paras[i] = (
            f"{r.choice(['Later', 'In a new statement', 'By evening'])}, "
            f"{person(r)} {r.choice(SAY)} that {r.choice(QUOTE_BITS)}, and "
            f"{r.choice(TOPICS[story.topic]['detail'])}."
        )
        top = r.choice(
            [
                "UPDATE: This story has been updated with "
                f"{r.choice(['new comments', 'a response from officials', 'the latest figures'])}.",
                f"UPDATE {r.randint(1, 11)}:{r.randint(0, 59):02d} p.m.: "
                f"{r.choice(['Adds reaction', 'Corrects the date', 'Adds details'])}.",
                "Update: an earlier version of this article misstated a figure.",
            ]
        )
        title = r.choice([f"UPDATED: {story.title}", story.title, f"{story.title} (update)"])
        return title, [top, *paras]

    def teaser(self, story: Story, dateline: str | None) -> str:
        r = self.rng
        n = r.randint(10, 30)
        text = " ".join(story.paras[:2])
        if dateline and text.startswith(dateline):
            text = text[len(dateline) :]
        lead = words_lead(text, n)
        if not lead.endswith("."):
            lead += r.choice(["…", "...", " [...]", ""])
        pre = ""
        if dateline and r.random() < 0.5:
            pre = dateline
        elif r.random() < 0.3:
            pre = f"By {person(r)} — "
        return pre + lead

    # ---- networks

    def build(self) -> None:
        others: list[str] = []  # titles for READ MORE lines
        for _ in range(60):
            others.append(self.prose.story().title)
        self.regional(others)
        self.wire()
        self.markets()
        self.sports()
        self.local()
        self.blogs()
        self.national()

    def origin(
        self, feed: Feed, story: Story, traits: list[str] | None = None, author: str | None = None
    ) -> Entry:
        html = paras_html(story.paras) + self.footer(feed.site)
        self.stories[story.sid] = story
        return self.add(feed, story.sid, "origin", story.title, html, traits=traits, author=author)

    def regional(self, others: list[str]) -> None:
        r = self.rng
        sites = [
            self.feed("tidewater-gazette.xml", "Tidewater Gazette", "rss"),
            self.feed("inland-herald.atom", "Inland Herald", "atom"),
            self.feed("bayside-post.json", "Bayside Post", "json"),
        ]
        cats = {
            0: self.feed("tidewater-gazette-politics.xml", "Tidewater Gazette Politics", "rss"),
            2: self.feed("bayside-post-local.xml", "Bayside Post Local", "rss"),
        }
        for _ in range(self.n(170)):
            home = r.randrange(3)
            story = self.prose.story()
            feed = sites[home]
            if home == 2:  # Bayside's CMS interjects on its own stories too
                paras, traits = self.interjections(story.paras, others)
                self.stories[story.sid] = story
                e = self.add(
                    feed,
                    story.sid,
                    "origin",
                    story.title,
                    paras_html(paras) + self.footer(feed.site),
                    traits=["interjected", *traits],
                )
            else:
                e = self.origin(feed, story)
            if home in cats and r.random() < 0.45:
                self.repeat(cats[home], e, "category")
            for other in range(3):
                if other == home or r.random() > (0.45 if other == 2 else 0.3):
                    continue
                target = sites[other]
                when = self.when(e.when)
                if other == 2:
                    paras, traits = self.interjections(story.paras, others)
                    c = self.add(
                        target,
                        story.sid,
                        "interrupted",
                        story.title,
                        paras_html(paras) + self.footer(target.site),
                        when=when,
                        traits=traits,
                    )
                else:
                    c = self.add(
                        target,
                        story.sid,
                        "copy",
                        self.copy_title(story.title, target.site),
                        paras_html(story.paras) + self.footer(target.site),
                        when=when,
                    )
                if other in cats and r.random() < 0.3:
                    self.repeat(cats[other], c, "category")
            roll = r.random()
            if roll < 0.2:
                title, paras = self.update_of(story)
                u = self.add(
                    feed,
                    story.sid,
                    "update",
                    title,
                    paras_html(paras) + self.footer(feed.site),
                    when=self.when(e.when),
                )
                if home in cats and r.random() < 0.5:
                    self.repeat(cats[home], u, "category")
            elif roll < 0.26:
                # Republished unchanged later (a "bumped" story): a new guid, same link.
                self.add(
                    feed,
                    story.sid,
                    "republish",
                    story.title,
                    e.html,
                    when=self.when(e.when),
                    traits=["same-link"],
                ).link = e.link
            elif roll < 0.34:
                f = self.prose.followup(story)
                self.stories[f.sid] = f
                self.add(
                    feed,
                    f.sid,
                    "followup",
                    f.title,
                    paras_html(f.paras) + self.footer(feed.site),
                    when=self.when(e.when),
                    traits=[f"quotes:{story.sid}"],
                )

    def wire(self) -> None:
        r = self.rng
        wire = self.feed("meridian-wire.atom", "Meridian Newswire", "atom")
        lake = self.feed("lakeshore-daily.xml", "Lakeshore Daily", "rss")
        summit = self.feed("summit-journal.xml", "Summit Journal", "rss")
        heads = self.feed("meridian-headlines.json", "Meridian Headlines", "json")
        press = self.feed("pressbox-online.xml", "Pressbox Online", "rss")
        brief = self.feed("morning-briefing.xml", "The Morning Briefing", "rss")
        quick = self.feed("quick-reads.atom", "Quick Reads", "atom")
        leads: list[tuple[Story, Entry, str]] = []
        for _ in range(self.n(140)):
            story = self.prose.story()
            city = r.choice(CITIES)
            dateline = r.choice(
                [
                    f"{city} (Meridian) — ",
                    f"{city}, {r.choice(MONTHS)} {r.randint(1, 28)} (Meridian) - ",
                ]
            )
            paras = [dateline + story.paras[0], *story.paras[1:]]
            story.paras = paras
            e = self.origin(wire, story, traits=["dateline"], author=person(r))
            leads.append((story, e, dateline))
            if r.random() < 0.45:
                strip = r.random() < 0.4
                body = [paras[0][len(dateline) :], *paras[1:]] if strip else paras
                self.add(
                    lake,
                    story.sid,
                    "copy",
                    self.copy_title(story.title, lake.site),
                    paras_html(body) + self.footer(lake.site),
                    when=self.when(e.when),
                    traits=["dateline-stripped" if strip else "dateline"],
                )
            if r.random() < 0.35:
                k = r.choice([2, 3])
                end = r.choice(
                    [
                        f'<p>Read the full story at <a href="{e.link}">Meridian Newswire</a>.</p>',
                        "<p><em>This is an excerpt. The full article was published by "
                        "Meridian Newswire.</em></p>",
                        f'<p>The post <a href="{e.link}">{escape(story.title)}</a> appeared '
                        f"first on Meridian Newswire.</p>",
                        f"<p>Continue reading: {escape(story.title)} »</p>",
                    ]
                )
                self.add(
                    summit,
                    story.sid,
                    "partial",
                    story.title,
                    paras_html(paras[:k]) + end,
                    when=self.when(e.when),
                    traits=[f"paras-{k}"],
                )
            if r.random() < 0.35:
                text = self.teaser(story, dateline)
                self.add(
                    heads,
                    story.sid,
                    "teaser",
                    story.title,
                    f"<p>{escape(text)}</p>",
                    when=self.when(e.when),
                    summary=text,
                )
            if r.random() < 0.35:
                self.add(
                    press,
                    story.sid,
                    "markup",
                    story.title,
                    noisy_html(paras, r) + self.footer(press.site),
                    when=self.when(e.when),
                )
        # A briefing a day: the leads of five stories, each with its link; a teaser of the
        # first story in the quick-reads feed (the same story as that lead, not the digest).
        for day in range(self.n(8)):
            picks = r.sample(leads, 5)
            sid = self.prose.sid()
            intro = r.choice(
                [
                    "Good morning. Here is what you need to know today.",
                    "Your five-minute catch-up on the stories that matter.",
                    "Start your day with the headlines from across the region.",
                ]
            )
            html = f"<p>{intro}</p>\n"
            for st, en, dl in picks:
                lead = st.paras[0][len(dl) :] if r.random() < 0.7 else st.paras[0]
                html += (
                    f'<h3><a href="{en.link}">{escape(st.title)}</a></h3>\n'
                    f'<p>{escape(lead)} <a href="{en.link}">More</a></p>\n'
                )
            html += "<p>That's all for this morning. See you tomorrow.</p>"
            d = self.add(
                brief,
                sid,
                "digest",
                f"Morning Briefing: {picks[0][0].title.split(':')[0]} and more",
                html,
                when=self.base + timedelta(days=day % 5, hours=6),
            )
            first, fe, fdl = picks[0]
            text = self.teaser(first, fdl)
            self.add(
                quick,
                first.sid,
                "teaser",
                first.title,
                f"<p>{escape(text)}</p>",
                when=d.when + timedelta(minutes=5),
                traits=["digest-lead"],
            )
        for st, en, dl in r.sample(leads, self.n(20)):
            text = self.teaser(st, dl)
            self.add(
                quick, st.sid, "teaser", st.title, f"<p>{escape(text)}</p>", when=self.when(en.when)
            )

    def template_family(
        self,
        kinds: list[str],
        home: Feed,
        sister: Feed | None,
        cat: Feed | None,
        count: int,
        link_style: str,
        variant: int,
        copy_rate: float,
    ) -> None:
        r = self.rng
        for _ in range(count):
            name = r.choice(kinds)
            title, paras = TEMPLATES[name](r, variant)
            sid = self.prose.sid()
            html = paras_html(paras) + self.footer(home.site)
            summary = paras[0] if r.random() < 0.7 else None
            e = self.add(
                home,
                sid,
                "template",
                title,
                html,
                traits=[f"family:{name}"],
                link_style=link_style,
                summary=summary,
            )
            if cat is not None and r.random() < 0.3:
                self.repeat(cat, e, "category")
            if sister is not None and r.random() < copy_rate:
                self.add(
                    sister,
                    sid,
                    "template-copy",
                    self.copy_title(title, sister.site),
                    paras_html(paras) + self.footer(sister.site),
                    when=self.when(e.when),
                    traits=[f"family:{name}"],
                    summary=summary,
                )

    def markets(self) -> None:
        trail = self.feed("tickertrail.xml", "TickerTrail", "rss")
        pulse = self.feed("equitypulse.atom", "EquityPulse", "atom")
        funds = self.feed("tickertrail-funds.xml", "TickerTrail Funds", "rss")
        notes = self.feed("capital-notes.json", "Capital Notes", "json")
        self.template_family(
            ["fund", "fund", "mover"], trail, notes, funds, self.n(75), "p", 0, 0.2
        )
        self.template_family(["fund", "earnings"], pulse, notes, None, self.n(50), "id", 1, 0.15)

    def sports(self) -> None:
        line = self.feed("scoreline.xml", "Scoreline", "rss")
        day = self.feed("matchday-wire.json", "Matchday Wire", "json")
        fans = self.feed("fanzone.atom", "Fanzone", "atom")
        self.template_family(["score"], line, fans, None, self.n(45), "path", 0, 0.25)
        self.template_family(["score"], day, fans, None, self.n(30), "path", 1, 0.25)

    def local(self) -> None:
        r = self.rng
        now = self.feed("county-now.xml", "County Now", "rss")
        north = self.feed("county-now-north.xml", "County Now North", "rss")
        # Forecasts: every town of a zone gets its zone's forecast, only the town differs.
        for zone in r.sample(ZONES, min(len(ZONES), self.n(6))):
            for _ in range(2):
                s = weather_slots(r)
                for town in zone:
                    title, paras = tpl_weather(town, s, 0)
                    sid = self.prose.sid()
                    e = self.add(
                        now,
                        sid,
                        "template",
                        title,
                        paras_html(paras),
                        traits=["family:weather"],
                    )
                    if r.random() < 0.25:
                        self.add(
                            north,
                            sid,
                            "template-copy",
                            self.copy_title(title, north.site),
                            paras_html(paras) + self.footer(north.site),
                            when=self.when(e.when),
                            traits=["family:weather"],
                        )
        self.template_family(
            ["obituary", "house", "traffic"], now, north, None, self.n(50), "path", 0, 0.2
        )
        for _ in range(self.n(35)):
            story = self.prose.story()
            e = self.origin(now, story)
            if r.random() < 0.3:
                self.add(
                    north,
                    story.sid,
                    "copy",
                    self.copy_title(story.title, north.site),
                    paras_html(story.paras) + self.footer(north.site),
                    when=self.when(e.when),
                )

    def blogs(self) -> None:
        r = self.rng
        hub = self.feed("hobbyhub.xml", "HobbyHub", "rss")
        gadget = self.feed("gadget-notes.xml", "Gadget Notes", "rss", escape_twice=True)
        letter = self.feed("hobbyhub-newsletter.atom", "HobbyHub Newsletter", "atom")
        for feed, style in ((hub, "p"), (gadget, "view")):
            past: list[Story] = []
            for i in range(self.n(45)):
                if past and r.random() < 0.15:
                    old = r.choice(past)
                    story = self.prose.followup(old)
                    kind, traits = "followup", [f"quotes:{old.sid}", "querylink"]
                else:
                    story = self.prose.story()
                    kind, traits = "querylink", []
                    if r.random() < 0.3:
                        # A numbered series: titles that differ only in the number.
                        story.title = f"Weekly notes #{i + 10}: {story.town}"
                self.stories[story.sid] = story
                past.append(story)
                e = self.add(
                    feed,
                    story.sid,
                    kind,
                    story.title,
                    paras_html(story.paras) + self.footer(feed.site),
                    link_style=style,
                    traits=traits,
                )
                if feed is hub and r.random() < 0.2:
                    link = e.link + r.choice(
                        [
                            "&utm_source=newsletter&utm_medium=email",
                            "&utm_source=rss&utm_medium=rss&utm_campaign=weekly",
                        ]
                    )
                    self.repeat(
                        letter, e, "tracked", guid=f"urn:hobbyhub:mail:{self.post}-{i}", link=link
                    )

    def national(self) -> None:
        r = self.rng
        a = self.feed("civic-ledger.xml", "Civic Ledger", "rss")
        b = self.feed("daily-current.atom", "The Daily Current", "atom")
        for _ in range(self.n(90)):
            story = self.prose.story()
            src, dst = (a, b) if r.random() < 0.5 else (b, a)
            e = self.origin(src, story)
            if r.random() < 0.5:
                sponsor = r.random() < 0.3
                pre = (
                    f"<p><strong>Sponsored by {r.choice(LAST)} Realty</strong></p>"
                    if sponsor
                    else ""
                )
                self.add(
                    dst,
                    story.sid,
                    "copy",
                    self.copy_title(story.title, dst.site),
                    pre + paras_html(story.paras) + self.footer(dst.site),
                    when=self.when(e.when),
                    traits=["sponsor"] if sponsor else [],
                )


# ---------------------------------------------------------------------------- writers


def description(e: Entry) -> str:
    if e.summary is not None:
        return e.summary
    text = re.sub(r"<[^>]+>", " ", e.html)
    return " ".join(text.split()[:45]) + " …"


def write_rss(f: Feed) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">',
        f"<channel><title>{escape(f.site)}</title><link>{f.home}</link>"
        f"<description>{escape(f.site)}</description>",
    ]
    for e in f.entries:
        permalink = "true" if e.guid == e.link else "false"
        out.append("<item>")
        out.append(f"<title>{escape(e.title)}</title><link>{escape(e.link)}</link>")
        out.append(f'<guid isPermaLink="{permalink}">{escape(e.guid)}</guid>')
        out.append(f"<pubDate>{format_datetime(e.when)}</pubDate>")
        if e.author:
            out.append(f"<dc:creator>{escape(e.author)}</dc:creator>")
        if f.escape_twice:
            out.append(f"<description>{escape(escape(e.html))}</description>")
        else:
            out.append(f"<description>{escape(description(e))}</description>")
            out.append(f"<content:encoded><![CDATA[{e.html}]]></content:encoded>")
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out) + "\n"


def iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_atom(f: Feed) -> str:
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f'<title>{escape(f.site)}</title><link href="{f.home}"/><id>{f.home}</id>',
        f"<updated>{iso(max(e.when for e in f.entries))}</updated>",
    ]
    for e in f.entries:
        out.append("<entry>")
        out.append(f"<title>{escape(e.title)}</title>")
        out.append(f'<link rel="alternate" href="{escape(e.link, quote=True)}"/>')
        out.append(f"<id>{escape(e.guid)}</id>")
        out.append(f"<published>{iso(e.when)}</published><updated>{iso(e.when)}</updated>")
        if e.author:
            out.append(f"<author><name>{escape(e.author)}</name></author>")
        if e.summary is not None:
            out.append(f"<summary>{escape(e.summary)}</summary>")
        out.append(f'<content type="html">{escape(e.html)}</content>')
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out) + "\n"


def write_json(f: Feed) -> str:
    items = []
    for e in f.entries:
        item: dict[str, object] = {
            "id": e.guid,
            "url": e.link,
            "title": e.title,
            "date_published": iso(e.when),
            "content_html": e.html,
        }
        if e.summary is not None:
            item["summary"] = e.summary
        if e.author:
            item["authors"] = [{"name": e.author}]
        items.append(item)
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": f.site,
        "home_page_url": f.home,
        "items": items,
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


WRITERS = {"rss": write_rss, "atom": write_atom, "json": write_json}


def make_wild_corpus(out: Path, seed: int, items: int = 1500) -> dict[str, object]:
    b = Builder(seed, items, datetime(2026, 3, 2, 6, 0, tzinfo=UTC))
    b.build()
    (out / "feeds").mkdir(parents=True, exist_ok=True)
    rows = []
    for f in b.feeds.values():
        f.entries.sort(key=lambda e: e.when, reverse=True)
        (out / "feeds" / f.name).write_text(WRITERS[f.fmt](f), encoding="utf-8")
        for e in f.entries:
            rows.append(
                {
                    "feed": f.name,
                    "site": f.site,
                    "guid": e.guid,
                    "link": e.link,
                    "story": e.story,
                    "kind": e.kind,
                    "source": e.story,
                    "traits": e.traits,
                }
            )
    truth: dict[str, object] = {"items": rows, "gray_sources": [], "kinds": KINDS}
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--items", type=int, default=1500)
    args = parser.parse_args(argv)
    truth = make_wild_corpus(args.out, args.seed, args.items)
    rows = truth["items"]
    assert isinstance(rows, list)
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(f"{len(rows)} items, {len({r['story'] for r in rows})} stories")
    for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:14} {count:5} {100 * count / len(rows):5.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
