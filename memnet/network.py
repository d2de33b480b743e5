"""The public API: a trained model paired with one conversation's memory, text in and answers out.

    net = MemoryNetwork.load()            # the bundled model
    net.tell("John went to the kitchen. He picked up the milk.")
    net.ask("Where is the milk?").answer  # 'kitchen'

One question's path: I (`memnet.input`) reads the text into a `Sentence`; `Recall` asks the
candidate index (`memnet.memory.index`, §3.3) which slots to score, O (`memnet.output`) picks the
supporting slots hop by hop over their stored U_O·Φy rows, R (`memnet.response`) ranks the
answers; the result is an `Answer` (`memnet.records`).

`MemoryNetwork.load` caches models by path, so every conversation shares one set of
read-only weights; `net.conversation()` starts another memory on the same model.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from memnet import checkpoint, output, response
from memnet.input.clean import NO_WORDS, Skipped, prepare
from memnet.input.sentence import InputMap, Sentence, make_input_map
from memnet.memory.index import Recent, Strategy, WordHash
from memnet.memory.slots import Memory, Slot
from memnet.model import MemNN
from memnet.records import Answer

AUTO_THRESHOLD = 20_000   # slots; past it hashing costs less than exhaustive O (bench/results/scale-crossover.md)


def check_hops(model: MemNN, hops: int | None) -> None:
    """Raises ValueError unless `hops` is None (the model's k) or a whole number from 1 to the model's maximum."""
    if hops is not None and not (isinstance(hops, int) and not isinstance(hops, bool) and 1 <= hops <= model.max_hops):
        raise ValueError(f"hops must be a whole number from 1 to {model.max_hops}, got {hops!r}")


class Recall:
    """G, O and R over a stored memory, without I: question tokens in, an `Answer` out.

    O scores the slots' stored U_O·Φy rows (`output.SlotVectors`), so a question costs one
    matrix-vector product over the candidate slots, the §3.6 match terms and Algorithm 1.
    `strategy`: None switches automatically: every slot below `threshold` slots, word hashing
    plus the `window` newest slots (`Recent`) above, where the two cost the same (on the town
    of bench/scale.py: 2.8 against 2.7 ms at 20k slots, 2.8 against 4.5 ms at 40k, picking what
    exhaustive O picks on 100% of 200 questions). "exhaustive" or a `memnet.memory.index`
    strategy fixes it.
    """

    def __init__(self, model: MemNN, memory: Memory, strategy: Strategy | str | None = None,
                 threshold: int = AUTO_THRESHOLD, window: int = 4096):
        self.model, self.memory = model, memory
        self.vectors = output.SlotVectors(model, memory)
        self.strategy, self.threshold, self.window = strategy, threshold, window
        self._large: Strategy | None = None

    def _strategy(self, live: int) -> Strategy | None:
        """How O gets its candidates over `live` slots (None: every slot)."""
        if self.strategy == "exhaustive":
            return None
        if self.strategy is not None:
            return self.strategy
        if live < self.threshold:
            return None
        if self._large is None:
            self._large = Recent(WordHash(self.memory), self.memory, self.window)
        return self._large

    @torch.inference_mode()   # no autograd bookkeeping at all: a tenth of a question's O and R time
    def ask(self, tokens: Sequence[str], text: str = "", hops: int | None = None, touch: bool = True) -> Answer:
        """O's hops over the candidate slots, then R over the supports. `touch` counts the picks as
        uses of their slots (forgetting keeps used slots longer). Raises ValueError for hops out of range."""
        check_hops(self.model, hops)
        q_ids, q_keys = (torch.from_numpy(a)[None] for a in self.model.vocab.encode(tokens))
        live = len(self.memory)   # a count over the slot columns: once per question
        strategy = self._strategy(live)
        if not live:
            found: list = []
        elif strategy is None:
            found = output.find_supports(self.model, q_ids, q_keys, self.vectors.memories(q_keys[0]), hops)[0]
        else:
            text = text or " ".join(tokens)
            found = output.find_supports(self.model, q_ids, q_keys, lambda picks: self.vectors.memories(
                q_keys[0], strategy.candidates(tokens, text, picks[0].tolist())), hops)[0]
        supports = [hop.slot for hop in found if hop.slot is not None]
        for hop in found:
            hop.text = None if hop.slot is None else self.memory.resolved[hop.slot]
        if touch:
            self.memory.touch(supports)
        if supports:
            sup_ids, sup_keys = torch.from_numpy(self.vectors.ids[supports]), torch.from_numpy(self.memory.keys[supports])
        else:
            sup_ids = sup_keys = torch.zeros((1, 1), dtype=torch.long)
        (ranking,) = response.rank(self.model, q_ids, q_keys, sup_ids[None], sup_keys[None],
                                   [[self.memory.tokens[p] for p in supports]])
        return Answer(text or " ".join(tokens), ranking[0][0] if ranking else "", found, ranking)


@dataclass
class Stored:
    """A chat event: a run of statements written to memory."""

    slots: list[Slot]


@dataclass
class Answered:
    """A chat event: a question answered."""

    answer: Answer


QUESTION_IN_TELL = "a question: tell() stores statements; ask() answers questions"


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
        self.recall = Recall(model, self.memory_store)  # exhaustive O; hashing past AUTO_THRESHOLD slots
        self.discourse = self.input_map.new_discourse()

    @classmethod
    def load(cls, path: str | Path | None = None) -> "MemoryNetwork":
        """A fresh conversation on the checkpoint at `path` (default: the bundled model)."""
        resolved = Path(path) if path is not None else checkpoint.DEFAULT_MODEL
        return cls(_cached_model(str(resolved.resolve())))

    def conversation(self, memory: Memory | None = None) -> "MemoryNetwork":
        """Another conversation on the same weights and I: with `memory` (a restored or imported one),
        or an empty one. Its coreference state starts fresh."""
        return MemoryNetwork(self.model, memory, self.input_map)

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
        """Answer a question from memory: O's supporting slots per hop, then R's ranking.
        Raises ValueError for hops out of range (`check_hops`)."""
        self.check_hops(hops)
        sentences = self.read(question)
        return self._answer(sentences[0] if sentences else Sentence(question, question, ()), hops)

    def respond(self, text: str, hops: int | None = None) -> list[Stored | Answered | Skipped]:
        """A chat turn: each run of statements is stored (a `Stored` event), each question answered
        (an `Answered` event), in the order they were typed; then a `Skipped` event for each part
        of the text that was not read, with the reason. Raises ValueError for hops out of range."""
        self.check_hops(hops)
        events: list[Stored | Answered | Skipped] = []
        pending: list[Sentence] = []
        sentences, skipped = self._read(text)
        for sentence in sentences:
            if sentence.is_question:
                if pending:
                    events.append(Stored(self.memory_store.write(pending)))
                    pending = []
                events.append(Answered(self._answer(sentence, hops)))
            else:
                pending.append(sentence)
        if pending:
            events.append(Stored(self.memory_store.write(pending)))
        return events + skipped

    def check_hops(self, hops: int | None) -> None:
        """Raises ValueError unless `hops` is None (the model's k) or between 1 and the model's maximum."""
        check_hops(self.model, hops)

    def peek(self, text: str) -> list[Sentence]:
        """I's reading of `text` as this conversation would read it now; its coreference state stays
        as it is (for showing a past question again, or asking it of another model)."""
        return self.input_map(text, copy.deepcopy(self.discourse))

    def explain(self, answer: Answer, slot: int) -> tuple[list[output.SlotWhy], list[response.AnswerWhy]]:
        """Why O scored `slot` as it did at each hop of `answer` that scored it (`output.explain`), and
        R's top answers in parts (`response.explain`). Raises KeyError or IndexError when a slot the
        answer used is gone from the memory."""
        sentences = self.peek(answer.question)
        q_ids, q_keys = (torch.from_numpy(a)[None] for a in self.model.vocab.encode(sentences[0].tokens if sentences else ()))
        vectors, memory = self.recall.vectors, self.memory_store
        scored = [(h, hop) for h, hop in enumerate(answer.hops) if slot in hop.slots]
        whys = [output.explain(self.model, q_ids, q_keys, vectors.memories(q_keys[0], slots=hop.slots),
                               answer.supports[:h], slot)
                for h, hop in scored]   # the memories as this hop scored them
        for why, (_, hop) in zip(whys, scored):
            if why.picked != (hop.slot == slot):   # hop 1's beam chose another pair of facts than Algorithm 1's winner
                why.picked, why.look_ahead = hop.slot == slot, True
        supports = answer.supports
        if supports:
            sup_ids, sup_keys = torch.from_numpy(vectors.ids[supports])[None], torch.from_numpy(memory.keys[supports])[None]
        else:
            sup_ids = sup_keys = torch.zeros((1, 1, 1), dtype=torch.long)
        return whys, response.explain(self.model, q_ids, q_keys, sup_ids, sup_keys, [memory.tokens[s] for s in supports])

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
        answer = self.recall.ask(question.tokens, question.resolved, hops)
        answer.question = question.text
        return answer
