"""G: the memory of one conversation, stored as columns so that it can hold millions of slots.

Every slot lives at a fixed position (its `index`). H picks the position an input goes to:
a free one, the next one, or, when a capacity is set and the memory is full, the least
useful slot (forgetting, paper §2). The columns O reads (write time, word keys, usage) are
numpy arrays, so readers never loop over slots in Python; they notice what changed by
comparing write times, which are never reused.

The memory holds no weights: one trained model serves any number of memories.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Hashable, Iterable

import numpy as np

from memnet.features import token_key
from memnet.input.clean import MAX_CHARS, MAX_WORD
from memnet.input.sentence import Sentence

FREE = -1  # write time of a position that holds no slot
TRAILING = frozenset({"there", "here", "now", "then", "again"})   # end a clause without naming its object


@dataclass(frozen=True)
class Slot:
    index: int          # position, stable for the slot's life (H may later overwrite it)
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


def key_rows(token_lists: Iterable[tuple[str, ...]], width: int) -> np.ndarray:
    """Word keys of sentences as a zero-padded (n, width) matrix."""
    token_lists = list(token_lists)
    keys = np.zeros((len(token_lists), width), dtype=np.int64)
    for row, tokens in enumerate(token_lists):
        keys[row, : len(tokens)] = [token_key(t) for t in tokens]
    return keys


class Memory:
    """Slots at positions 0..size-1; a position whose time is FREE holds nothing.

    `capacity` (None: unbounded) turns on forgetting. `word_class` maps a word to its class
    (e.g. its cluster-hash bucket): with it, H knows that "John went to the office" supersedes
    "John went to the kitchen" (same subject, same class of final word, newer), and forgets
    superseded slots first.
    """

    RECENCY, USE, SUPERSEDED = 1.0, 0.25, 2.0   # weights of the usefulness score

    def __init__(self, slots: Iterable[Slot] = (), clock: int = 0, messages: int = 0,
                 capacity: int | None = None, word_class: Callable[[str], Hashable] | None = None):
        if capacity is not None and capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.word_class = word_class
        self.clock, self.messages = clock, messages
        self.version = 0   # bumped by every change of a slot, so readers can skip checking
        self.cleared = 0   # clears so far: write times start again at 0 after one, so they no longer tell slots apart
        self.size = 0
        self.time = np.zeros(0, dtype=np.int64)
        self.message = np.zeros(0, dtype=np.int64)
        self.hits = np.zeros(0, dtype=np.float32)      # how often O picked the slot
        self.last_pick = np.zeros(0, dtype=np.int64)   # clock when O last picked it (FREE: never)
        self.frame = np.zeros(0, dtype=np.int64)       # supersession frame id (-1: none)
        self.keys = np.zeros((0, 1), dtype=np.int64)   # word keys, zero-padded
        self.text: list[str] = []
        self.resolved: list[str] = []
        self.tokens: list[tuple[str, ...]] = []
        self._frames: dict[Hashable, int] = {}
        slots = sorted(slots, key=lambda s: s.time)
        if slots:
            self._reserve(max(s.index for s in slots) + 1, max(len(s.tokens) for s in slots))
            self.size = max(s.index for s in slots) + 1
            for slot in slots:
                self.clock, self.messages = slot.time, slot.message
                self._put([slot.index], [slot.sentence])
            self.clock, self.messages = clock, messages

    # ---- storage ---------------------------------------------------------------------
    def _reserve(self, rows: int, width: int) -> None:
        """Grow the columns (doubling) to hold `rows` positions of up to `width` words."""
        old = len(self.time)
        if rows > old:
            new = max(rows, 2 * old, 16)
            grow = new - old
            self.time = np.concatenate([self.time, np.full(grow, FREE, dtype=np.int64)])
            self.message = np.concatenate([self.message, np.zeros(grow, dtype=np.int64)])
            self.hits = np.concatenate([self.hits, np.zeros(grow, dtype=np.float32)])
            self.last_pick = np.concatenate([self.last_pick, np.full(grow, FREE, dtype=np.int64)])
            self.frame = np.concatenate([self.frame, np.full(grow, -1, dtype=np.int64)])
            self.text += [""] * grow
            self.resolved += [""] * grow
            self.tokens += [()] * grow
        if rows > old or width > self.keys.shape[1]:
            keys = np.zeros((len(self.time), max(width, self.keys.shape[1])), dtype=np.int64)
            keys[: self.keys.shape[0], : self.keys.shape[1]] = self.keys
            self.keys = keys

    def _put(self, positions: list[int], sentences: list[Sentence]) -> None:
        """Write sentences at positions, stamping consecutive write times."""
        self.version += 1
        self.time[positions] = np.arange(self.clock, self.clock + len(positions))
        self.clock += len(positions)
        self.message[positions] = self.messages
        self.hits[positions], self.last_pick[positions] = 0, FREE
        for position, sentence in zip(positions, sentences):
            self.text[position], self.resolved[position] = sentence.text, sentence.resolved
            self.tokens[position] = tuple(sentence.tokens)
            self.frame[position] = self._frame_id(self.tokens[position])
        self.keys[positions] = key_rows((self.tokens[p] for p in positions), self.keys.shape[1])

    def _frame_id(self, tokens: tuple[str, ...]) -> int:
        """Slots with one frame say the same kind of thing about one subject: (first word, class of
        the last word that names something); a newer one supersedes the older."""
        named = [t for t in tokens[1:] if t not in TRAILING]
        if self.word_class is None or not named:
            return -1
        return self._frames.setdefault((tokens[0], self.word_class(named[-1])), len(self._frames))

    def set_word_class(self, word_class: Callable[[str], Hashable] | None) -> None:
        """Change the word classes that decide supersession (recomputes every slot's frame)."""
        self.word_class, self._frames = word_class, {}
        for position in self.live():
            self.frame[position] = self._frame_id(self.tokens[position])

    # ---- columns, for `memnet.memory.store` -------------------------------------------------------
    COLUMNS = ("time", "message", "hits", "last_pick", "keys")

    def columns(self) -> dict[str, np.ndarray]:
        """The array columns over positions 0..size-1."""
        return {name: np.ascontiguousarray(getattr(self, name)[: self.size]) for name in self.COLUMNS}

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray], text: list[str], resolved: list[str],
                     tokens: list[tuple[str, ...]], clock: int, messages: int, capacity: int | None = None,
                     word_class: Callable[[str], Hashable] | None = None) -> "Memory":
        """A memory from `columns()` output and the per-position strings, without per-slot work."""
        memory = cls(clock=clock, messages=messages, capacity=capacity)
        size = len(columns["time"])
        if not all(len(columns[name]) == size for name in cls.COLUMNS) or not len(text) == len(resolved) == len(tokens) == size:
            raise MemoryFormatError("memory columns have different lengths")
        memory._reserve(size, columns["keys"].shape[1] if size else 1)
        memory.size = size
        for name in cls.COLUMNS:
            getattr(memory, name)[:size] = columns[name]
        memory.version += 1
        memory.text[:size], memory.resolved[:size], memory.tokens[:size] = text, resolved, tokens
        if word_class is not None:
            memory.set_word_class(word_class)
        return memory

    # ---- H: where each input goes ------------------------------------------------------
    def live(self) -> np.ndarray:
        """Positions that hold a slot, oldest first."""
        positions = np.flatnonzero(self.time[: self.size] != FREE)
        return positions[np.argsort(self.time[positions], kind="stable")]

    def newest(self, count: int | None = None, among: np.ndarray | None = None) -> np.ndarray:
        """Positions that hold a slot, newest first (Algorithm 1's order): all of them, or those of
        `among` (live positions, e.g. a hop's candidates); only the newest `count` when given."""
        time = self.time[: self.size]
        live = np.flatnonzero(time != FREE) if among is None else np.asarray(among)
        if count is not None and count < len(live):
            live = live[np.argpartition(-time[live], count - 1)[:count]] if count else live[:0]
        return live[np.argsort(-time[live], kind="stable")]

    def superseded(self) -> np.ndarray:
        """Per position: does a newer slot with the same frame make this one redundant?"""
        time, frame = self.time[: self.size], self.frame[: self.size]
        framed = (frame >= 0) & (time != FREE)
        latest = np.full(len(self._frames) + 1, FREE, dtype=np.int64)
        np.maximum.at(latest, frame[framed], time[framed])
        return framed & (latest[frame] > time)

    def usefulness(self) -> np.ndarray:
        """Per position, higher keeps: recency of the last write or pick (0..1), plus how often
        O picked it, minus a penalty when superseded. FREE positions score -inf."""
        time = self.time[: self.size]
        recent = np.maximum(time, self.last_pick[: self.size])
        score = (self.RECENCY * (recent + 1) / max(self.clock, 1) + self.USE * np.log1p(self.hits[: self.size])
                 - self.SUPERSEDED * self.superseded())
        return np.where(time == FREE, -np.inf, score)

    def _place(self, holes: list[int]) -> int:
        """H: a free position, else the next one, else (full) the least useful slot."""
        if holes:
            return holes.pop()
        if self.capacity is None or self.size < self.capacity:
            self._reserve(self.size + 1, 1)
            self.size += 1
            return self.size - 1
        return int(np.argmax(-self.usefulness()))

    def write(self, sentences: list[Sentence]) -> list[Slot]:
        """Store the statements of one message; returns the slots written."""
        self.messages += 1
        if not sentences:
            return []
        self._reserve(self.size, max(len(s.tokens) for s in sentences))
        holes = sorted(np.flatnonzero(self.time[: self.size] == FREE).tolist(), reverse=True)
        if not holes and (self.capacity is None or self.size + len(sentences) <= self.capacity):
            positions = list(range(self.size, self.size + len(sentences)))   # plain appends, in one go
            self._reserve(self.size + len(sentences), 1)
            self.size += len(sentences)
            self._put(positions, sentences)
        else:
            positions = []
            for sentence in sentences:   # each choice sees the writes before it
                positions.append(self._place(holes))
                self._put(positions[-1:], [sentence])
        return [self.slot(p) for p in positions]

    def touch(self, positions: Iterable[int]) -> None:
        """O picked these slots: they count as used now (forgetting keeps them longer)."""
        positions = [p for p in positions if 0 <= p < self.size and self.time[p] != FREE]
        np.add.at(self.hits, positions, 1)
        self.last_pick[positions] = self.clock

    # ---- reading and editing ------------------------------------------------------------
    def slot(self, position: int) -> Slot:
        return Slot(position, int(self.time[position]), self.text[position], self.resolved[position],
                    self.tokens[position], int(self.message[position]))

    @property
    def slots(self) -> list[Slot]:
        """The live slots, oldest first (builds objects: for small memories and exports)."""
        return [self.slot(int(p)) for p in self.live()]

    def _free(self, positions: np.ndarray) -> None:
        self.version += 1
        self.time[positions] = FREE
        self.keys[positions] = 0
        self.frame[positions] = -1
        for position in positions.tolist():
            self.text[position], self.resolved[position], self.tokens[position] = "", "", ()
        while self.size and self.time[self.size - 1] == FREE:
            self.size -= 1

    def undo(self) -> list[Slot]:
        """Forget the slots of the last message that wrote any; returns them.
        (Slots that message overwrote are not restored.)"""
        live = self.live()
        if not len(live):
            return []
        last = self.message[live[-1]]
        positions = live[self.message[live] == last]
        removed = [self.slot(int(p)) for p in positions]
        self._free(positions)
        return removed

    def clear(self) -> None:
        """Forget every slot. Write times and message numbers start again at 0: a cleared memory is a
        new one (after a Clear the app's table read 30, 31, ... for the first slots)."""
        self._free(np.arange(self.size))
        self.clock = self.messages = 0
        self.cleared += 1

    def __len__(self) -> int:
        return int(np.count_nonzero(self.time[: self.size] != FREE))

    def to_json(self) -> dict:
        data = {"format": "memnet-memory/1", "clock": self.clock, "messages": self.messages,
                "slots": [slot.to_json() for slot in self.slots]}
        if self.capacity is not None:
            data["capacity"] = self.capacity
        return data

    @classmethod
    def from_json(cls, data: object, limit: int | None = None) -> "Memory":
        """Rebuild a memory from `to_json` output, checking every field's type before anything is
        allocated; `limit` bounds the number of slots and every index (an index of 10,000,000
        would otherwise allocate columns for ten million positions). Raises MemoryFormatError."""
        if not isinstance(data, dict) or data.get("format") != "memnet-memory/1":
            raise MemoryFormatError("not a memnet memory export (expected format 'memnet-memory/1')")
        raw_slots = data.get("slots", [])
        if not isinstance(raw_slots, list):
            raise MemoryFormatError("'slots' must be a list")
        if limit is not None and len(raw_slots) > limit:
            raise MemoryFormatError(f"it holds {len(raw_slots):,} slots; the limit is {limit:,}")
        slots = []
        for i, raw in enumerate(raw_slots):
            problem = _slot_problem(raw, limit)
            if problem:
                raise MemoryFormatError(f"slot {i} is malformed: {problem}")
            slots.append(Slot(raw["index"], raw["time"], raw["text"], raw["resolved"], tuple(raw["tokens"]), raw.get("message", 0)))
        width = max((len(s.tokens) for s in slots), default=0)
        span = max((s.index + 1 for s in slots), default=0)
        if limit is not None and width * span > MAX_KEY_CELLS:
            raise MemoryFormatError(f"its slots span {span:,} positions and the longest has {width:,} words: "
                                    f"the word-key table would need {width * span:,} cells; the limit is {MAX_KEY_CELLS:,}")
        times = [s.time for s in slots]
        if times != sorted(set(times)):
            raise MemoryFormatError("slot write times must be distinct and increasing")
        indices = [s.index for s in slots]
        if len(set(indices)) != len(indices):
            raise MemoryFormatError("slot indices must be distinct")
        capacity = data.get("capacity")
        if capacity is not None and (not _whole(capacity) or capacity < max(len(slots), 1)):
            raise MemoryFormatError("capacity must be an integer no smaller than the number of slots")
        for name in ("clock", "messages"):
            if not _whole(data.get(name, 0)):
                raise MemoryFormatError(f"'{name}' must be an integer from 0 to {MAX_COUNT:,}, not {data[name]!r:.40}")
        clock = max([data.get("clock", 0), *(t + 1 for t in times)])
        messages = max([data.get("messages", 0), *(s.message for s in slots)])
        return cls(slots, clock, messages, capacity)


