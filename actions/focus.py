"""What a question asks for that the NHS Careers page never states.

The page says what the roles do, what they need, how they train, progress and apply. It says
nothing about pay, hours, places, employers, durations, ages, grades, costs or the conditions of
a job. A question
whose focus is one of these gets the honest "the page doesn't say" first; any other question,
however unfamiliar its words, gets the page's answer first and alone.
"""

from __future__ import annotations

import re

# A named employer ("Leeds Teaching Hospitals", "St Mary's"): the page names none. Capitals
# matter here, so this is matched as written.
EMPLOYER = re.compile(
    r"\b(St\.? )?[A-Z][a-z']+( [A-Z][a-z']+)*( Teaching| University| General| Royal)?"
    r" (Hospitals?|Infirmary|NHS( Foundation)? Trust|Trust|Health Board)\b"
)
# (subject named in the reply, what asking for it looks like). Order matters: the first wins.
_WORDED: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
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
            r"\bhours?\b|(?<!during my )(?<!on my )(?<!in my )\bshifts?\b(?! (supervisor|lead))|"
            r"\bnights?\b|weekends?|\brota\b|overtime|"
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
            r"\bwhere (is|are) (the |there )?(jobs?|hospitals?|vacanc|posts?|courses?|training)|"
            r"\bwhere (can|could|do|would) (i|you|he|she|we) (find|get|do|study|train|work)\b"
            r"(?! (on|as|towards|up|out))|\bnear\b|nearest|\blocal to\b|"
            r"\bwhich (hospitals?|trusts?|towns?|city|cities|areas?)\b"
            r"(?! of (work|practice|imaging))|"
            r"\bin (london|manchester|birmingham|leeds|"
            r"liverpool|bristol|glasgow|cardiff|wales|scotland)\b|\bmy (town|city|area)\b",
        ),
        ("driving licences", r"driving licen[cs]e|\bdrive\b|\bdriver\b|\bown car\b"),
        ("grades", r"\bgrades?\b|\bgrade [a-g1-9]\b|\b[a-c]\*? grades?\b|\bpass marks?\b"),
        (
            "costs",
            r"\bcost|\bfees?\b|\bfunding|\bloan|\bfree\b|how much (is|are|does) (the|a) "
            r"(course|training|apprenticeship)|bursar",
        ),
        (
            "the conditions of the job",
            r"uniform|\bvisa\b|sponsor|\bdbs\b|\bcontract\b|permanent|temporary|\bagency\b|"
            r"bank staff|interview|\bcv\b|vacanc|jobs? (available|going)|hiring|"
            r"stress|pressure|\bsafe\b|radiation (risk|exposure|dose)|exposed to radiation|"
            r"\bdanger",
        ),
    )
)

SUBJECTS = (("particular employers", EMPLOYER), *_WORDED)

# A focus word used about what the page does say: "study part-time" is progression, and so is
# earning while learning, or keeping a job while studying ("can't afford to stop earning").
PAGE_ANSWERS = re.compile(
    r"stud(y|ying) part[- ]time|part[- ]time (stud|course|degree)|work and study|"
    r"\b(can|could|way to|able to|possible to) ((i|you|they|he|she|we) )?earn (while|whilst|as) "
    r"(i|you|they|he|she|we|one) (learn|stud|train|qualif)|"
    r"\b(keep|keeping|stay in|staying in) (my|her|his|their|your|the) (job|post|work) while|"
    r"afford to (stop|give up|quit) (work|earn|my job|her job|his job)|"
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
