"""How the model says "I don't know" (issue 12): the learned dictionary word `unknown` against a
learned abstention threshold on R's best score.

- word: R ranks `unknown` first (what the model does; `Answer.abstained`);
- threshold: `unknown` left out, abstain when R's best s_R is below a threshold fitted on a
  calibration set (everyday stories from the generator, training pools, a seed of their own): the
  lowest-error threshold that wrongly abstains on at most 2% of the answerable calibration questions.

Both are scored on the hand-written plain-English set (bench/data): the share of unanswerable
questions answered "unknown", and of answerable ones wrongly so.

    .venv/bin/python bench/abstention.py [--model assets/model]

Writes bench/results/abstention.md and .json.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from memnet import checkpoint  # noqa: E402
from memnet.batch import collate  # noqa: E402
from memnet.data.babi import read_stories  # noqa: E402
from memnet.data.conversations import BENCH_DATA, Drawer, babi_words, everyday_story, pools  # noqa: E402
from memnet.dataset import make_examples, parse_stories  # noqa: E402
from memnet.evaluate import same_answer  # noqa: E402
from memnet.input.sentence import make_input_map  # noqa: E402
from memnet.records import UNKNOWN  # noqa: E402
from simworld import RESULTS, machine  # noqa: E402


def rankings(model, stories) -> list[tuple[bool, bool, float, bool]]:
    """Per question: (answerable, R ranks unknown first, best non-unknown s_R, that answer right)."""
    examples = make_examples(stories, model.vocab)
    tokens = [[s.tokens for s in reversed(story.memory[:n])] for story in stories for _, n, _, _ in story.questions]
    out = []
    for first in range(0, len(examples), 64):
        chunk = examples[first : first + 64]
        for example, answer in zip(chunk, model.predict(collate(chunk), tokens[first : first + 64], top=3)):
            best = next(((w, s) for w, s in answer.ranking if w != UNKNOWN), ("", -np.inf))
            # lists as sets, as bench/conversations.py scores this set (its lists are all "what is X carrying")
            out.append((example.answer != UNKNOWN, answer.abstained, best[1], same_answer(best[0], example.answer, sets=True)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=checkpoint.DEFAULT_MODEL)
    parser.add_argument("--babi", type=Path, default=Path("../shared/babi"), help="folder with en-10k/ (pools exclude its words)")
    parser.add_argument("--stories", type=int, default=300, help="calibration stories")
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    model = checkpoint.load(args.model)
    I = make_input_map(model.config.input_map)
    train_pools, _ = pools(args.babi / "en-10k", babi_words(BENCH_DATA))   # as the generator draws them
    rng = random.Random("abstention-calibration")
    calibration = rankings(model, parse_stories([everyday_story(Drawer(train_pools, rng), rng) for _ in range(args.stories)], I))
    english = rankings(model, parse_stories([s for p in sorted(BENCH_DATA.glob("*.txt")) for s in read_stories(p)], I))

    answerable = np.array([a for a, *_ in calibration])
    best = np.array([s for _, _, s, _ in calibration])
    candidates = np.unique(best[np.isfinite(best)])
    allowed = [t for t in candidates if np.mean(best[answerable] < t) <= 0.02]
    threshold = min(allowed, key=lambda t: np.mean((best < t) != answerable)) if allowed else -np.inf

    def rates(rows, abstains) -> dict:
        yes = [ab for (a, *_), ab in zip(rows, abstains) if not a]
        no = [ab for (a, *_), ab in zip(rows, abstains) if a]
        right = [ab if not a else (not ab and ok) for (a, _, _, ok), ab in zip(rows, abstains)]
        return {"unanswerable answered unknown": float(np.mean(yes)), "answerable wrongly abstained": float(np.mean(no)),
                "accuracy": float(np.mean(right)), "n": len(rows)}

    results = {name: {"word": rates(rows, [w for _, w, _, _ in rows]),
                      "threshold": rates(rows, [s < threshold for _, _, s, _ in rows])}
               for name, rows in (("calibration", calibration), ("plain English", english))}
    root = Path(__file__).resolve().parent.parent
    shown = args.model.resolve().relative_to(root) if args.model.resolve().is_relative_to(root) else args.model
    report = {"command": "python bench/abstention.py " + " ".join(sys.argv[1:]), "model": str(shown),
              "threshold": float(threshold), "seconds": round(time.perf_counter() - start), "machine": machine(),
              "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "abstention.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = ["# Abstention: the word `unknown` against a threshold on R's score", "",
             f"Model `{shown}`; threshold {threshold:.2f} on R's best score (fitted on the calibration set).", "",
             "| set | way | unanswerable → unknown | answerable wrongly abstained | accuracy | questions |",
             "|---|---|---|---|---|---|"]
    for name, ways in results.items():
        for way, r in ways.items():
            lines.append(f"| {name} | {way} | {100 * r['unanswerable answered unknown']:.1f}% |"
                         f" {100 * r['answerable wrongly abstained']:.1f}% | {100 * r['accuracy']:.1f}% | {r['n']} |")
    lines += ["", f"Command: `{report['command'].strip()}`, {report['seconds']} s, {report['machine']}."]
    (RESULTS / "abstention.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
