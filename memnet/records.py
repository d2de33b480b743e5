"""The records a question produces, from the model to the API to the app's JSON (both directions).

`Hop` is what O did at one hop; `Answer` is O's hops plus R's ranking for one question. The
same two records come out of batched evaluation (`MemNN.predict`), serving (`Recall.ask`,
`MemoryNetwork.ask`) and the app, so there is one shape to learn and one JSON form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

UNKNOWN = "unknown"   # R's dictionary word for "the memory does not say" (learned from questions without an answer)
NOTHING = "nothing"   # the empty set, as bAbI's task 8 answers "what is X carrying?" when X holds nothing


@dataclass
class Hop:
    """What O did at one hop for one question (paper §3.1 eq. 2-3, the stop memory of arXiv 1502.05698).

    `slot` names the memory picked: its slot index when O ran over a stored memory, its
    newest-first position when O ran over a `Batch`; None when the stop memory won.
    """

    hop: int                          # 1-based
    slot: int | None                  # the memory picked (None: the stop memory)
    score: float                      # s_O of the pick (of the stop memory when it stopped)
    slots: np.ndarray                 # (N,) int64: the memories scored at this hop, newest first
    scores: np.ndarray                # (N,) float32: their s_O
    stop_score: float | None = None   # s_O of the stop memory (hops after the first)
    text: str | None = None           # the picked slot's text as stored (serving only)

    def to_json(self) -> dict:
        return {"hop": self.hop, "slot": self.slot, "text": self.text, "score": self.score,
                "stop_score": self.stop_score,
                "scores": {str(s): float(v) for s, v in zip(self.slots.tolist(), self.scores.tolist())}}

    @classmethod
    def from_json(cls, data: dict) -> "Hop":
        """Inverse of `to_json`; raises KeyError, TypeError or ValueError on a malformed record."""
        scores = {int(s): float(v) for s, v in data["scores"].items()}
        slot = data["slot"]
        return cls(int(data["hop"]), None if slot is None else int(slot), float(data["score"]),
                   np.array(list(scores), dtype=np.int64), np.array(list(scores.values()), dtype=np.float32),
                   None if data.get("stop_score") is None else float(data["stop_score"]),
                   None if data.get("text") is None else str(data["text"]))


@dataclass
class Answer:
    """One question's answer: O's hops and R's ranking (best first); `message` says why there is no
    answer when there is none (an empty question, an empty memory)."""

    question: str
    answer: str
    hops: list[Hop] = field(default_factory=list)
    ranking: list[tuple[str, float]] = field(default_factory=list)   # R's answers with s_R, best first
    message: str = ""

    @property
    def abstained(self) -> bool:
        """R's best answer is `UNKNOWN`: the memory does not say (the app shows "I don't know")."""
        return self.answer == UNKNOWN

    @property
    def display(self) -> str:
        """The answer as people write it: each word of a list (", "-separated) and each multi-word
        name ("hardware_store") as the supporting facts spell it ("hardware store", "Zofia",
        "Tórshavn", "apples" for the lemma "apple"); a word no support holds ("yes", "two") as R names
        it, underscores as spaces."""
        texts = [hop.text for hop in self.hops if hop.text]

        def spelled(word: str) -> str:
            phrase = word.replace("_", " ")
            # R names lemmas: "apple" is spelled "apples" where the fact says so
            pattern = re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?:e?s)?(?!\w)", re.IGNORECASE)
            found = next((m for m in map(pattern.search, texts) if m), None)
            return found.group(0) if found else phrase

        return ", ".join(spelled(word) for word in self.answer.split(",")) if self.answer else ""

    @property
    def supports(self) -> list[int]:
        """The memories O picked, in hop order (the stop memory left out)."""
        return [hop.slot for hop in self.hops if hop.slot is not None]

    def to_json(self) -> dict:
        return {"question": self.question, "answer": self.answer, "display": self.display, "message": self.message,
                "hops": [hop.to_json() for hop in self.hops], "supports": self.supports,
                "ranking": [{"answer": a, "score": s} for a, s in self.ranking]}

    @classmethod
    def from_json(cls, data: dict) -> "Answer":
        """Inverse of `to_json`; raises KeyError, TypeError or ValueError on a malformed record."""
        return cls(str(data["question"]), str(data["answer"]), [Hop.from_json(h) for h in data["hops"]],
                   [(str(r["answer"]), float(r["score"])) for r in data["ranking"]], str(data.get("message", "")))
