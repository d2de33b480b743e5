"""G: the memory of one conversation. H picks the slot each input goes to; slots keep their write time.

The memory holds no weights: one trained model serves any number of memories.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from memnet.sentence import Sentence


@dataclass(frozen=True)
class Slot:
    index: int          # slot number, stable for the slot's life
    time: int           # write time: a counter over the conversation, never reused
    text: str           # as typed
    resolved: str       # as stored, after I (coreference)
    tokens: tuple[str, ...]
    message: int = 0    # which tell() wrote it, so undo can take a whole message back

    @property
    def sentence(self) -> Sentence:
        return Sentence(self.text, self.resolved, self.tokens)

    def to_json(self) -> dict:
        return {**asdict(self), "tokens": list(self.tokens)}


class MemoryFormatError(ValueError):
    """A memory export that cannot be restored; the message says what is wrong."""


@dataclass
class Memory:
    """Slots in write order. The simplest H of the paper: each input goes to the next free slot."""

    slots: list[Slot] = field(default_factory=list)
    clock: int = 0
    messages: int = 0

    def write(self, sentences: list[Sentence]) -> list[Slot]:
        """Store the statements of one message; returns the slots written."""
        self.messages += 1
        written = []
        for sentence in sentences:
            slot = Slot(len(self.slots), self.clock, sentence.text, sentence.resolved, tuple(sentence.tokens), self.messages)
            self.clock += 1
            self.slots.append(slot)
            written.append(slot)
        return written

    def undo(self) -> list[Slot]:
        """Forget the slots of the last message that wrote any; returns them."""
        if not self.slots:
            return []
        last = self.slots[-1].message
        removed = [s for s in self.slots if s.message == last]
        self.slots = [s for s in self.slots if s.message != last]
        return removed

    def clear(self) -> None:
        self.slots.clear()

    def __len__(self) -> int:
        return len(self.slots)

    def to_json(self) -> dict:
        return {"format": "memnet-memory/1", "clock": self.clock, "messages": self.messages,
                "slots": [slot.to_json() for slot in self.slots]}

    @classmethod
    def from_json(cls, data: object) -> "Memory":
        """Rebuild a memory from `to_json` output, checking every field."""
        if not isinstance(data, dict) or data.get("format") != "memnet-memory/1":
            raise MemoryFormatError("not a memnet memory export (expected format 'memnet-memory/1')")
        slots = []
        for i, raw in enumerate(data.get("slots", [])):
            try:
                slot = Slot(int(raw["index"]), int(raw["time"]), str(raw["text"]), str(raw["resolved"]),
                            tuple(str(t) for t in raw["tokens"]), int(raw.get("message", 0)))
            except (KeyError, TypeError, ValueError) as error:
                raise MemoryFormatError(f"slot {i} is malformed: {error!r}") from None
            slots.append(slot)
        times = [s.time for s in slots]
        if times != sorted(set(times)):
            raise MemoryFormatError("slot write times must be distinct and increasing")
        clock = max([int(data.get("clock", 0)), *(t + 1 for t in times)])
        messages = max([int(data.get("messages", 0)), *(s.message for s in slots)])
        return cls(slots, clock, messages)
