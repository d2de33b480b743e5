"""Latency of one question on the bundled model: `MemoryNetwork.ask`, whole call, over 1,000 and
10,000 slots, with I's spaCy parse shown apart.

The memory is filled with statements from the bAbI en test stories (tasks 1, 2, 3, 6, 7, 8, 11,
12, 13: people, places and objects) through the spaCy I, then 200 distinct questions of the 20
tasks' test stories are asked, each typed once (I caches the analysis of a text it has seen, so a repeated question would skip the parse):
- ask_ms: `net.ask(question)`, the whole call (I's parse, O's hops, R);
- parse_ms: the same question read by a second spaCy I that has not seen it (the parse inside ask);
- o_r_ms: ask_ms minus parse_ms, question by question (O and R);
- ask_cpu_ms: the CPU time of the ask call's thread (what the call costs when other jobs share the cores).
Torch and BLAS on one thread, as the app runs (`memnet.runtime.configure`).

    python bench/latency.py [--sizes 1000 10000] [--questions 200] [--model DIR] [--out STEM]   # writes bench/results/latency.{json,md}
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import machine  # noqa: E402  (bench/machine.py)

from memnet import MemoryNetwork  # noqa: E402
from memnet.data.babi import load_tasks  # noqa: E402
from memnet.input.spacy_input import SpacyInput  # noqa: E402
from memnet.runtime import configure  # noqa: E402

BABI = REPO.parent / "shared" / "babi" / "en"
RESULTS = REPO / "bench" / "results"
TASKS = {1, 2, 3, 6, 7, 8, 11, 12, 13}
TARGETS_MS = {1000: 5.0, 10000: 15.0}   # p50 of the whole call (issue 11)


def statements_and_questions() -> tuple[list[str], list[str]]:
    """Every statement of the chosen test stories in story order, and the distinct questions of all 20
    tasks' test stories (a question about what the memory does not hold costs the same)."""
    statements, questions = [], []
    for task in load_tasks(BABI, set(range(1, 21))):
        for story in task.test:
            statements += story.statements if task.number in TASKS else []
            questions += [q.text for q in story.questions]
    return statements, list(dict.fromkeys(questions))


def percentile(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1], 2)


def measure(size: int, statements: list[str], questions: list[str], count: int, seed: int,
            model: Path | None = None) -> dict:
    net = MemoryNetwork.load(model)
    for start in range(0, size, 100):
        net.tell(" ".join(statements[start : min(start + 100, size)]))
    fresh = SpacyInput(net.input_map.nlp)
    asked = random.Random(seed).sample(questions, count)
    net.ask("Where is the milk?")   # warm-up: builds the slot vectors once
    ask_ms, parse_ms, ask_cpu_ms = [], [], []
    for question in asked:
        start = time.perf_counter()
        fresh(question)
        parse_ms.append(1000 * (time.perf_counter() - start))
        start, cpu = time.perf_counter(), time.thread_time()
        net.ask(question)
        ask_ms.append(1000 * (time.perf_counter() - start))
        ask_cpu_ms.append(1000 * (time.thread_time() - cpu))
    o_r = [a - p for a, p in zip(ask_ms, parse_ms)]
    return {"slots": len(net.memory_store), "questions": count,
            "ask_ms_p50": percentile(ask_ms, 50), "ask_ms_p95": percentile(ask_ms, 95),
            "ask_cpu_ms_p50": percentile(ask_cpu_ms, 50),
            "parse_ms_p50": percentile(parse_ms, 50), "parse_ms_p95": percentile(parse_ms, 95),
            "o_r_ms_p50": percentile(o_r, 50), "o_r_ms_p95": percentile(o_r, 95),
            "target_ms_p50": TARGETS_MS.get(size)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS / "latency")
    parser.add_argument("--model", type=Path, help="checkpoint folder (default: the bundled model)")
    args = parser.parse_args()
    configure()
    statements, questions = statements_and_questions()
    rows = [measure(size, statements, questions, args.questions, args.seed, args.model) for size in args.sizes]
    command = "python bench/latency.py " + " ".join(sys.argv[1:])
    result = {"command": command.strip(), "date": time.strftime("%Y-%m-%d"),
              "machine": machine.facts(),
              "model": str(args.model or "assets/model"), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"# Question latency, {'model ' + result['model'] if args.model else 'bundled model'} (`{result['command']}`, {result['date']})", "",
             f"{result['machine']['cpu']}, {result['machine']['cores']} cores, Python {result['machine']['python']}, load average "
             f"{result['machine']['load_average_1min']} at the end (other jobs shared the cores when above ~0.5); torch on one thread. "
             "ask = the whole `MemoryNetwork.ask` call (ask CPU: its thread's CPU time); parse = I's spaCy parse of the same, unseen question; "
             "O+R = ask − parse.", "",
             "| slots | ask p50 ms | ask p95 ms | ask CPU p50 ms | parse p50 ms | O+R p50 ms | O+R p95 ms | target (ask p50) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        target = f"≤ {r['target_ms_p50']:g} ms" if r["target_ms_p50"] else ""
        lines.append(f"| {r['slots']:,} | {r['ask_ms_p50']} | {r['ask_ms_p95']} | {r['ask_cpu_ms_p50']} | {r['parse_ms_p50']} | "
                     f"{r['o_r_ms_p50']} | {r['o_r_ms_p95']} | {target} |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
