"""Answer accuracy and supporting-fact accuracy of a model on parsed stories."""
from __future__ import annotations

from dataclasses import dataclass

from tqdm.auto import tqdm

from memnet.batch import collate
from memnet.dataset import ParsedStory, make_examples
from memnet.model import MemNN

PASS_MARK = 0.95


@dataclass
class Score:
    accuracy: float
    support_accuracy: float
    n: int

    def to_json(self) -> dict:
        return {"accuracy": self.accuracy, "support_accuracy": self.support_accuracy, "n": self.n}


def evaluate(model: MemNN, stories: list[ParsedStory], batch_size: int = 64, progress: bool = False) -> Score:
    """An answer counts when it equals the dataset's answer string; supports count when O's
    picks (stop excluded) are exactly the labelled facts it had room for (the first k)."""
    examples = make_examples(stories, model.vocab)
    right = supported = 0
    for first in tqdm(range(0, len(examples), batch_size), disable=not progress, desc="eval", leave=False):
        chunk = examples[first : first + batch_size]
        batch = collate(chunk, model.config.memory_size)
        for example, prediction in zip(chunk, model.predict(batch, top=1)):
            right += prediction.answer == example.answer
            picked = [example.n_memories - 1 - hop.pick for hop in prediction.hops if hop.pick >= 0]
            supported += set(picked) == set(example.supports[: model.config.hops])
    n = len(examples)
    return Score(right / max(n, 1), supported / max(n, 1), n)
