"""bAbI benchmark: train and evaluate per task and jointly, over several seeds.

    python bench/babi.py                       # en per-task (5 seeds) + en joint (1 seed)
    python bench/babi.py --settings en-10k/joint
    python bench/babi.py --settings en/per-task --seeds 1 --results bench/results/babi-1seed   # the speed check (issue 15: <= 2 min)
    python bench/babi.py --settings en/per-task --seeds 2 --tasks 17 18   # a pilot: prints, writes nothing

Writes bench/results/babi.json (setting -> per-task scores, mean, passes, seeds, spread) and
bench/results/babi.md (tables beside the published numbers, machine facts, the command).
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import importlib.metadata
import json
import os
import multiprocessing
import pickle
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import machine  # noqa: E402  (bench/machine.py)
from memnet.data.babi import Task, load_tasks  # noqa: E402
from memnet.dataset import parse_stories  # noqa: E402
from memnet.evaluate import PASS_MARK, evaluate  # noqa: E402
from memnet.model import BABI_SETTINGS, ModelConfig  # noqa: E402
from memnet.runtime import configure  # noqa: E402
from memnet.input.sentence import make_input_map  # noqa: E402
from memnet.train import check_average, train  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "babi"
PUBLISHED = """Published, bAbI 1k unless noted:
- Strongly supervised MemNN (Weston et al. 2015, arXiv 1502.05698, Table 3): plain MemNN passes 7 of 20;
  AM+NG+NL MemNN: mean 93.3%, passes 16 (fails 7, 8, 17, 19). On 10k: mean error 3.2%, 2 tasks failed.
