"""bAbI benchmark: train and evaluate per task and jointly, over several seeds.

    python bench/babi.py                       # en per-task (5 seeds) + en joint (1 seed)
    python bench/babi.py --settings en-10k/joint
    python bench/babi.py --settings en/per-task --seeds 1

Writes bench/results/babi.json (setting -> per-task scores, mean, passes, seeds, spread) and
bench/results/babi.md (tables beside the published numbers, machine facts, the command).
"""
from __future__ import annotations

import argparse
import json
import os
import multiprocessing
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memnet.data.babi import load_tasks  # noqa: E402
from memnet.dataset import parse_stories  # noqa: E402
from memnet.evaluate import PASS_MARK, evaluate  # noqa: E402
from memnet.model import BABI_SETTINGS, ModelConfig  # noqa: E402
from memnet.runtime import configure  # noqa: E402
from memnet.sentence import make_input_map  # noqa: E402
from memnet.train import train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "babi"
PUBLISHED = """Published, bAbI 1k unless noted:
- Strongly supervised MemNN (Weston et al. 2015, arXiv 1502.05698, Table 3): plain MemNN passes 7 of 20;
  AM+NG+NL MemNN: mean 93.3%, passes 16 (fails 7, 8, 17, 19). On 10k: mean error 3.2%, 2 tasks failed.
- Weakly supervised MemN2N (arXiv 1503.08895), best: mean error 12.4% on 1k (11 failed), 4.2% on 10k (3 failed)."""


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(), "torch": torch.__version__}


def parsed_tasks(folder: Path, input_map_name: str) -> list[tuple[str, list, list]]:
    """(name, parsed train, parsed test) for every task with both splits in `folder`."""
    input_map = make_input_map(input_map_name)
    return [(t.name, parse_stories(t.train, input_map), parse_stories(t.test, input_map))
            for t in load_tasks(folder) if t.train and t.test]


_TASKS: list = []  # the parsed tasks, shared with forked workers


def _train_and_score(job: tuple[ModelConfig, int | None]) -> dict[str, tuple[float, float, float]]:
    """Train on one task (index) or on all (None); score each task it covers: (acc, supports, seconds)."""
    config, index = job
    start = time.perf_counter()
    chosen = _TASKS if index is None else [_TASKS[index]]
    model, _ = train([s for _, train_set, _ in chosen for s in train_set], config, progress=False)
    seconds = time.perf_counter() - start
    scores = {}
    for name, _, test_set in chosen:
        score = evaluate(model, test_set)
        scores[name] = (score.accuracy, score.support_accuracy, seconds)
        print(f"  seed {config.seed} {name}: {score.accuracy:.3f} (supports {score.support_accuracy:.3f})", flush=True)
    return scores


def run(tasks, config: ModelConfig, joint: bool, seeds: list[int], jobs: int) -> dict:
    """Scores per seed (per-task models train in `jobs` processes), then mean and spread per task."""
    _TASKS[:] = tasks
    work = [(ModelConfig(**{**config.to_json(), "seed": seed}), None if joint else i)
            for seed in seeds for i in ([None] if joint else range(len(tasks)))]
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        results = pool.map(_train_and_score, work, chunksize=1)
    wall = time.perf_counter() - start
    per_seed: list[dict] = [{} for _ in seeds]
    for (job_config, _), scores in zip(work, results):
        per_seed[seeds.index(job_config.seed)].update(scores)
    names = [name for name, *_ in tasks]
    spread = lambda values: statistics.pstdev(values) if len(values) > 1 else 0.0  # noqa: E731
    per_task = {}
    for name in names:
        accuracies = [s[name][0] for s in per_seed]
        per_task[name] = {"accuracy": statistics.mean(accuracies), "spread": spread(accuracies),
                          "support_accuracy": statistics.mean(s[name][1] for s in per_seed),
                          "train_seconds": statistics.mean(s[name][2] for s in per_seed), "n": 1000}
    seed_means = [statistics.mean(s[n][0] for n in names) for s in per_seed]
    return {"per_task": per_task, "mean_accuracy": statistics.mean(seed_means), "spread": spread(seed_means),
            "passed": sum(t["accuracy"] >= PASS_MARK for t in per_task.values()), "seeds": seeds,
            "wall_seconds": wall, "jobs": jobs, "config": config.to_json()}


