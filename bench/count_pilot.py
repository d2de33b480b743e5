"""Pilot (issues 15 and 12): is bAbI 7's counting short of examples? en's qa7 train file has 25 questions
whose supports are two pick-ups alone (answer "two") and one of three; a per-task model then answers "Sandra
took the apple. Sandra took the milk." with `none`. Per seed, two models with `BABI_SETTINGS`: one trained on
the file, one on it plus `--stories` generated counting stories (qa7's own people, places and objects, the
everyday generator's pick-up and drop phrasings, and gives), where every question asks how many objects someone
holds, supported by all their pick-ups, drops and gives so far, as bAbI's are; both scored on en's qa7 test file.
Generated data is not bAbI 1k, so this is a pilot for the bundled model's training data, not a bAbI result.

    python bench/count_pilot.py [--seeds 3] [--stories 1000]   # about 10 min on 2 cores

Writes bench/results/count-pilot.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from memnet.data.babi import load_tasks  # noqa: E402
from memnet.data.conversations import counting_story, task_entities, task_words  # noqa: E402
from memnet.dataset import parse_stories  # noqa: E402
from memnet.evaluate import evaluate  # noqa: E402
from memnet.input.sentence import make_input_map  # noqa: E402
from memnet.model import BABI_SETTINGS, ModelConfig  # noqa: E402
from memnet.train import train  # noqa: E402
from simworld import RESULTS, machine  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--babi", type=Path, default=Path("../shared/babi"), help="folder with en/")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--stories", type=int, default=1000, help="generated counting stories")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    task = load_tasks(args.babi / "en", {7})[0]
    people, places, objects = task_words(task.train, task_entities(task.train))
    rng = random.Random(0)
    generated = [counting_story(rng.sample(people, 4), places, objects, rng) for _ in range(args.stories)]
    I = make_input_map("spacy")
    test = parse_stories(task.test, I)
    trainings = {"en train": parse_stories(task.train, I)}
    trainings[f"+ {args.stories} counting stories"] = trainings["en train"] + parse_stories(generated, I)
    results: dict[str, list[dict]] = {}
    for seed in range(args.seeds):
        config = ModelConfig(**{**BABI_SETTINGS, "seed": seed, "input_map": "spacy"})
        for name, stories in trainings.items():
            model, _ = train(stories, config, progress=False)
            score = evaluate(model, test)
            results.setdefault(name, []).append({"seed": seed, "accuracy": score.accuracy, "supports": score.support_accuracy})
            print(name, seed, round(100 * score.accuracy, 1), flush=True)
    report = {"command": "python bench/count_pilot.py " + " ".join(sys.argv[1:]), "seconds": round(time.perf_counter() - start),
              "machine": machine(), "places": places, "objects": objects, "people": people,
              "generated_questions": sum(len(s.questions) for s in generated), "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "count-pilot.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# bAbI 7 (counting) with generated counting stories (pilot)", "",
             f"Per task, en's qa7 test file; {report['generated_questions']} generated questions in the second row.", "",
             "| training | accuracy % per seed | mean | supports % (mean) |", "|---|---|---|---|"]
    for name, runs in results.items():
        per_seed = ", ".join(f"{100 * r['accuracy']:.1f}" for r in runs)
        lines.append(f"| {name} | {per_seed} | "
                     f"{100 * statistics.mean(r['accuracy'] for r in runs):.1f} | {100 * statistics.mean(r['supports'] for r in runs):.1f} |")
    lines += ["", f"Command: `{report['command'].strip()}`, {report['seconds']} s, "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {report['machine']}.", ""]
    (RESULTS / "count-pilot.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