- Weakly supervised MemN2N (arXiv 1503.08895), best: mean error 12.4% on 1k (11 failed), 4.2% on 10k (3 failed)."""


_INPUT_MAP: list = []  # the input map I, made once before the pool forks
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memnet" / "babi-parsed"
ROOT = Path(__file__).resolve().parents[1]


def parser_version(input_map_name: str) -> str:
    """What I's output depends on besides the text: the code of I and of `parse_stories`, and the
    versions of spaCy and its model. A cached parse is used only while all of them are unchanged."""
    sources = sorted((ROOT / "memnet" / "input").glob("*.py")) + [ROOT / "memnet" / f for f in ("dataset.py", "features.py")]
    digest = hashlib.sha256(input_map_name.encode())
    for source in sources:
        digest.update(source.read_bytes())
    if input_map_name == "spacy":
        from memnet.input.spacy_input import MODEL

        digest.update(f"spacy {importlib.metadata.version('spacy')} {MODEL} {importlib.metadata.version(MODEL)}".encode())
    return digest.hexdigest()


def cache_file(task, version: str, cache: Path) -> Path:
    """Where `task`'s parse is kept: named by the hash of its stories (train and test) and I's version."""
    content = hashlib.sha256(pickle.dumps((task.train, task.test)) + version.encode()).hexdigest()
    return cache / f"{task.name}-{content[:32]}.pkl"


def _parse(task) -> tuple[str, list, list]:
    input_map = _INPUT_MAP[0]
    sets = task.answers_are_sets
    return task.name, parse_stories(task.train, input_map, sets=sets), parse_stories(task.test, input_map, sets=sets)


def parsed_tasks(folder: Path, input_map_name: str, jobs: int, numbers: set[int] | None = None,
                 cache: Path | None = CACHE) -> list[tuple[str, list, list]]:
    """(name, parsed train, parsed test) for every task (of `numbers`, None: all) with both splits in
    `folder`, parsed by `jobs` processes, or read from `cache` (None: no cache) where an earlier run
    parsed the same stories with the same I (`parser_version`): the parse is then no part of the run."""
    tasks = [t for t in load_tasks(folder, numbers) if t.train and t.test]
    version = parser_version(input_map_name) if cache else ""
    files = {t.name: cache_file(t, version, cache) for t in tasks} if cache else {}
    parsed = {}
    gc.disable()   # unpickling a million small objects: the collector would walk them all, again and again
    try:
        for name, file in files.items():
            if file.exists():
                parsed[name] = pickle.loads(file.read_bytes())
    finally:
        gc.enable()
    todo = sorted((t for t in tasks if t.name not in parsed), key=lambda t: -len(t.train))  # the pool ends together
    if todo:
        _INPUT_MAP[:] = [make_input_map(input_map_name)]
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            for name, train, test in pool.map(_parse, todo, chunksize=1):
                parsed[name] = (name, train, test)
                if cache:
                    cache.mkdir(parents=True, exist_ok=True)
                    partial = files[name].with_suffix(".part")
                    partial.write_bytes(pickle.dumps(parsed[name], protocol=pickle.HIGHEST_PROTOCOL))
                    partial.replace(files[name])   # a run stopped while writing leaves no half file
    return [parsed[t.name] for t in tasks]


_TASKS: dict[str, list] = {}  # corpus -> parsed tasks, shared with forked workers


def _train_and_score(job: tuple[str, str, ModelConfig, int | None]) -> tuple[str, int, tuple[float, float], dict]:
    """Train on one task (index) or on all (None): the seconds it took (wall, and CPU of this
    process: the wall a machine with no other jobs would take), and each covered task's (accuracy,
    supporting-fact accuracy)."""
    setting, corpus, config, index = job
    start, cpu_start = time.perf_counter(), time.process_time()
    chosen = _TASKS[corpus] if index is None else [_TASKS[corpus][index]]
    model, log = train([s for _, train_set, _ in chosen for s in train_set], config, progress=False)
    trained = time.process_time() - cpu_start
    scores = {}
    for name, _, test_set in chosen:
        score = evaluate(model, test_set, sets=Task(name).answers_are_sets)   # task 8's lists in any order, as `memnet eval`
        scores[name] = (score.accuracy, score.support_accuracy)
        print(f"  {setting} seed {config.seed} {name}: {score.accuracy:.3f} (supports {score.support_accuracy:.3f}), "
              f"{len(log.epoch_losses)} epochs, {trained:.0f} CPU-s training{log.restarts_said()}", flush=True)
    return setting, config.seed, (time.perf_counter() - start, time.process_time() - cpu_start), scores


def run(settings: dict[str, list[int]], config: ModelConfig, jobs: int, earlier: dict | None = None) -> dict:
    """Every setting's trainings in one pool of `jobs` processes (joint models first, so the long
    jobs start early and the per-task ones fill the gaps, the tasks that took longest in the
    `earlier` results first, so that the pool ends together); then mean and spread per task."""
    work = []
    for setting, seeds in settings.items():
        corpus, mode = setting.split("/")
        indices = [None] if mode == "joint" else range(len(_TASKS[corpus]))
        work += [(setting, corpus, ModelConfig(**{**config.to_json(), "seed": seed}), i) for seed in seeds for i in indices]
    def cost(job) -> float:   # CPU seconds the job took last time (unknown: run it early)
        setting, corpus, _, index = job
        task = (earlier or {}).get(setting, {}).get("per_task", {}).get(_TASKS[corpus][index][0], {})
        return task.get("cpu_seconds", float("inf"))

    work.sort(key=lambda job: (job[3] is not None, 0.0 if job[3] is None else -cost(job)))
    start = time.perf_counter()
    gc.freeze()   # the parsed stories stay put: the workers' collectors need not walk (and copy) them
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        finished = pool.map(_train_and_score, work, chunksize=1)
    wall = time.perf_counter() - start
    return {setting: summarize(setting, seeds, [r for r in finished if r[0] == setting], config, jobs, wall)
            for setting, seeds in settings.items()}


def summarize(setting: str, seeds: list[int], finished: list, config: ModelConfig, jobs: int, wall: float) -> dict:
    per_seed: list[dict] = [{} for _ in seeds]
    cpu: dict[str, list[float]] = {}   # a per-task job's CPU seconds, by task
    for _, seed, seconds, scores in finished:
        per_seed[seeds.index(seed)].update(scores)
        if len(scores) == 1:
            cpu.setdefault(next(iter(scores)), []).append(seconds[1])
    names = [name for name, *_ in _TASKS[setting.split("/")[0]]]
    spread = lambda values: statistics.pstdev(values) if len(values) > 1 else 0.0  # noqa: E731
    per_task = {}
    for name in names:
        accuracies = [s[name][0] for s in per_seed]
        per_task[name] = {"accuracy": statistics.mean(accuracies), "spread": spread(accuracies),
                          "support_accuracy": statistics.mean(s[name][1] for s in per_seed), "n": 1000}
        if name in cpu:
            per_task[name]["cpu_seconds"] = statistics.mean(cpu[name])
    seed_means = [statistics.mean(s[n][0] for n in names) for s in per_seed]
    return {"per_task": per_task, "mean_accuracy": statistics.mean(seed_means), "spread": spread(seed_means),
            "passed": sum(t["accuracy"] >= PASS_MARK for t in per_task.values()), "seeds": seeds,
            "train_seconds": sum(seconds[0] for _, _, seconds, _ in finished),
            "cpu_seconds": sum(seconds[1] for _, _, seconds, _ in finished),
            "wall_seconds": wall, "jobs": jobs, "config": config.to_json()}


def load(facts: dict) -> str:
    """The 1-minute load average at the start and end of a run, as a clause: other jobs on the cores
    lengthen the wall time (not the CPU seconds)."""
    if "load_average" not in facts:
        return ""
    return ", load average {:.1f} at the start, {:.1f} at the end".format(*facts["load_average"])


def markdown(results: dict) -> str:
    settings = list(results)
    facts = results[settings[0]]["machine"]
    lines = ["# bAbI v1.2 benchmark", ""]
    lines += [f"- `{s}`: `{results[s]['command']}`, {results[s]['machine']['total_seconds']:.0f} s for the whole "
              f"command ({results[s]['machine']['date']}{load(results[s]['machine'])})" for s in settings]
    lines += ["", f"Machine: {facts['cpu']}, {facts['cores']} cores, torch {facts['torch']} "
              f"({facts['torch_threads']} thread per process, {results[settings[0]]['jobs']} processes), "
              f"Python {facts['python']}.", "",
              "Accuracy (%) on each task's 1000 test questions; mean ± spread (standard deviation) over seeds, "
              "supporting-fact accuracy in brackets. A task passes at ≥ 95%; ✗ marks one that does not "
              "(94.95 shows as 95.0).", "",
              "| task | " + " | ".join(settings) + " |", "|---|" + "---|" * len(settings)]
    for name in results[settings[0]]["per_task"]:
        cells = []
        for setting in settings:
            task = results[setting]["per_task"].get(name)
            cells.append("" if task is None else
                         f"{100 * task['accuracy']:.1f} ± {100 * task['spread']:.1f} ({100 * task['support_accuracy']:.0f})"
                         + (" ✗" if task["accuracy"] < PASS_MARK else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | " + " | ".join(
        f"**{100 * results[s]['mean_accuracy']:.1f} ± {100 * results[s]['spread']:.1f}**" for s in settings) + " |")
    lines.append("| **passed** | " + " | ".join(f"**{results[s]['passed']}/{len(results[s]['per_task'])}**" for s in settings) + " |")
    lines.append("| seeds | " + " | ".join(str(results[s]["seeds"]) for s in settings) + " |")
    lines.append("| training + scoring, process-seconds (all seeds) | " + " | ".join(
        f"{results[s]['train_seconds']:.0f}" for s in settings) + " |")
    lines.append("| training + scoring, CPU seconds (all seeds; other jobs on the cores do not count) | " + " | ".join(
        f"{results[s]['cpu_seconds']:.0f}" if "cpu_seconds" in results[s] else "" for s in settings) + " |")
    lines += ["", PUBLISHED, ""]
    lines += [f"Settings of `{s}`: " + json.dumps(results[s]["config"]) for s in settings]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", nargs="+", default=["en/per-task", "en/joint"],
                        help="which runs: <en|en-10k>/<per-task|joint>")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for the en per-task run")
    parser.add_argument("--joint-seeds", type=int, default=1, help="seeds for the joint and en-10k runs")
    parser.add_argument("--tasks", type=int, nargs="+", help="a pilot on these task numbers: prints the "
                        "table, writes no results (default: all tasks)")
    parser.add_argument("--jobs", type=int, default=2, help="training processes")
    parser.add_argument("--input", default="spacy", choices=["simple", "spacy"])
    parser.add_argument("--data", type=Path, default=SHARED, help="folder holding en/ and en-10k/")
    parser.add_argument("--hops", type=int, default=BABI_SETTINGS["hops"])
    parser.add_argument("--ngram-buckets", type=int, default=BABI_SETTINGS["ngram_buckets"])
    parser.add_argument("--epochs", type=int, default=BABI_SETTINGS["epochs"])
    parser.add_argument("--batch-size", type=int, default=ModelConfig.batch_size, help="questions per training step")
    parser.add_argument("--restarts", type=int, default=ModelConfig.restarts,
                        help="train each model this many times from other seeds and keep the lowest training error "
                             "(MemN2N §4.2; a run that fits its sampled training answers ends the restarts)")
    parser.add_argument("--fit-check", type=int, default=BABI_SETTINGS["fit_check"],
                        help="every this many epochs, stop a training once all its answers and supports are right (0: never)")
    parser.add_argument("--average", type=int, default=BABI_SETTINGS["average"],
                        help="keep the mean of this many weight snapshots over each training's last epoch (0: the last weights)")
    parser.add_argument("--cache", type=Path, default=CACHE,
                        help="folder for I's parse of each task, reused while the stories and I are unchanged")
    parser.add_argument("--no-cache", action="store_true", help="parse every task afresh and keep nothing")
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder for babi.json and babi.md")
    args = parser.parse_args()
    try:
        check_average(args.average, "--average")
    except ValueError as error:
        parser.error(str(error))
    configure()
    config = ModelConfig(**{**BABI_SETTINGS, "hops": args.hops, "ngram_buckets": args.ngram_buckets,
                            "epochs": args.epochs, "batch_size": args.batch_size, "fit_check": args.fit_check, "restarts": args.restarts, "average": args.average,
                            "input_map": args.input})
    start, load_before = time.perf_counter(), os.getloadavg()[0]
    settings = {}
    for setting in args.settings:
        corpus = setting.split("/")[0]
        if corpus not in _TASKS:
            _TASKS[corpus] = parsed_tasks(args.data / corpus, args.input, args.jobs, set(args.tasks or []) or None,
                                         None if args.no_cache else args.cache)
        settings[setting] = list(range(args.seeds if setting == "en/per-task" else args.joint_seeds))
        print(f"{setting}: {len(_TASKS[corpus])} tasks, seeds {settings[setting]}", flush=True)
    json_file = args.results / "babi.json"
    earlier = json.loads(json_file.read_text()) if json_file.exists() else {}
    results = run(settings, config, args.jobs, earlier)
    facts = machine.facts()   # its load average is the one at the end
    facts |= {"total_seconds": time.perf_counter() - start, "load_average": [load_before, facts["load_average_1min"]],
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    command = "python bench/babi.py " + " ".join(sys.argv[1:])
    for entry in results.values():
        entry.update(machine=facts, command=command)
    if args.tasks:
        print(markdown(results))
        return
    # settings not run this time keep their earlier results (en-10k runs apart from the en ones)
    args.results.mkdir(parents=True, exist_ok=True)
    merged = {**{k: v for k, v in earlier.items() if isinstance(v, dict) and "command" in v}, **results}
    json_file.write_text(json.dumps(merged, indent=1))
    (args.results / "babi.md").write_text(markdown(merged))
    print(markdown(results))


if __name__ == "__main__":
    main()