def markdown(results: dict, command: str, facts: dict) -> str:
    settings = list(results)
    lines = ["# bAbI v1.2 benchmark", "", f"Command: `{command}`", "",
             f"Machine: {facts['cpu']}, {facts['cores']} cores, torch {facts['torch']} "
             f"({facts['torch_threads']} thread), Python {facts['python']}.", "",
             "Accuracy (%) on each task's 1000 test questions; mean ± spread (standard deviation) over seeds, "
             "supporting-fact accuracy in brackets. A task passes at ≥ 95%.", "",
             "| task | " + " | ".join(settings) + " |", "|---|" + "---|" * len(settings)]
    for name in results[settings[0]]["per_task"]:
        cells = []
        for setting in settings:
            task = results[setting]["per_task"].get(name)
            cells.append("" if task is None else
                         f"{100 * task['accuracy']:.1f} ± {100 * task['spread']:.1f} ({100 * task['support_accuracy']:.0f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | " + " | ".join(
        f"**{100 * results[s]['mean_accuracy']:.1f} ± {100 * results[s]['spread']:.1f}**" for s in settings) + " |")
    lines.append("| **passed** | " + " | ".join(f"**{results[s]['passed']}/{len(results[s]['per_task'])}**" for s in settings) + " |")
    lines.append("| seeds | " + " | ".join(str(results[s]["seeds"]) for s in settings) + " |")
    lines.append("| wall time, s (all seeds, `jobs` processes) | " + " | ".join(
        f"{results[s]['wall_seconds']:.0f} ({results[s]['jobs']})" for s in settings) + " |")
    lines += ["", PUBLISHED, "", "Settings: " + json.dumps(results[settings[0]]["config"])]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=["en/per-task", "en/joint"],
                        help="which runs: <en|en-10k>/<per-task|joint>")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the en per-task run")
    parser.add_argument("--joint-seeds", type=int, default=1, help="seeds for the joint and en-10k runs")
    parser.add_argument("--jobs", type=int, default=2, help="training processes (per-task runs)")
    parser.add_argument("--input", default="spacy", choices=["simple", "spacy"])
    parser.add_argument("--data", type=Path, default=SHARED, help="folder holding en/ and en-10k/")
    parser.add_argument("--hops", type=int, default=BABI_SETTINGS["hops"])
    parser.add_argument("--ngram-buckets", type=int, default=BABI_SETTINGS["ngram_buckets"])
    parser.add_argument("--epochs", type=int, default=BABI_SETTINGS["epochs"])
    args = parser.parse_args()
    configure()
    config = ModelConfig(**{**BABI_SETTINGS, "hops": args.hops, "ngram_buckets": args.ngram_buckets,
                            "epochs": args.epochs, "input_map": args.input})
    results = {}
    loaded: dict[str, list] = {}
    start = time.perf_counter()
    for setting in args.settings:
        corpus, mode = setting.split("/")
        if corpus not in loaded:
            loaded[corpus] = parsed_tasks(args.data / corpus, args.input)
        seeds = list(range(args.seeds if setting == "en/per-task" else args.joint_seeds))
        print(f"{setting}: {len(loaded[corpus])} tasks, seeds {seeds}", flush=True)
        results[setting] = run(loaded[corpus], config, mode == "joint", seeds, args.jobs)
    facts = {**machine(), "total_seconds": time.perf_counter() - start}
    command = "python bench/babi.py " + " ".join(sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "babi.json").write_text(json.dumps({**results, "machine": facts, "command": command}, indent=1))
    (RESULTS / "babi.md").write_text(markdown(results, command, facts) + f"\nTotal time: {facts['total_seconds']:.0f} s.\n")
    print(markdown(results, command, facts))


if __name__ == "__main__":
    main()
