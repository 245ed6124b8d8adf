"""actions.focus: the hedge comes from what is asked, not from words the page doesn't use."""

from __future__ import annotations

import pytest

from actions.focus import beyond_page


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("how much do they earn", "pay"),
        ("what band is an AP", "pay bands"),
        ("do they work nights or weekends", "hours"),
        ("can i do it part time", "hours"),
        ("how long does the apprenticeship take", "how long it takes"),
        ("am I too old at 52", "age limits"),
        ("are there jobs near leeds", "locations"),
        ("is the course free", "costs"),
        ("is the work stressful", "the conditions of the job"),
        ("where can I find a job near me", "locations"),
        ("what would I earn while I train", "pay"),
        ("how much would she earn while keeping her job", "pay"),
    ],
)
def test_a_question_about_what_the_page_never_states(text: str, subject: str) -> None:
    assert beyond_page(text) == subject


@pytest.mark.parametrize(
    "text",
    [
        "would i have to lift ppl on and off the beds",
        "do they do the x ray films or is that sum1 else",
        "can i study part-time to become a radiographer",
        "is there an nvq that gets you to radiographer",
        "do I need 4 GCSEs",
        "how do i become one",
        "where can I find out more about that?",
        "can I earn while I learn?",
        "could she keep her job while she studies? she can't afford to stop earning",
        "is there a way to earn while you train?",
        "the accreditation, which areas of work is it for?",
    ],
)
def test_a_question_the_page_answers_is_not_hedged(text: str) -> None:
    assert beyond_page(text) is None
