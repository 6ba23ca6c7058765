"""The published-content cleaner and the title-affix learner, on HTML and titles as feeds
write them, with a boilerplate model that learned from real evidence."""

from __future__ import annotations

from aggregator.clean.boilerplate import BoilerplateModel, evidence, fold_text
from aggregator.clean.published import clean_published_html, repair_text
from aggregator.clean.text import html_to_blocks
from aggregator.clean.titles import TitleRow, learn_affixes
from tests.feeds import story

FOOTER_LINES = ["Follow the Example Network:", "The Example Times", "The Example Post"]


def _model() -> BoilerplateModel:
    """A model that saw the footer under three different stories of one feed."""
    model = BoilerplateModel()
    texts = ["\n".join([*story(seed), *FOOTER_LINES]) for seed in (1, 2, 3)]
    model.apply(1, model.observe(1, [evidence(fold_text(t)) for t in texts]), 1)
    return model


def _clean(fragment: str) -> str:
    return clean_published_html(fragment, _model().is_learned).html


def test_learned_footer_and_its_emptied_container_go() -> None:
    paragraphs = story(7, paragraphs=2)
    footer = '<div class="footer">' + "".join(f"<p>{x}</p>" for x in FOOTER_LINES) + "</div>"
    cleaned = _clean(f"<p>{paragraphs[0]}</p><p>{paragraphs[1]}</p>{footer}")
    assert cleaned.count("<p>") == 2 and "footer" not in cleaned and "Example" not in cleaned
    assert html_to_blocks(cleaned) == paragraphs


def test_br_separated_lines_leave_no_gap() -> None:
    a, b = story(8, paragraphs=2)
    cleaned = _clean(f"<div>{a}<br><br>Share this<br><br>{b}<br><br>The Example Post</div>")
    assert cleaned == f"<div>{a}<br><br>{b}</div>"


def test_when_in_doubt_the_text_stays() -> None:
    a, b = story(9, paragraphs=2)
    sentence = "Supported by a majority of the council, the budget passed after a long debate."
    plain = "Read more: the council's decision is expected on Friday, the mayor said."
    cleaned = _clean(f"<p>{a}</p><p>{sentence}</p><p>{plain}</p><p>{b}</p>")
    assert sentence in cleaned and "the council&#39;s decision" in cleaned.replace("'", "&#39;")
    # The same kind of sentence at the end is a sponsor line, and goes.
    assert "Supported by" not in _clean(f"<p>{a}</p><p>{b}</p><p>Supported by Acme Widgets.</p>")


def test_images_and_captions_stay_even_when_learned() -> None:
    (a,) = story(10, paragraphs=1)
    figure = (
        '<figure><img src="https://img.example/x.jpg" alt="">'
        "<figcaption>The Example Times</figcaption></figure>"
    )
    cleaned = _clean(f'<p>{a}</p>{figure}<p><img src="https://img.example/y.jpg"> Share this</p>')
    assert "x.jpg" in cleaned and "The Example Times" in cleaned and "y.jpg" in cleaned


def test_truncation_marker_goes_and_the_ellipsis_stays() -> None:
    (a,) = story(11, paragraphs=1)
    text = a.rstrip(".")
    assert _clean(f'<p>{text}\u2026 <a href="https://x.example/a">Read more</a></p>') == (
        f"<p>{text}\u2026</p>"
    )
    assert _clean(f"<p>{text} [\u2026]</p>") == f"<p>{text}\u2026</p>"
    assert _clean(f"<p>{text}... Continue reading</p>") == f"<p>{text}\u2026</p>"


def test_sanitised_and_repaired_but_attributes_untouched() -> None:
    cleaned = _clean(
        '<p onclick="x()">Prices rose to \u00c2\u00a35, the council\u2019s report says'
        '<script>alert(1)</script> <a href="javascript:alert(1)">here</a>'
        ' <a href="https://x.example/?q=\u00c2\u00a3">link</a></p>'
    )
    assert "onclick" not in cleaned and "script" not in cleaned and "javascript" not in cleaned
    assert "Prices rose to \u00a35, the council\u2019s" in cleaned
    assert "q=%C3%82%C2%A3" in cleaned or "q=\u00c2\u00a3" in cleaned
    assert repair_text("plain ascii") == "plain ascii"
    assert repair_text("na\u00efve caf\u00e9") == "na\u00efve caf\u00e9"  # not broken: as is


def _rows(feed_id: int, titles: list[str], cluster_base: int = 0) -> list[TitleRow]:
    return [TitleRow(feed_id, cluster_base + n, t) for n, t in enumerate(titles)]


def test_section_labels_and_site_names_are_learned_per_feed() -> None:
    stories = [f"Story number {n} about the harbour" for n in range(10)]
    rows = _rows(1, [f"COURIER: {t}" for t in stories] + ["COURIER:"])
    rows += _rows(2, [f"{t} | City Reader" for t in stories[:4]] + stories[4:], 100)
    affixes = learn_affixes(rows, {2: ["City Reader"]})
    assert affixes.strip(1, "COURIER: Council approves the budget") == "Council approves the budget"
    assert affixes.strip(1, "COURIER:") == "COURIER:"  # only a label: stays whole
    assert affixes.strip(1, "Morning Briefing") == "Morning Briefing"
    assert affixes.strip(2, "Council approves | City Reader") == "Council approves"
    # Another feed's label is not this feed's.
    assert affixes.strip(2, "COURIER: Council approves") == "COURIER: Council approves"


def test_a_suffix_only_copies_carry_is_proven_by_the_copies() -> None:
    own = [f"Own story {n} of the wire" for n in range(20)]
    copied = [f"Copied story {n} from elsewhere" for n in range(3)]
    rows = _rows(1, own) + [
        TitleRow(1, 500 + n, f"{t} - Riverside Metro Wire") for n, t in enumerate(copied)
    ]
    rows += [TitleRow(2, 500 + n, t) for n, t in enumerate(copied)]  # the origins
    affixes = learn_affixes(rows, {})
    assert affixes.strip(1, "New story - Riverside Metro Wire") == "New story"


def test_a_recurring_topic_is_not_a_label() -> None:
    # "Brexit: " starts a few titles, and the copies in other feeds carry it too.
    topics = [f"Brexit: vote number {n} is due" for n in range(4)]
    rows = _rows(1, topics + [f"Other story {n} today" for n in range(20)], 0)
    rows += [TitleRow(2, n, t) for n, t in enumerate(topics)]
    affixes = learn_affixes(rows, {})
    assert affixes.strip(1, "Brexit: what comes next") == "Brexit: what comes next"
