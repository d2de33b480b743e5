"""Coreference of the spaCy I: resolution accuracy, and what it does for answers on bAbI 11 and 13.

Resolution accuracy on bAbI: for every question whose last supporting fact contains a pronoun,
the supporting facts say whom it means (the subject of the earlier fact). The resolved text
must name exactly those people. On the hand-written set (tests/data/coref_cases.jsonl) the
resolved text of the last statement must equal the expected one.

Answer accuracy: one model per task and per I, trained on the 1k train split and scored on
the test split: "simple" (no parser), "spacy" without coreference, "spacy" with it.

    python bench/coref.py            # writes bench/results/coref.json and coref.md
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import machine  # noqa: E402  (bench/machine.py)
from memnet.data.babi import load_tasks  # noqa: E402
from memnet.dataset import parse_stories  # noqa: E402
from memnet.evaluate import evaluate  # noqa: E402
from memnet.model import ModelConfig  # noqa: E402
from memnet.input.sentence import SimpleInput  # noqa: E402
from memnet.input.spacy_input import SpacyInput, load_nlp  # noqa: E402
from memnet.train import train  # noqa: E402

BABI = REPO.parent / "shared" / "babi" / "en"
CASES = REPO / "tests" / "data" / "coref_cases.jsonl"
RESULTS = REPO / "bench" / "results"
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
_PRONOUN = re.compile(r"\b(he|she|they|him|her|them)\b", re.I)
BABI_CONNECTIVES = {"After", "Afterwards", "Then", "Following"}


def code_version() -> dict:
    """The commit the answers were measured on, and which memnet files differed from it."""
    git = ["git", "-C", str(REPO)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "memnet"], capture_output=True, text=True).stdout.split("\n")
    return {"commit": head, "uncommitted_memnet_files": [line[3:] for line in dirty if line.strip()]}


def babi_resolution(spacy_input: SpacyInput, task) -> dict:
    """Share of pronoun statements that name exactly the people their supporting facts say."""
    right = total = 0
    for story in parse_stories(task.test, spacy_input):
        seen = set()
        for question, _, supports, _ in story.questions:
            if len(supports) < 2 or supports[-1] in seen:
                continue
            memory, antecedent = story.memory[supports[-1]], story.memory[supports[0]]
            if not _PRONOUN.search(memory.text):
                continue
            seen.add(supports[-1])
            added = _names(memory.resolved) - _names(memory.text)
            total += 1
            right += added == _names(antecedent.resolved) and question.tokens[-1] in {n.lower() for n in added}
    return {"accuracy": right / max(total, 1), "n": total}


def _names(text: str) -> set[str]:
    return set(_CAPITALISED.findall(text)) - BABI_CONNECTIVES


def hand_written(spacy_input: SpacyInput) -> dict:
    by_kind, right = Counter(), Counter()
    failures = []
    for line in CASES.open():
        case = json.loads(line)
        discourse = spacy_input.new_discourse()
        resolved = [spacy_input(m, discourse) for m in case["story"]][-1][-1].resolved
        by_kind[case["kind"]] += 1
        if resolved == case["expect"]:
            right[case["kind"]] += 1
        else:
            failures.append({"id": case["id"], "got": resolved, "expected": case["expect"], "note": case["note"]})
    n = sum(by_kind.values())
    return {"accuracy": sum(right.values()) / n, "n": n,
            "by_kind": {k: f"{right[k]}/{by_kind[k]}" for k in by_kind}, "failures": failures}


def answer_accuracy(task, input_maps: dict, epochs: int, seeds: list[int]) -> dict:
    """Mean test accuracy over seeds of a model trained per I; the per-seed figures too."""
    out = {}
    for name, input_map in input_maps.items():
        start = time.perf_counter()
        train_stories, test_stories = parse_stories(task.train, input_map), parse_stories(task.test, input_map)
        runs = []
        for seed in seeds:
            model, _ = train(train_stories, ModelConfig(epochs=epochs, seed=seed, input_map=input_map.name), progress=False)
            runs.append(evaluate(model, test_stories).to_json())
        out[name] = {"accuracy": sum(r["accuracy"] for r in runs) / len(runs),
                     "support_accuracy": sum(r["support_accuracy"] for r in runs) / len(runs),
                     "per_seed": [r["accuracy"] for r in runs], "n": runs[0]["n"],
                     "seconds": round(time.perf_counter() - start, 1)}
        print(task.name, name, out[name], flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--no-answers", action="store_true", help="skip the model training (resolution only)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    nlp = load_nlp()
    spacy_input = SpacyInput(nlp)
    tasks = load_tasks(BABI, {11, 13})
    result = {
        "command": "python bench/coref.py" + (" --no-answers" if args.no_answers else ""),
        "machine": machine.facts(),
        "code": code_version(),
        "babi_resolution": {t.name: babi_resolution(spacy_input, t) for t in tasks},
        "hand_written": hand_written(spacy_input),
    }
    if not args.no_answers:
        maps = {"simple": SimpleInput(), "spacy_no_coref": SpacyInput(nlp, coref=False), "spacy": spacy_input}
        result["answers"] = {"epochs": args.epochs, "seeds": args.seeds,
                             **{t.name: answer_accuracy(t, maps, args.epochs, args.seeds) for t in tasks}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "coref.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "coref.md").write_text(report(result))
    print(report(result))


def report(r: dict) -> str:
    lines = ["# Coreference of the spaCy I", "", f"Command: `{r['command']}`  ", f"Machine: {r['machine']}  ",
             f"Code: {r['code']}", "",
             "## Resolution accuracy", "", "| set | accuracy | n |", "|---|---|---|"]
    for name, s in r["babi_resolution"].items():
        lines.append(f"| bAbI {name} (test) | {s['accuracy']:.1%} | {s['n']} |")
    h = r["hand_written"]
    lines.append(f"| hand-written (tests/data/coref_cases.jsonl) | {h['accuracy']:.1%} | {h['n']} |")
    lines += ["", "Hand-written by kind: " + ", ".join(f"{k} {v}" for k, v in h["by_kind"].items()), ""]
    lines += [f"- failed `{f['id']}`: got \"{f['got']}\", expected \"{f['expected']}\" ({f['note']})" for f in h["failures"]]
    if "answers" in r:
        a = r["answers"]
        lines += ["", f"## Answer accuracy (1k train, test split, {a['epochs']} epochs, mean over seeds {a['seeds']})", "",
                  "| task | simple I | spaCy I, no coreference | spaCy I with coreference |", "|---|---|---|---|"]
        for task, s in a.items():
            if isinstance(s, dict):
                lines.append(f"| {task} | " + " | ".join(
                    f"{s[k]['accuracy']:.1%} (supports {s[k]['support_accuracy']:.1%})" for k in ("simple", "spacy_no_coref", "spacy")) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
