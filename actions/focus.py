"""What a question asks for that the NHS Careers page never states.

The page says what the roles do, what they need, how they train, progress and apply. It says
nothing about pay, hours, places, durations, ages, costs or the conditions of a job. A question
whose focus is one of these gets the honest "the page doesn't say" first; any other question,
however unfamiliar its words, gets the page's answer first and alone.
"""

from __future__ import annotations

import re

# (subject named in the reply, what asking for it looks like). Order matters: the first wins.
SUBJECTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (subject, re.compile(pattern, re.IGNORECASE))
    for subject, pattern in (
        ("pay bands", r"\bbands?\b|agenda for change"),
        (
            "pay",
            r"\bpay\b|\bpaid\b|salar|wage|\bearn|money|£|\bincome|how much (do|does|would|will|can)"
            r" (they|you|i|he|she|it|an?)\b(?! (need|learn|train|study))|pension|sick pay",
        ),
        (
            "hours",
            r"\bhours?\b|\bshifts?\b(?! (supervisor|lead))|\bnights?\b|weekends?|\brota\b|overtime|"
            r"on[- ]call|full[- ]time|9 ?(to|-) ?5|nine to five|\bholidays?\b|annual leave|"
            r"days? off|\b(work|working|job|post|contract)\b.{0,20}part[- ]time|"
            r"part[- ]time (work|job|hours|post)|do (it|this|the job|that) part[- ]time",
        ),
        (
            "how long it takes",
            r"how long|how many (years|months|weeks)|how quick|duration|take (me |her |him )?long|"
            r"\b(weeks|months|years) (does|will|would) it take",
        ),
        (
            "age limits",
            r"how old|\bage\b|too old|too young|\bminimum age|\bover (40|50|60)|\bunder 18|"
            r"at (my|his|her) age",
        ),
        (
            "locations",
            r"\bwhere (is|are|can|do|would|could)|\bnear\b|nearest|\blocal to\b|"
            r"\bwhich (hospital|trust|town|city|area)|\bin (london|manchester|birmingham|leeds|"
            r"liverpool|bristol|glasgow|cardiff|wales|scotland)\b|\bmy (town|city|area)\b",
        ),
        (
            "costs",
            r"\bcost|\bfees?\b|\bfunding|\bloan|\bfree\b|how much (is|are|does) (the|a) "
            r"(course|training|apprenticeship)|bursar",
        ),
        (
            "the conditions of the job",
            r"uniform|\bvisa\b|sponsor|\bdbs\b|\bcontract\b|permanent|temporary|\bagency\b|"
            r"bank staff|interview|\bcv\b|vacanc|jobs? (available|going)|hiring|"
            r"stress|pressure|\bsafe\b|radiation|\bdanger",
        ),
    )
)

# A focus word used about what the page does say: "study part-time" is progression.
PAGE_ANSWERS = re.compile(
    r"stud(y|ying) part[- ]time|part[- ]time (stud|course|degree)|work and study|"
    r"level 3|four (or more )?gcses|4 gcses|short courses?",
    re.IGNORECASE,
)


def beyond_page(text: str) -> str | None:
    """The subject the question asks for that the page never states, or None."""
    cleaned = PAGE_ANSWERS.sub(" ", text)
    for subject, pattern in SUBJECTS:
        if pattern.search(cleaned):
            return subject
    return None
