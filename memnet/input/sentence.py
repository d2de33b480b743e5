"""The contract of the input feature map I, and the simplest I that honours it.

I turns raw text into `Sentence`s: split into statements, pronouns resolved, words
normalised. Everything downstream (features, memory, training) sees only `Sentence`s,
so the spaCy I (`memnet.input.spacy_input`) can replace `SimpleInput` without touching G, O or R.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from memnet.input.clean import prepare

QUESTION_WORDS = frozenset("what where who whom whose which when why how is are was were do does did can could will would should".split())


@dataclass(frozen=True)
class Sentence:
    """One statement or question after I: what was typed, and what features are built from."""

    text: str                    # as typed (one sentence or clause of the user's message)
    resolved: str                # after coreference; equals `text` when nothing changed
    tokens: tuple[str, ...]      # normalised words (lemmas) that Φ is built from
    is_question: bool = False


class InputMap(Protocol):
    """I: text in, sentences out. `discourse` is per-conversation state (coreference)."""

    name: str

    def new_discourse(self) -> object: ...

    def __call__(self, text: str, discourse: object | None = None) -> list[Sentence]: ...

    def pipe(self, texts: Sequence[str], discourse: object | None = None) -> list[list[Sentence]]: ...


_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def simple_tokens(text: str) -> tuple[str, ...]:
    """Lower-cased word tokens, punctuation dropped: the pre-spaCy normaliser."""
    return tuple(_TOKEN.findall(text.lower()))


@dataclass
class SimpleInput:
    """I without a parser: the sentences of `memnet.input.clean.prepare`, lower-cased words, no coreference."""

    name: str = field(default="simple", init=False)

    def new_discourse(self) -> None:
        return None

    def __call__(self, text: str, discourse: object | None = None) -> list[Sentence]:
        sentences = []
        for part in (unit.text for unit in prepare(text).units if not unit.reason):
            tokens = simple_tokens(part)
            if not tokens:
                continue
            is_question = part.rstrip().endswith("?") or tokens[0] in QUESTION_WORDS
            sentences.append(Sentence(text=part, resolved=part, tokens=tokens, is_question=is_question))
        return sentences

    def pipe(self, texts: Sequence[str], discourse: object | None = None) -> list[list[Sentence]]:
        return [self(text, discourse) for text in texts]


def make_input_map(name: str) -> InputMap:
    """The I named in a checkpoint's config: "simple" or "spacy"."""
    if name == "simple":
        return SimpleInput()
    if name == "spacy":
        from memnet.input.spacy_input import SpacyInput  # heavy import, only when asked for

        return SpacyInput()
    raise ValueError(f"unknown input map {name!r}: expected 'simple' or 'spacy'")
