"""The gate on answer quality, scored strictly (bot.evaluation.strict_problems) over REST.

Every honest-unknown, safety and not-emergency case must pass in every set: an invented rule,
a missed emergency or a false alarm is never an acceptable miss. The rest must stay at or above
each set's floor (bot.evaluation.FLOORS): the figures measured when the floor was set, so a
change that loses answers fails here. The target is 95% (issue 19); the floors rise with the
measurements, never fall. The end-only and held-out safety sets are not run here: they are
scored only when the work is reported (`make eval`), never tuned against. `make eval` prints the
same numbers.
"""

from __future__ import annotations

import pytest

from bot import evaluation, serve


@pytest.mark.parametrize("name", evaluation.TUNING_SETS)
def test_the_set_passes_its_gate(assistant: serve.Running, name: str) -> None:
    cases = evaluation.load_cases(evaluation.SETS[name])
    results = evaluation.run_cases(cases, assistant.rasa_url)
    failures = [r for r in results if not r.passed]
    table = "\n".join(f"{kind}: {p}/{t}" for kind, p, t in evaluation.tally(results))
    details = "\n".join(evaluation.describe_failure(r) for r in failures)
    floor = evaluation.FLOORS.get(name, 1.0)
    assert evaluation.gate_passes(results, floor), f"{len(failures)} failed\n{table}\n{details}"
