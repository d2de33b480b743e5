"""The public API: a trained model paired with one conversation's memory.

    net = MemoryNetwork.load()            # the bundled model
    net.tell("John went to the kitchen. He picked up the milk.")
    net.ask("Where is the milk?").answer  # 'kitchen'

`MemoryNetwork.load` caches models by path, so every conversation shares one set of
read-only weights; `net.conversation()` starts another memory on the same model.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from memnet import checkpoint
from memnet.memory.slots import Memory, Slot
from memnet.model import MemNN
from memnet.recall import Recall
from memnet.input.sentence import InputMap, Sentence, make_input_map


@dataclass
class HopResult:
    """One hop of O: the slot it picked (None: the stop memory) and the score of every slot."""

    hop: int
    slot: Slot | None
    score: float
    scores: dict[int, float]           # slot index -> s_O at this hop

    def to_json(self) -> dict:
        return {"hop": self.hop, "slot": None if self.slot is None else self.slot.index,
                "text": None if self.slot is None else self.slot.resolved, "score": self.score,
                "scores": {str(k): v for k, v in self.scores.items()}}


@dataclass
class Answer:
    question: str
    answer: str
    hops: list[HopResult] = field(default_factory=list)
    candidates: list[tuple[str, float]] = field(default_factory=list)  # R's ranking, best first
    message: str = ""                  # why there is no answer, when there is none

    @property
    def supports(self) -> list[Slot]:
        return [hop.slot for hop in self.hops if hop.slot is not None]

    def to_json(self) -> dict:
        return {"question": self.question, "answer": self.answer, "message": self.message,
                "hops": [hop.to_json() for hop in self.hops],
                "supports": [slot.index for slot in self.supports],
                "candidates": [{"answer": a, "score": s} for a, s in self.candidates]}


@functools.lru_cache(maxsize=8)
def _cached_model(path: str) -> MemNN:
    return checkpoint.load(path)


class MemoryNetwork:
    """I, G, O and R for one conversation, over shared weights."""

    def __init__(self, model: MemNN, memory: Memory | None = None, input_map: InputMap | None = None):
        self.model = model
        self.input_map = input_map or make_input_map(model.config.input_map)
        self.memory_store = memory if memory is not None else Memory()
        self.recall = Recall(model, self.memory_store)  # exhaustive O; hashing past recall.AUTO_THRESHOLD slots
        self.discourse = self.input_map.new_discourse()

    @classmethod
    def load(cls, path: str | Path | None = None) -> "MemoryNetwork":
        """A fresh conversation on the checkpoint at `path` (default: the bundled model)."""
        resolved = Path(path) if path is not None else checkpoint.DEFAULT_MODEL
        return cls(_cached_model(str(resolved.resolve())))

    def conversation(self) -> "MemoryNetwork":
        """Another conversation, with an empty memory, on the same weights."""
        return MemoryNetwork(self.model, input_map=self.input_map)

    @property
    def memory(self) -> list[Slot]:
        return list(self.memory_store.slots)

    def read(self, text: str) -> list[Sentence]:
        """I: the sentences of one message (statements resolved, questions flagged)."""
        return self.input_map(text, self.discourse)

    def tell(self, text: str) -> list[Slot]:
        """Store the statements in `text` (questions in it are ignored); returns the slots written."""
        return self.memory_store.write([s for s in self.read(text) if not s.is_question])

    def ask(self, question: str, hops: int | None = None) -> Answer:
        """Answer a question from memory: O's supporting slots per hop, then R's ranking."""
        sentences = self.read(question)
        return self._answer(sentences[0] if sentences else Sentence(question, question, ()), hops)

    def respond(self, text: str, hops: int | None = None) -> list[list[Slot] | Answer]:
        """A chat turn: runs of statements are stored, each question answered, in order."""
        replies: list[list[Slot] | Answer] = []
        pending: list[Sentence] = []
        for sentence in self.read(text):
            if sentence.is_question:
                if pending:
                    replies.append(self.memory_store.write(pending))
                    pending = []
                replies.append(self._answer(sentence, hops))
            else:
                pending.append(sentence)
        if pending:
            replies.append(self.memory_store.write(pending))
        return replies

    def undo(self) -> list[Slot]:
        return self.memory_store.undo()

    def clear(self) -> None:
        self.memory_store.clear()
        self.discourse = self.input_map.new_discourse()

    def _answer(self, question: Sentence, hops: int | None) -> Answer:
        if not question.tokens:
            return Answer(question.text, "", message="The question is empty.")
        if not len(self.memory_store):
            return Answer(question.text, "", message="The memory is empty: tell me something first.")
        result = self.recall.ask(question.tokens, question.resolved, hops)
        results = [HopResult(number, None if hop.pick < 0 else self.memory_store.slot(hop.pick), hop.score,
                             dict(zip(hop.candidates.tolist(), hop.scores.tolist())))
                   for number, hop in enumerate(result.hops, start=1)]
        return Answer(question.text, result.answer, results, result.ranking)
