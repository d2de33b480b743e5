"""Forgetting (issue 6, paper §2): answer accuracy of a capacity-limited memory, against capacity.

Statements stream into a `Memory(capacity=c)` and each question is answered from what is
left when it is asked (O's picks count as use, which forgetting respects). Two policies:
"usefulness" (recency of write or pick, use count, and supersession through cluster-hash word
classes: "John went to the office" makes "John went to the kitchen" redundant) and "recency"
(no supersession: the least recently written or used slot goes).

Data: long stories of the simulated world (actor+object, difficulty 5) and bAbI tasks 1-2.

    .venv/bin/python bench/forgetting.py       # about 5 min on 1 core

Writes bench/results/forgetting.md and forgetting.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from memnet.memory.index import cluster_words  # noqa: E402
from memnet.data.babi import load_tasks  # noqa: E402
from memnet.data.world import setting_config  # noqa: E402
from memnet.dataset import ParsedStory, parse_stories  # noqa: E402
from memnet.features import token_key  # noqa: E402
from memnet.memory.slots import Memory  # noqa: E402
from memnet.model import MemNN, ModelConfig  # noqa: E402
from memnet.network import Recall  # noqa: E402
from memnet.input.sentence import SimpleInput  # noqa: E402
from memnet.train import train  # noqa: E402
from scale import _cpu_name, _ram_gb  # noqa: E402
from town import world_stories  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BABI = Path(__file__).resolve().parents[2] / "shared" / "babi" / "en"


def word_classes(model: MemNN, clusters: int):
    """A word's cluster under K-means over the model's U_O word vectors (cluster hashing)."""
    labels = dict(zip(model.vocab.words, cluster_words(model, clusters).tolist()))
    return lambda word: labels.get(word, token_key(word))


def stream_accuracy(model: MemNN, stories: list[ParsedStory], capacity: int | None, word_class) -> float:
    """Each story streamed through a fresh memory; questions answered when they come."""
    right = total = 0
    for story in stories:
        memory = Memory(capacity=capacity, word_class=word_class)
        recall = Recall(model, memory, "exhaustive")
        written = 0
        for question, n, _, answer in sorted(story.questions, key=lambda q: q[1]):
            if n > written:
                memory.write(story.memory[written:n])
                written = n
            right += recall.ask(question.tokens).answer == answer
            total += 1
    return right / max(total, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacities", type=int, nargs="+", default=[4, 6, 8, 12, 16, 24, 32, 64])
    parser.add_argument("--clusters", type=int, default=8, help="K of the cluster hash that gives word classes")
    parser.add_argument("--out", type=Path, default=RESULTS / "forgetting")
    args = parser.parse_args()
    torch.set_num_threads(1)
    random.seed(0)
    capacities = [None, *sorted(args.capacities, reverse=True)]
    world = setting_config("actor+object", difficulty=5, story_length=200)
    short = setting_config("actor+object", difficulty=5)
    (task1, task2) = load_tasks(BABI, {1, 2})
    data = {
        "simulation (200-statement stories)": (
            parse_stories(world_stories(short, 7000, 3000), SimpleInput()),
            parse_stories(world_stories(world, 2000, 600, seed=1), SimpleInput())),
        "bAbI 1-2 (test)": (
            parse_stories(task1.train + task2.train, SimpleInput()),
            parse_stories(task1.test[:100] + task2.test[:100], SimpleInput())),
    }
    results: dict = {}
    for name, (train_stories, test_stories) in data.items():
        start = time.perf_counter()
        model, _ = train(train_stories, ModelConfig(seed=0), progress=False)
        print(f"{name}: trained in {time.perf_counter() - start:.0f}s", flush=True)
        classes = word_classes(model, args.clusters)
        curve = {}
        for policy, word_class in (("usefulness", classes), ("recency", None)):
            curve[policy] = {}
            for capacity in capacities:
                accuracy = stream_accuracy(model, test_stories, capacity, word_class)
                curve[policy]["unlimited" if capacity is None else str(capacity)] = accuracy
                print(name, policy, capacity, f"{accuracy:.3f}", flush=True)
        lengths = [len(s.memory) for s in test_stories]
        results[name] = {"curve": curve, "questions": sum(len(s.questions) for s in test_stories),
                         "story_length_mean": float(np.mean(lengths)), "story_length_max": max(lengths),
                         "train_questions": sum(len(s.questions) for s in train_stories)}
    meta = {"command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": {"cores": os.cpu_count(), "cpu": _cpu_name(), "ram_gb": _ram_gb(),
                        "python": platform.python_version(), "torch": torch.__version__, "threads": 1},
            "clusters": args.clusters}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({**results, "meta": meta}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(report(results, meta, capacities))
    print(f"wrote {args.out}.md and .json")
    return 0


def report(results: dict, meta: dict, capacities) -> str:
    columns = ["unlimited" if c is None else str(c) for c in capacities]
    lines = ["# Forgetting: answer accuracy against memory capacity (issue 6)", "",
             f"`{meta['command']}`, {meta['date']}. Machine: {meta['machine']}.", "",
             "Statements stream into a memory of the given capacity; each question is answered from what is left. "
             "\"usefulness\" forgets superseded slots first (word classes from a cluster hash with "
             f"K = {meta['clusters']}), then the least recently written or used; \"recency\" only the latter.", ""]
    for name, r in results.items():
        lines += [f"## {name}", "", f"{r['questions']} questions; stories of {r['story_length_mean']:.0f} statements "
                  f"on average (max {r['story_length_max']}).", "",
                  "| policy | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
        for policy, curve in r["curve"].items():
            lines.append(f"| {policy} | " + " | ".join(f"{curve[c]:.1%}" for c in columns) + " |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
