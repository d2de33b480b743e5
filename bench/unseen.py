"""Unseen words (§5.2.1): train on the simulation, test on a world of names never seen.

The test world has the same grammar but other name lists (actors, rooms and objects from
Figure 3's story), so every entity word is new to the model. The model is trained four
ways: without the §3.5 (context of unseen words) and §3.6 (exact match) features, with
each one alone, and with both. It reports accuracy on the unseen world and on a test split
of the training world, and whether it answers Figure 3's three questions, over a few
training seeds.

    .venv/bin/python bench/unseen.py            # ~10 min on 1 core

Writes bench/results/unseen.md and unseen.json.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from memnet.network import MemoryNetwork  # noqa: E402
from memnet.batch import collate  # noqa: E402
from memnet.dataset import make_examples  # noqa: E402
from memnet.data.world import generate, setting_config  # noqa: E402
from memnet.model import ModelConfig  # noqa: E402
from memnet.input.sentence import SimpleInput  # noqa: E402
from memnet.train import train  # noqa: E402
from simworld import QUESTIONS, RESULTS, STATEMENTS, machine, sentence_level  # noqa: E402

# Figure 3 of the paper, with its three questions and answers.
FIGURE_3 = ("Bilbo travelled to the cave. Gollum dropped the ring there. Bilbo took the ring. "
            "Bilbo went back to the Shire. Bilbo left the ring there. Frodo got the ring. "
            "Frodo journeyed to Mount-Doom. Frodo dropped the ring there. Sauron died. "
            "Frodo went back to the Shire. Bilbo travelled to the Grey-havens. The End.")
FIGURE_3_QUESTIONS = {"Where is the ring?": "mount-doom", "Where is Bilbo now?": "grey-havens",
                      "Where is Frodo now?": "shire"}
# Names for the unseen world: none occurs in the training world's lists or grammar.
UNSEEN_NAMES = dict(actors=("Bilbo", "Frodo", "Gollum", "Galadriel"), she=("Galadriel",),
                    rooms=("Shire", "cave", "Mount-Doom", "Grey-havens", "Rivendell"),
                    objects=("ring", "sword", "cloak"))
VARIANTS = {
    "no §3.5/§3.6 features": dict(unseen_context=False, match=False),
    "§3.6 match only": dict(unseen_context=False, match=True),
    "§3.5 context only": dict(unseen_context=True, match=False),
    "§3.5 + §3.6": dict(unseen_context=True, match=True),
}
SETTING, DIFFICULTY = "actor+object", 5


def accuracy(model, stories) -> float:
    """Answer accuracy, naming answers from the picked memories' words as the live API does
    (`memnet.evaluate` names only dictionary words, so it would score every unseen room wrong)."""
    right = total = 0
    for story in stories:
        examples = make_examples([story], model.vocab)
        if not examples:
            continue
        tokens = [[s.tokens for s in reversed(story.memory[:e.n_memories])] for e in examples]
        for example, prediction in zip(examples, model.predict(collate(examples), tokens, top=1)):
            right += prediction.answer.lower() == example.answer.lower()
        total += len(examples)
    return right / total


def figure_3(model) -> dict[str, str]:
    """The model's answer to each Figure 3 question, after reading the story."""
    net = MemoryNetwork(model, input_map=SimpleInput())
    net.tell(FIGURE_3)
    return {q: net.ask(q).answer.lower() for q in FIGURE_3_QUESTIONS}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per variant")
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    rng = random.Random("unseen")
    seen = setting_config(SETTING, difficulty=DIFFICULTY)
    unseen = setting_config(SETTING, difficulty=DIFFICULTY, **UNSEEN_NAMES)
    I = SimpleInput()
    train_set = sentence_level(generate(seen, STATEMENTS, QUESTIONS, rng), I)
    seen_test = sentence_level(generate(seen, STATEMENTS, QUESTIONS, rng), I)
    unseen_test = sentence_level(generate(unseen, STATEMENTS, QUESTIONS, rng), I)
    results = {}
    for name, features in VARIANTS.items():
        runs = []
        for seed in range(args.seeds):
            model, _ = train(train_set, ModelConfig(**features, epochs=args.epochs, seed=seed), progress=False)
            answers = figure_3(model)
            runs.append({"seed": seed, "unseen world": accuracy(model, unseen_test),
                         "seen world": accuracy(model, seen_test),
                         "figure 3": answers,
                         "figure 3 right": sum(answers[q] == a for q, a in FIGURE_3_QUESTIONS.items())})
            print(name, runs[-1], flush=True)
        results[name] = runs
    seconds = time.perf_counter() - start
    command = "python bench/unseen.py " + " ".join(sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "unseen.json").write_text(json.dumps(
        {"command": command.strip(), "seconds": round(seconds), "machine": machine(), "results": results},
        indent=2) + "\n")
    write_markdown(results, command.strip(), seconds, args)
    return 0


def write_markdown(results: dict, command: str, seconds: float, args) -> None:
    mean = lambda runs, key: 100 * sum(r[key] for r in runs) / len(runs)  # noqa: E731
    lines = ["# Unseen words (§5.2.1 of Memory Networks, arXiv 1410.3916)", "",
             f"Trained on the simulated world ({SETTING}, difficulty {DIFFICULTY}, {STATEMENTS} statements and"
             f" {QUESTIONS} questions, {args.epochs} epochs, k=2 +time); tested on {QUESTIONS} questions of a world"
             " with the same grammar and other names (" + ", ".join(sum(
                 (list(UNSEEN_NAMES[k]) for k in ("actors", "rooms", "objects")), [])) + "),"
             f" and on a test split of the training world. Mean over {args.seeds} training seeds.", "",
             "| features | unseen world (%) | training world (%) | Figure 3 questions right (of 3, per seed) |",
             "|---|---|---|---|"]
    for name, runs in results.items():
        lines.append(f"| {name} | {mean(runs, 'unseen world'):.1f} | {mean(runs, 'seen world'):.1f} | "
                     + ", ".join(str(r["figure 3 right"]) for r in runs) + " |")
    lines += ["", "The paper: without these features the model \"completely fails\" on unseen words; with them it"
              " answers Figure 3's questions (ring: Mount-Doom, Bilbo: Grey-havens, Frodo: Shire).", "",
              "Figure 3 answers, per variant and seed:", ""]
    for name, runs in results.items():
        for r in runs:
            lines.append(f"- {name}, seed {r['seed']}: " + "; ".join(f"{q} {a}" for q, a in r["figure 3"].items()))
    lines += ["", f"Command: `{command}`, {seconds:.0f} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
              f" {machine()}."]
    (RESULTS / "unseen.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
