"""Large memories (issue 6, paper §3.3): O over 10k to 1M slots, exhaustive versus hashed.

A town of many houses (`bench/town.py`: 500 actors, 250 rooms, 150 objects, distractor
statements) narrates up to the largest size; at each size the memory is filled, embedded,
saved and loaded, and the same questions (supporting facts known) are answered by O under
every candidate strategy: exhaustive, word hash, cluster hash (K-means over U_O word
vectors) and dense retrieval (all-MiniLM-L6-v2, exact top-N). Per strategy: p50/p95
latency per question (O's hops and R), memory scores computed, agreement with exhaustive O
(same supports and answer), answer and support accuracy.

    .venv/bin/python bench/scale.py                       # 1k, 10k, 100k, 1M (about 25 min on 2 cores)
    .venv/bin/python bench/scale.py --sizes 10000 --questions 50

The model is trained on short stories of the same town once and cached under --work.
Writes bench/results/scale.md and scale.json (keyed by size, then strategy).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from memnet import checkpoint, store  # noqa: E402
from memnet.buckets import ClusterHash, DenseIndex, WordHash  # noqa: E402
from memnet.dataset import parse_stories  # noqa: E402
from memnet.evaluate import evaluate  # noqa: E402
from memnet.features import answer_form  # noqa: E402
from memnet.memory import Memory  # noqa: E402
from memnet.model import ModelConfig  # noqa: E402
from memnet.recall import Recall  # noqa: E402
from memnet.sentence import Sentence, SimpleInput, simple_tokens  # noqa: E402
from memnet.train import train  # noqa: E402
from town import Town, houses, training_stories  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
HOUSES = 50


def town_model(work: Path, configs):
    """The model of the town, trained once on 400 stories of 2 houses (100 statements, 25 questions each) and cached."""
    path = work / "model"
    if (path / "config.json").is_file():
        return checkpoint.load(path), json.loads((path / "config.json").read_text()).get("bench", {})
    start = time.perf_counter()
    model, _ = train(parse_stories(training_stories(configs, 400, 100, 2, 25), SimpleInput()), ModelConfig(seed=0), progress=False)
    seconds = time.perf_counter() - start
    score = evaluate(model, parse_stories(training_stories(configs, 80, 100, 2, 25, seed=1), SimpleInput()))
    info = {"train_s": round(seconds, 1), "test_accuracy": score.accuracy, "test_support_accuracy": score.support_accuracy}
    checkpoint.save(model, path, {"bench": info})
    return model, info


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def sentences(texts: list[str]) -> list[Sentence]:
    return [Sentence(t, t, simple_tokens(t)) for t in texts]


def run_strategy(recall: Recall, strategy, questions, reference=None) -> tuple[dict, list]:
    recall.strategy = strategy
    start = time.perf_counter()
    recall.ask(simple_tokens(questions[0].text), questions[0].text, touch=False)   # builds the index
    build = time.perf_counter() - start
    latencies, outcomes = [], []
    for q in questions:
        tokens = simple_tokens(q.text)
        start = time.perf_counter()
        result = recall.ask(tokens, q.text, touch=False)
        latencies.append(time.perf_counter() - start)
        outcomes.append(([h.pick for h in result.hops], result.answer, result.scored))
    row = {
        "p50_ms": round(1000 * float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(1000 * float(np.percentile(latencies, 95)), 2),
        "candidates_mean": round(float(np.mean([o[2] for o in outcomes])), 1),
        "accuracy": float(np.mean([o[1] == answer_form(q.answer) for o, q in zip(outcomes, questions)])),
        "support_accuracy": float(np.mean([set(p for p in o[0] if p >= 0) == set(q.supports[: recall.model.config.hops])
                                           for o, q in zip(outcomes, questions)])),
        "first_query_s": round(build, 2),
    }
    if reference is not None:
        row["agreement"] = float(np.mean([o[:2] == r[:2] for o, r in zip(outcomes, reference)]))
        row["candidates_ratio"] = round(sum(r[2] for r in reference) / max(sum(o[2] for o in outcomes), 1), 1)
    else:
        row["agreement"], row["candidates_ratio"] = 1.0, 1.0
    return row, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=200, help="per size")
    parser.add_argument("--clusters", type=int, default=300, help="K of the cluster hash (the town has ~930 words)")
    parser.add_argument("--dense-max", type=int, default=10_000, help="largest size given dense retrieval (encoding cost)")
    parser.add_argument("--dense-top", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (numpy BLAS uses all cores)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/memnet-scale"))
    parser.add_argument("--out", type=Path, default=RESULTS / "scale")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    configs = houses(HOUSES)
    model, model_info = town_model(args.work, configs)
    town = Town(configs, seed=1)
    memory, recall = Memory(), None
    encoder = None
    results: dict = {}
    for size in sorted(args.sizes):
        print(f"== {size} slots", flush=True)
        start = time.perf_counter()
        texts = town.narrate(size - len(memory))
        narrate_s = time.perf_counter() - start
        questions = town.questions(args.questions)
        start = time.perf_counter()
        for first in range(0, len(texts), 10_000):
            memory.write(sentences(texts[first : first + 10_000]))
        write_s = time.perf_counter() - start
        recall = recall or Recall(model, memory)
        start = time.perf_counter()
        recall.vectors.refresh()
        embed_s = time.perf_counter() - start
        start = time.perf_counter()
        store.save(memory, args.work / "memory")
        save_s = time.perf_counter() - start
        start = time.perf_counter()
        loaded = store.load(args.work / "memory")
        load_s = time.perf_counter() - start
        assert len(loaded) == len(memory)
        del loaded
        row: dict = {}
        reference = None
        strategies = [("exhaustive", "exhaustive"), ("word", WordHash(memory)),
                      ("cluster", ClusterHash(memory, model, args.clusters))]
        if size <= args.dense_max:
            encoder = encoder or DenseIndex(memory).encoder
            strategies.append(("dense", DenseIndex(memory, encoder, top=args.dense_top)))
        for name, strategy in strategies:
            row[name], outcomes = run_strategy(recall, strategy, questions, reference)
            reference = reference or outcomes
            print(name, row[name], flush=True)
        row["memory"] = {"narrate_s": round(narrate_s, 1), "write_s": round(write_s, 1), "embed_s": round(embed_s, 1),
                         "fill_s": round(write_s + embed_s, 1), "save_s": round(save_s, 1), "load_s": round(load_s, 1),
                         "rss_mb": round(rss_mb()), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                         "slot_vectors_mb": round(recall.vectors.base.nbytes / 2**20)}
        print(row["memory"], flush=True)
        results[str(size)] = row
        del strategies
    meta = {"command": "python " + " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": {"cores": os.cpu_count(), "cpu": platform.processor() or _cpu_name(), "ram_gb": _ram_gb(),
                        "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                        "threads": args.threads},
            "model": {"houses": HOUSES, "actors": sum(len(c.actors) for c in configs),
                      "rooms": sum(len(c.rooms) for c in configs), "objects": sum(len(c.objects) for c in configs),
                      "vocabulary": len(model.vocab), **model_info},
            "clusters": args.clusters, "dense_top": args.dense_top, "questions": args.questions}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({**results, "meta": meta}, indent=1) + "\n")
    args.out.with_suffix(".md").write_text(report(results, meta))
    print(f"wrote {args.out}.md and .json")
    return 0


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _ram_gb() -> float:
    return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)


def report(results: dict, meta: dict) -> str:
    lines = ["# Large memories: exhaustive O versus hashed O (issue 6)", "",
             f"`{meta['command']}`, {meta['date']}. Machine: {meta['machine']}.", "",
             f"World: {meta['model']}. Cluster hash K = {meta['clusters']}; buckets over 1% (word) / 3% (cluster) of "
             f"the memory are skipped; dense top-N = {meta['dense_top']}; "
             f"{meta['questions']} questions per size, asked after the memory is filled.", "",
             "| slots | strategy | p50 ms | p95 ms | scores per question | candidates ratio | agreement | accuracy | supports |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size, row in results.items():
        for name, r in row.items():
            if name == "memory":
                continue
            lines.append(f"| {int(size):,} | {name} | {r['p50_ms']} | {r['p95_ms']} | {r['candidates_mean']:,} | "
                         f"{r['candidates_ratio']}× | {r['agreement']:.1%} | {r['accuracy']:.1%} | {r['support_accuracy']:.1%} |")
    lines += ["", "| slots | write s | embed s | save s | load s | RSS MB | slot vectors MB |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for size, row in results.items():
        m = row["memory"]
        lines.append(f"| {int(size):,} | {m['write_s']} | {m['embed_s']} | {m['save_s']} | {m['load_s']} | {m['rss_mb']} | {m['slot_vectors_mb']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
