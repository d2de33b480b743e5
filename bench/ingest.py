"""Speed of the spaCy I: parse, segmentation, coreference and features, end to end.

- statements_per_s: 10,000 distinct statements (so the text cache never helps), one
  conversation, one `SpacyInput.pipe` call on a fresh input map; wall-clock.
  statements_per_cpu_s: the same run per second of this process's CPU time, which stays
  meaningful when other jobs share the cores (the run is single-threaded).
- single_ms_p50 / p95: one new statement typed into a conversation, `SpacyInput.__call__`.
- babi_train_statements_per_s: all 20 bAbI 1k training sets through `parse_stories`, story
  by story, as training reads them (repeated sentences come from the cache).

    python bench/ingest.py           # writes bench/results/ingest.json
"""
from __future__ import annotations

import itertools
import json
import random
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import machine  # noqa: E402  (bench/machine.py)
from memnet.data.babi import load_tasks  # noqa: E402
from memnet.dataset import parse_stories  # noqa: E402
from memnet.input.spacy_input import SpacyInput, load_nlp  # noqa: E402

BABI = REPO.parent / "shared" / "babi" / "en"
NAMES = "Mary Sandra Daniel John Fred Bill Julie Jeff Emily Winona Greg Brian Lily Jason Yann Antoine Sumit Gertrude Jessica Bernhard".split()
PLACES = "kitchen garden office hallway bathroom bedroom park school cinema cellar".split()
OBJECTS = "milk apple football ball box key book cup hat lamp".split()
MOVES = ["went to", "went back to", "journeyed to", "travelled to", "moved to", "ran to"]
TAKES = ["picked up", "got", "grabbed", "took", "dropped", "left", "discarded", "put down"]


def statements(n: int, seed: int = 0) -> list[str]:
    """n distinct bAbI-like statements, about a fifth with a pronoun or "there"."""
    pool = [f"{a} {v} the {p}." for a, v, p in itertools.product(NAMES, MOVES, PLACES)]
    pool += [f"{a} {v} the {o}{t}." for a, v, o, t in itertools.product(NAMES, TAKES, OBJECTS, ["", " there"])]
    pool += [f"{c} {h} {v} the {p}." for c, h, v, p in itertools.product(["Then", "After that", "Afterwards", "Later"], ["he", "she", "they"], MOVES, PLACES)]
    pool += [f"{a} and {b} {v} the {p}." for a, b, v, p in itertools.product(NAMES[:10], NAMES[10:], MOVES, PLACES)]
    return random.Random(seed).sample(pool, n)


def main() -> None:
    torch.set_num_threads(1)
    nlp = load_nlp()
    texts = statements(10_000 + 200)
    bulk, typed = texts[:10_000], texts[10_000:]

    SpacyInput(nlp)("Mary went to the kitchen.")  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    out = SpacyInput(nlp).pipe(bulk)
    bulk_s, bulk_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert sum(map(len, out)) == len(bulk)

    single = SpacyInput(nlp)
    discourse = single.new_discourse()
    times, cpu_times = [], []
    for text in typed:
        start, cpu = time.perf_counter(), time.process_time()
        single(text, discourse)
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)

    tasks = load_tasks(BABI)
    babi_input = SpacyInput(nlp)
    start = time.perf_counter()
    lines = sum(len(s.statements) for t in tasks for s in t.train)
    for task in tasks:
        parse_stories(task.train, babi_input)
    babi_s = time.perf_counter() - start

    result = {
        "command": "python bench/ingest.py",
        "machine": machine.facts(),
        "pipeline": nlp.pipe_names,
        "statements_per_s": round(len(bulk) / bulk_s, 1),
        "single_ms_p50": round(statistics.median(times), 2),
        "single_ms_p95": round(statistics.quantiles(times, n=20)[-1], 2),
        "statements_per_cpu_s": round(len(bulk) / bulk_cpu, 1),
        "single_cpu_ms_p50": round(statistics.median(cpu_times), 2),
        "bulk_statements": len(bulk),
        "single_statements": len(typed),
        "babi_train_statements": lines,
        "babi_train_statements_per_s": round(lines / babi_s, 1),
        "batch_size": SpacyInput(nlp).batch_size,
        "note": "single-threaded (torch.set_num_threads(1), one spaCy process); the 2 cores were shared "
                "with other jobs (see load_average_1min), so wall-clock figures understate an idle machine",
    }
    path = REPO / "bench" / "results" / "ingest.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
