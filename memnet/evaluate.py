"""Answer accuracy and supporting-fact accuracy of a model on parsed stories."""
from __future__ import annotations

import re
from dataclasses import dataclass

from tqdm.auto import tqdm

from memnet.batch import collate
from memnet.dataset import ParsedStory, make_examples
from memnet.features import answer_form
from memnet.model import MemNN

PASS_MARK = 0.95


@dataclass
class Score:
    accuracy: float
    support_accuracy: float
    n: int

    def to_json(self) -> dict:
        return {"accuracy": self.accuracy, "support_accuracy": self.support_accuracy, "n": self.n}


def same_answer(predicted: str, expected: str, sets: bool = False) -> bool:
    """Whether R's answer is the dataset's, compared as the words it names in order: a list or path
    written with commas, ", " or spaces ("apple,football", "apple, football", "apple football";
    "s s") is the same list, and a multi-word name reads the same joined or not ("New York",
    new_york). Lists compare in order, or in any order when list answers are sets
    (`Task.answers_are_sets`: task 8's lists; task 19's paths are sequences)."""
    ours, theirs = _words(predicted), _words(expected)
    return sorted(ours) == sorted(theirs) if sets else ours == theirs


def _words(answer: str) -> list[str]:
    return re.split(r"[\s,_]+", answer_form(answer).strip(" ,_"))


def evaluate(model: MemNN, stories: list[ParsedStory], batch_size: int = 64, progress: bool = False,
             sets: bool = False, misses: list | None = None) -> Score:
    """An answer counts when `same_answer` says it is the dataset's (`sets`: list answers in any order);
    supports count when O's picks (stop excluded) are exactly the labelled facts it had room for (the first k).
    `misses`, if given, receives (question index over all stories, R's answer, expected answer,
    O's picked statement indices) for each wrong answer."""
    examples = make_examples(stories, model.vocab)
    # newest-first memory tokens per question, so R can name answer words outside the dictionary
    tokens = [[s.tokens for s in reversed(story.memory[:n_memories])]
              for story in stories for _, n_memories, _, _ in story.questions]
    right = supported = 0
    for first in tqdm(range(0, len(examples), batch_size), disable=not progress, desc="eval", leave=False):
        chunk = examples[first : first + batch_size]
        batch = collate(chunk, model.config.memory_size)
        predictions = model.predict(batch, tokens[first : first + batch_size], top=1)
        for i, (example, prediction) in enumerate(zip(chunk, predictions), first):
            correct = same_answer(prediction.answer, example.answer, sets)
            right += correct
            picked = [example.n_memories - 1 - slot for slot in prediction.supports]
            if misses is not None and not correct:
                misses.append((i, prediction.answer, example.answer, picked))
            supported += set(picked) == set(example.supports[: model.config.hops])
    n = len(examples)
    return Score(right / max(n, 1), supported / max(n, 1), n)


def format_table(scores: dict[str, Score]) -> str:
    lines = [f"{'task':<36} {'accuracy':>9} {'supports':>9} {'n':>6}"]
    for name, score in scores.items():
        mark = " " if score.accuracy >= PASS_MARK else "x"
        lines.append(f"{name:<36} {score.accuracy:>9.1%} {score.support_accuracy:>9.1%} {score.n:>6} {mark}")
    mean = sum(s.accuracy for s in scores.values()) / max(len(scores), 1)
    passed = sum(s.accuracy >= PASS_MARK for s in scores.values())
    lines.append(f"{'mean':<36} {mean:>9.1%}   passed (>= {PASS_MARK:.0%}): {passed}/{len(scores)}")
    return "\n".join(lines)


def summarize(scores: dict[str, Score]) -> dict:
    return {"per_task": {name: s.to_json() for name, s in scores.items()},
            "mean_accuracy": sum(s.accuracy for s in scores.values()) / max(len(scores), 1),
            "passed": sum(s.accuracy >= PASS_MARK for s in scores.values())}
