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
from memnet.input.clean import NO_WORDS, Skipped, prepare
from memnet.memory.slots import Memory, Slot
from memnet.model import MemNN
from memnet.recall import Recall
from memnet.input.sentence import InputMap, Sentence, make_input_map

QUESTION_IN_TELL = "a question: tell() stores statements; ask() answers questions"


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


class Told(list):
    """What `tell` stored: the list of slots written (as `tell` always returned), and `skipped`,
    each piece of the text that was not stored with the reason, as `Skipped(text, reason)`."""

    def __init__(self, slots: list[Slot], skipped: list[Skipped]):
        super().__init__(slots)
        self.skipped = skipped

    @property
    def slots(self) -> list[Slot]:
        return list(self)

    def to_json(self) -> dict:
        return {"slots": [slot.to_json() for slot in self], "skipped": [s.to_json() for s in self.skipped]}


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
        return self._read(text)[0]

    def _read(self, text: str) -> tuple[list[Sentence], list[Skipped]]:
        """I's sentences of one message, and every part of it I did not read, with the reason."""
        prepared = prepare(text)
        pieces = prepared.pieces()
        sentences, skipped = [], prepared.skipped
        for piece, read in zip(pieces, self.input_map.pipe(pieces, self.discourse)):
            sentences += read
            if not read:
                skipped.append(Skipped(piece, NO_WORDS))
        return sentences, skipped

    def tell(self, text: str) -> Told:
        """Store the statements in `text`; returns the slots written (a list), with `.skipped`:
        what was not stored and why (questions, no words, not English, a "word" too long)."""
        sentences, skipped = self._read(text)
        skipped += [Skipped(s.text, QUESTION_IN_TELL) for s in sentences if s.is_question]
        return Told(self.memory_store.write([s for s in sentences if not s.is_question]), skipped)

    def ask(self, question: str, hops: int | None = None) -> Answer:
        """Answer a question from memory: O's supporting slots per hop, then R's ranking."""
        sentences = self.read(question)
        return self._answer(sentences[0] if sentences else Sentence(question, question, ()), hops)

    def respond(self, text: str, hops: int | None = None) -> list[list[Slot] | Answer | Skipped]:
        """A chat turn: runs of statements are stored, each question answered, in order; then
        a `Skipped` for each part of the text that was not read."""
        replies: list[list[Slot] | Answer | Skipped] = []
        pending: list[Sentence] = []
        sentences, skipped = self._read(text)
        for sentence in sentences:
            if sentence.is_question:
                if pending:
                    replies.append(self.memory_store.write(pending))
                    pending = []
                replies.append(self._answer(sentence, hops))
            else:
                pending.append(sentence)
        if pending:
            replies.append(self.memory_store.write(pending))
        return replies + skipped

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
