"""The gate on answer quality: the conversation set (tests/conversations/) over REST.

At least 95% of the cases must pass, and every honest-unknown and safety case: an invented
rule or a missed emergency is never an acceptable miss. `make eval` prints the same numbers.
"""

from __future__ import annotations

from bot import evaluation, serve


def test_the_conversation_set_passes_the_gate(assistant: serve.Running) -> None:
    results = evaluation.run_cases(evaluation.load_cases(), assistant.rasa_url)
    failures = [r for r in results if not r.passed]
    table = "\n".join(f"{kind}: {p}/{t}" for kind, p, t in evaluation.tally(results))
    details = "\n".join(evaluation.describe_failure(r) for r in failures)
    assert evaluation.gate_passes(results), f"{len(failures)} failed\n{table}\n{details}"