MAX_TOKENS = 10_000          # words in one imported slot (the key matrix is as wide as the longest slot)
MAX_COUNT = 2**31 - 1        # clock, write times, message numbers, indices: far beyond any conversation, far within int64
MAX_KEY_CELLS = 20_000_000   # positions x words of an import with a limit: 160 MB of int64 keys


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def _slot_problem(raw: object, limit: int | None) -> str | None:
    """What is wrong with one exported slot, or None."""
    if not isinstance(raw, dict):
        return "expected an object with index, time, text, resolved and tokens"
    missing = [name for name in ("index", "time", "text", "resolved", "tokens") if name not in raw]
    if missing:
        return f"missing {', '.join(missing)}"
    for name in ("index", "time", "message"):
        if name in raw and not _whole(raw[name]):
            return f"'{name}' must be an integer from 0 to {MAX_COUNT:,}, not {raw[name]!r:.40}"
    if limit is not None and raw["index"] >= limit:
        return f"index {raw['index']:,} is beyond the limit of {limit:,} slots"
    if not isinstance(raw["text"], str) or not isinstance(raw["resolved"], str):
        return "'text' and 'resolved' must be strings"
    if max(len(raw["text"]), len(raw["resolved"])) > MAX_CHARS:
        return f"a text of {max(len(raw['text']), len(raw['resolved'])):,} characters; I stores at most {MAX_CHARS:,} in a slot"
    tokens = raw["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        return f"'tokens' must be a list of words, not {tokens!r:.40}"
    if len(tokens) > MAX_TOKENS:
        return f"{len(tokens):,} tokens; the limit is {MAX_TOKENS:,}"
    longest = max(tokens, key=len, default="")
    if len(longest) > MAX_WORD:
        return f"a token of {len(longest):,} characters; the longest word I reads is {MAX_WORD}"
    return None
