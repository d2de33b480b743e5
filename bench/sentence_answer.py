"""Table 6 (appendix F): answers in sentences, from a GRU decoder fed [x, m_o1, m_o2].

A MemNN (k=2 +time) is trained on the simulated world as in Table 5 and finds the two
supporting memories for every test question; `memnet.sentence_decoder`'s decoder, trained
on the gold supporting facts of the training split, writes the answer sentence from the
question and the memories O picked. Table 6's metric: the sentence must contain the right
location, and a subject or pronoun only if it is the right one.

    .venv/bin/python bench/sentence_answer.py    # ~2 min on 1 core

Writes bench/results/sentence_answer.md and sentence_answer.json.
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

from memnet.batch import collate  # noqa: E402
from memnet.data.world import Question, generate, setting_config  # noqa: E402
from memnet.dataset import make_examples  # noqa: E402
from memnet.model import ModelConfig  # noqa: E402
from memnet.input.sentence import SimpleInput  # noqa: E402
from memnet.sentence_decoder import SentenceExample, sentence_correct, train_decoder  # noqa: E402
from memnet.train import train  # noqa: E402
from simworld import QUESTIONS, RESULTS, STATEMENTS, machine, sentence_level  # noqa: E402

SETTING, DIFFICULTY = "actor+object", 5
PAPER = 90.98  # MemNN + LSTM R, Table 6


def gold_examples(stories) -> list[tuple[SentenceExample, Question]]:
    return [(SentenceExample(q.text, tuple(story[s - 1].text for s in q.support), q.sentence), q)
            for story in stories for q in story if isinstance(q, Question)]


def picked_memories(model, parsed) -> list[tuple[str, ...]]:
    """The texts of the memories O picks for every question, in file order."""
    out = []
    for story in parsed:
        examples = make_examples([story], model.vocab)
        if not examples:
            continue
        for example, prediction in zip(examples, model.predict(collate(examples))):
            out.append(tuple(story.memory[example.n_memories - 1 - slot].text for slot in prediction.supports))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="MemNN epochs")
    parser.add_argument("--decoder-epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    config = setting_config(SETTING, difficulty=DIFFICULTY)
    rng = random.Random(f"{args.seed}-sentences")
    train_stories, test_stories = (generate(config, STATEMENTS, QUESTIONS, rng) for _ in range(2))
    memnn, _ = train(sentence_level(train_stories, SimpleInput()),
                     ModelConfig(hops=2, time=True, unseen_context=False, match=True, epochs=args.epochs,
                                 seed=args.seed), progress=False)
    decoder = train_decoder([e for e, _ in gold_examples(train_stories)], epochs=args.decoder_epochs,
                            dim=48, lr=0.01, seed=args.seed)
    test = gold_examples(test_stories)
    picked = picked_memories(memnn, sentence_level(test_stories, SimpleInput()))

    def score(examples) -> float:
        written = decoder.generate([e for e, _ in examples])
        right = sum(sentence_correct(s, q.answer, q.entity, "it" if q.kind == "object" else config.pronoun(q.entity),
                                     config.rooms, config.actors + config.objects)
                    for s, (_, q) in zip(written, examples))
        return right / len(examples)

    with_picks = [(SentenceExample(e.question, memories), q) for (e, q), memories in zip(test, picked)]
    results = {"MemNN + GRU decoder": score(with_picks), "gold supports + GRU decoder": score(test),
               "samples": decoder.generate([e for e, _ in with_picks[:8]])}
    seconds = time.perf_counter() - start
    command = ("python bench/sentence_answer.py " + " ".join(sys.argv[1:])).strip()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "sentence_answer.json").write_text(json.dumps(
        {"command": command, "seconds": round(seconds), "machine": machine(), "results": results}, indent=2) + "\n")
    lines = ["# Table 6: sentence answers (appendix F of Memory Networks, arXiv 1410.3916)", "",
             f"Simulated world, {SETTING}, difficulty {DIFFICULTY}; {STATEMENTS} statements and {QUESTIONS}"
             " questions per split. The MemNN (k=2 +time, §3.6 match on) picks m_o1, m_o2; a GRU"
             " encoder-decoder with attention (`memnet.sentence_decoder`, dim 48) writes the answer from"
             " [x, m_o1, m_o2]. Correct: the sentence names the right location and no wrong subject.", "",
             "| R | accuracy (%) |", "|---|---|",
             f"| MemNN + GRU decoder (ours) | {100 * results['MemNN + GRU decoder']:.2f} |",
             f"| gold supporting facts + GRU decoder (ours, upper bound) | "
             f"{100 * results['gold supports + GRU decoder']:.2f} |",
             f"| MemNN + LSTM (paper) | {PAPER:.2f} |", "",
             "Sample answers: " + "; ".join(f"\"{s}\"" for s in results["samples"]), "",
             f"Command: `{command}`, {seconds:.0f} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())},"
             f" {machine()}."]
    (RESULTS / "sentence_answer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
