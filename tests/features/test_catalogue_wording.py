"""secondlook.features.catalogue: every reason sentence reads as English -- number agreement at
1 and 2, and every referral concern and source in words, never its code."""

from __future__ import annotations

import re

import pytest

from secondlook.features.catalogue import CATALOGUE, CONCERN_WORDS, SOURCE_WORDS, reason_text
from secondlook.schema import CONCERNS, SOURCES

COUNTED = [s.name for s in CATALOGUE if s.unit in ("count", "months", "days")]
#: plural words that must not follow a count of 1 (before the window, "in the last N months")
PLURALS = {
    "referrals",
    "enquiries",
    "siblings",
    "adults",
    "were",
    "months",
    "days",
    "reports",
    "incidents",
    "contacts",
    "attendances",
    "injuries",
    "appointments",
    "concerns",
}
#: category words that do not read on their own after "for", "about" or "from"
BARE = {"sexual", "emotional", "other", "self family", "health visitor", "adult services"}


def _all_sentences() -> list[tuple[str, float, str]]:
    out = []
    for s in CATALOGUE:
        values = (0, 1) if s.unit == "yes/no" else (0, 1, 2, 7)
        out += [(s.name, v, reason_text(s.name, v)) for v in values]
    return out


@pytest.mark.parametrize(("name", "value", "text"), _all_sentences())
def test_no_code_or_template_syntax_is_left_in_a_sentence(
    name: str, value: float, text: str
) -> None:
    assert "_" not in text, text  # a snake_case code
    assert not re.search(r"[\[\]{}|]", text), text  # template syntax
    for code in BARE:
        for before in ("for", "about", "from", "is"):
            assert not re.search(rf"\b{before} {code}\b(?! abuse)", text), text


@pytest.mark.parametrize("name", COUNTED)
def test_a_count_of_one_is_singular_and_two_plural(name: str) -> None:
    one, two = reason_text(name, 1), reason_text(name, 2)
    assert one != two.replace("2", "1"), f"{name} does not agree in number: {one!r}"
    head = one.split(" in the last ")[0]
    assert not PLURALS & set(head.split()), f"{name} at 1: {one!r}"
    assert re.search(r"\b1\b", one) and re.search(r"\b2\b", two)


def test_the_trial_sentences_now_read() -> None:
    assert reason_text("adults_present", 1) == "1 adult was living in the household"
    assert reason_text("adults_present", 3) == "3 adults were living in the household"
    assert reason_text("sibling_referrals_36m_sexual", 1) == (
        "1 referral about a sibling for sexual abuse in the last 36 months"
    )
    assert reason_text("source_self_family", 1) == (
        "the referral came from the child or the family themselves"
    )
    assert reason_text("source_health_visitor", 1) == "the referral came from a health visitor"
    assert reason_text("prior_s47", 1) == "1 earlier child protection enquiry about this child"


@pytest.mark.parametrize("concern", CONCERNS)
def test_every_concern_is_worded(concern: str) -> None:
    words = CONCERN_WORDS[concern]
    for name, value in (
        (f"referrals_36m_{concern}", 1),
        (f"referrals_36m_{concern}", 2),
        (f"sibling_referrals_36m_{concern}", 1),
        (f"sibling_referrals_36m_{concern}", 0),
        (f"concern_{concern}", 1),
        (f"concern_{concern}", 0),
    ):
        assert words in reason_text(name, value)


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_is_worded(source: str) -> None:
    assert reason_text(f"source_{source}", 1) == f"the referral came from {SOURCE_WORDS[source]}"
    assert reason_text(f"source_{source}", 0) == (
        f"the referral did not come from {SOURCE_WORDS[source]}"
    )
