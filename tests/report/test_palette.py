"""One palette: the terminal, the HTML badges and the SVG drawings agree on colours."""

from __future__ import annotations

import re

import pytest

from runner.engine.outcome import JobOutcome
from runner.report.palette import FILL, TERMINAL_STYLE, badge_css, css_class
from runner.report.wording import outcome_word


@pytest.mark.parametrize("outcome", [*JobOutcome, None], ids=lambda o: outcome_word(o))
def test_every_outcome_has_one_fill_and_its_badge_wears_it(outcome: JobOutcome | None) -> None:
    rules = dict(re.findall(r"\.(o-[a-z-]+)\{background:(#[0-9a-f]{6})\}", badge_css()))
    assert rules[css_class(outcome)] == FILL[outcome]


@pytest.mark.parametrize("outcome", [o for o in JobOutcome if o.is_final], ids=str)
def test_every_final_outcome_has_a_terminal_style(outcome: JobOutcome) -> None:
    assert TERMINAL_STYLE[outcome_word(outcome)]


def test_badge_classes_are_the_words_shown() -> None:
    assert css_class(JobOutcome.TIMED_OUT) == "o-timed-out"
    assert css_class(None) == "o-unfinished"
