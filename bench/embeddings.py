"""Benchmark: what all-MiniLM-L6-v2 in NumPy (bot/embeddings.py) costs a message.

Encodes the gate set's messages (tests/conversations, the wording job seekers use) and prints
the median time per message of: WordPiece tokenising alone (the baseline, run in the same
process), encoding one message at a time (what a live message costs the featurizer; the safety
layer and the question classifier reuse its vector or encode only the questions), and encoding
in batches of 32 (what training costs per example); each with its ratio to the baseline, and the
resident memory the encoder adds. Loopback only, no download: the model files come from the
installed package.

    .venv/bin/python bench/embeddings.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import evaluation
from bot.embeddings import get_encoder


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median_ms(run: Callable[[], object], count: int, repeats: int) -> float:
    """The median over `repeats` runs of one run's time divided by `count`, in ms."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000 / count)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    texts = [turn for case in evaluation.load_cases() for turn in case.turns]
    before = _rss_mib()
    encoder = get_encoder()
    encoder.encode(texts[0])
    loaded = _rss_mib()
    tokenise = _median_ms(
        lambda: [encoder.tokenizer.encode(t) for t in texts], len(texts), args.repeats
    )
    single = _median_ms(lambda: [encoder.encode(t) for t in texts], len(texts), args.repeats)
    batched = _median_ms(lambda: encoder.encode_many(texts), len(texts), args.repeats)
    words = statistics.median(len(t.split()) for t in texts)
    print(f"{len(texts)} messages (median {words:.0f} words), median of {args.repeats} runs")
    print(f"{'step':<28}{'ms/message':>12}{'x tokenising':>14}")
    for name, value in (
        ("WordPiece tokenising", tokenise),
        ("encode, one at a time", single),
        ("encode_many, batches of 32", batched),
    ):
        print(f"{name:<28}{value:>12.2f}{value / tokenise:>14.1f}")
    print(f"resident memory: {before:.0f} MiB before the encoder, {loaded:.0f} MiB after")


if __name__ == "__main__":
    main()
