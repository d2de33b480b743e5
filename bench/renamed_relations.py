"""Pilot (issue 12): do bAbI's relational tasks (4, 17-19: rooms, shapes, boxes) hold between words
without rows? Per task, two models with `BABI_SETTINGS` plus the bundled recipe's R match rows
(`answer_match`) and `min_count` 20 (a redrawn word stays unseen): one trained on the en train file as
it is, one on it plus a copy of every story renamed from the training pools (`rename`, as the
bundled data's renamed copies); each scored on the en test file, plain and renamed from the held-out
pools as bench/conversations.py's renamed set.

    python bench/renamed_relations.py [--tasks 4,17,18,19] [--seed 0] [--out renamed-relations]   # about 6 min

Writes bench/results/<out>.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from conversations import renamed_set  # noqa: E402  (bench/conversations.py)
from memnet.data.babi import load_tasks, parse_task_range  # noqa: E402
from memnet.data.conversations import BENCH_DATA, Drawer, answerable, babi_words, pools, rename, task_entities  # noqa: E402
from memnet.dataset import parse_stories  # noqa: E402
from memnet.evaluate import evaluate  # noqa: E402
from memnet.input.sentence import make_input_map  # noqa: E402
from memnet.model import BABI_SETTINGS, ModelConfig  # noqa: E402
from memnet.train import train  # noqa: E402
from simworld import RESULTS, machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--babi", type=Path, default=Path("../shared/babi"), help="folder with en/")
    parser.add_argument("--tasks", default="4,17,18,19", help="bAbI task numbers (default: 4,17,18,19)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="renamed-relations", help="file stem under bench/results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    I = make_input_map("spacy")
    config = ModelConfig(**{**BABI_SETTINGS, "answer_match": True, "min_count": 20, "seed": args.seed, "input_map": "spacy"})
    train_pools, held = pools(args.babi, babi_words(BENCH_DATA))[0], pools(args.babi)[1]   # as the bundled data; as bench/conversations.py
    results = {}
    for task in load_tasks(args.babi / "en", parse_task_range(args.tasks)):
        sets, rng = task.answers_are_sets, random.Random(f"{args.seed}-{task.name}")
        tests = {"plain": task.test, "renamed": renamed_set(task.test, task_entities(task.test), held, rng)[0]}
        tests = {name: parse_stories(stories, I, sets=sets) for name, stories in tests.items()}
        entities = task_entities(task.train)
        copies = [answerable(s, rename(s, entities, Drawer(train_pools, rng)), entities)[0] for s in task.train]
        for name, stories in {"en train": task.train, "with renamed copies": task.train + copies}.items():
            model, _ = train(parse_stories(stories, I, sets=sets), config, progress=False)
            row = {test: evaluate(model, parsed, sets=sets) for test, parsed in tests.items()}
            results.setdefault(task.name, {})[name] = {test: {"accuracy": s.accuracy, "supports": s.support_accuracy,
                                                              "n": s.n} for test, s in row.items()}
            print(task.name, name, {t: round(100 * r["accuracy"], 1) for t, r in results[task.name][name].items()}, flush=True)
    report = {"command": "python bench/renamed_relations.py " + " ".join(sys.argv[1:]), "seconds": round(time.perf_counter() - start),
              "machine": machine(), "config": config.to_json(), "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# Relational tasks on words without rows (issue 12 pilot)", "",
             "Per task: accuracy % (supporting facts % in brackets) on the en test file, plain and with every entity "
             "renamed from the held-out pools; models trained on the en train file, or on it plus a renamed copy of "
             "every story.", "", "| task | training | plain | renamed |", "|---|---|---|---|"]
    for task, rows in results.items():
        for training, row in rows.items():
            lines.append(f"| {task} | {training} | " + " | ".join(
                f"{100 * row[t]['accuracy']:.1f} ({100 * row[t]['supports']:.0f})" for t in ("plain", "renamed")) + " |")
    lines += ["", f"Command: `{report['command'].strip()}`, {report['seconds']} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{report['machine']}.", ""]
    (RESULTS / f"{args.out}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
