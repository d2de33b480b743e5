"""The learned segmenter of appendix B, for input that arrives as a stream of words (§3.2).

seg(c) = W_segᵀ U_S Φ_seg(c): Φ_seg is a bag of words over the segmenter's own dictionary,
U_S (n × |W|) embeds it and W_seg reads one score off the embedding. Reading the stream
word by word, a statement ends as soon as seg(c) > γ for the words c of the statement read
so far. Training minimises eq. 12: max(0, γ − seg(f)) for every known statement f, plus
max(0, γ + seg(f̄)) for every other candidate f̄: each unfinished prefix of a statement (and,
optionally, each run that spills into the next one).

Between two statements a stream holds words that belong to neither: the connective that
joins them ("then", ", after that", "; "). The paper does not say what becomes of them. Left
in, most memories start with a random connective: words that sentence-level input (Table 5)
never has, and noise that the MemNN must learn to ignore. So the segmenter also
learns where a statement starts, with a second read-out of the same embedding:
lead(w) = W_leadᵀ U_S Φ_seg(w), trained with the same hinge to be > γ for the words found
between the known statements and < −γ for the first word of each statement. While no
statement has begun, a word with lead(w) > γ is passed over. Nothing about connectives is
written in: they are whatever the training streams put between their statements.

This is the paper's alternative to the parse-based splitting of `memnet.input.spacy_input`; the two are
compared in bench/segment.py.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import nn

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*|[.,;!?]")
_PUNCTUATION = frozenset(".,;!?")

# One known statement of a training stream: the words before it that belong to no statement
# (its connective, empty for the first), then the statement's own words.
Piece = tuple[Sequence[str], Sequence[str]]


def stream_words(text: str) -> list[str]:
    """The word stream the segmenter reads: lower-cased words, punctuation as words of its own."""
    return _WORD.findall(text.lower())


def known_statements(text: str, clauses: Sequence[str]) -> list[Piece]:
    """The stream of `text` as its known statements `clauses` (in order), each after the words
    before it that belong to no statement. What follows the last one (a closing ".") is left out."""
    stream, pieces, start = stream_words(text), [], 0
    for clause in clauses:
        words = stream_words(clause)
        at = next(i for i in range(start, len(stream)) if stream[i:i + len(words)] == words)
        pieces.append((stream[start:at], words))
        start = at + len(words)
    return pieces


@dataclass(frozen=True)
class SegmenterConfig:
    dim: int = 100        # n
    margin: float = 0.1   # γ
    lr: float = 0.01
    epochs: int = 10
    batch_size: int = 64  # texts per step
    # Negatives that spill up to this many words past a statement's end. Off by default: on
    # joined bAbI statements they cost F1 (bench/results/segment.md).
    overrun: int = 0
    seed: int = 0


class Segmenter(nn.Module):
    """seg(c) = W_segᵀ U_S Φ_seg(c) and lead(w) = W_leadᵀ U_S Φ_seg(w), with their own dictionary.

    Word 0 stands for unknown words; its row stays zero (no training word uses it), so an
    unseen word neither ends a statement nor is passed over as a connective on its own.
    """

    def __init__(self, vocabulary: Sequence[str], config: SegmenterConfig = SegmenterConfig()):
        super().__init__()
        self.config = config
        self.index = {word: i + 1 for i, word in enumerate(dict.fromkeys(vocabulary))}
        self.U_S = nn.EmbeddingBag(len(self.index) + 1, config.dim, mode="sum")
        self.W_seg = nn.Parameter(torch.empty(config.dim))
        self.W_lead = nn.Parameter(torch.empty(config.dim))
        nn.init.normal_(self.U_S.weight, std=0.1)
        nn.init.normal_(self.W_seg, std=0.1)
        nn.init.normal_(self.W_lead, std=0.1)
        with torch.no_grad():
            self.U_S.weight[0].zero_()

    def ids(self, words: Iterable[str]) -> list[int]:
        return [self.index.get(w, 0) for w in words]

    def _bags(self, candidates: Sequence[Sequence[str]]) -> torch.Tensor:
        flat, offsets = [], []
        for words in candidates:
            offsets.append(len(flat))
            flat.extend(self.ids(words))
        return self.U_S(torch.tensor(flat, dtype=torch.long), torch.tensor(offsets, dtype=torch.long))

    def forward(self, candidates: Sequence[Sequence[str]]) -> torch.Tensor:
        """seg(c) for a batch of candidate segments."""
        return self._bags(candidates) @ self.W_seg

    def lead(self, words: Sequence[str]) -> torch.Tensor:
        """lead(w) for each word: > γ for a word read as lying between statements."""
        return self._bags([[w] for w in words]) @ self.W_lead

    @torch.no_grad()
    def split(self, words: Sequence[str]) -> list[list[str]]:
        """The statements of a word stream, read left to right, without the words between them.
        seg is linear in the bag, so the score of the growing statement is a running sum of one
        number per word."""
        per_word = self.U_S.weight @ self.W_seg
        per_lead = self.U_S.weight @ self.W_lead
        segments, current, score = [], [], 0.0
        for word, i in zip(words, self.ids(words)):
            if not current and float(per_lead[i]) > self.config.margin:
                continue  # between statements
            current.append(word)
            score += float(per_word[i])
            if score > self.config.margin:
                segments.append(current)
                current, score = [], 0.0
        if any(w not in _PUNCTUATION for w in current):
            segments.append(current)  # an unfinished last statement
        return segments


def candidates(statements: Sequence[Piece], overrun: int) -> tuple[list[list[str]], list[list[str]]]:
    """F and F̄ of eq. 12 for one stream made of `statements` (each after its connective)."""
    stream = [w for lead, statement in statements for w in (*lead, *statement)]
    positives, negatives = [], []
    end = 0
    for lead, statement in statements:
        start = end + len(lead)
        end = start + len(statement)
        positives.append(stream[start:end])
        negatives += [stream[start:cut] for cut in range(start + 1, end)]
        negatives += [stream[start:cut] for cut in range(end + 1, min(end + overrun, len(stream)) + 1)]
    return positives, negatives


def starts(statements: Sequence[Piece]) -> tuple[list[str], list[str]]:
    """The words between statements (lead(w) > γ) and each statement's first word (< −γ)."""
    between = [w for lead, _ in statements for w in lead]
    firsts = [statement[0] for _, statement in statements if statement]
    return between, firsts


def train_segmenter(texts: Sequence[Sequence[Piece]], config: SegmenterConfig = SegmenterConfig()) -> Segmenter:
    """Fit on streams given as their known statements, each as (connective words, statement words),
    e.g. [((), ("joe", "slept")), ((",", "then"), ("fred", "ran"))]."""
    torch.manual_seed(config.seed)
    model = Segmenter([w for text in texts for lead, s in text for w in (*lead, *s)], config)
    examples = [(candidates(text, config.overrun), starts(text)) for text in texts]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    order = random.Random(config.seed)
    γ = config.margin
    for _ in range(config.epochs):
        order.shuffle(examples)
        for first in range(0, len(examples), config.batch_size):
            chunk = examples[first:first + config.batch_size]
            positives = [c for (p, _), _ in chunk for c in p]
            negatives = [c for (_, n), _ in chunk for c in n]
            between = [w for _, (b, _) in chunk for w in b]
            firsts = [w for _, (_, f) in chunk for w in f]
            loss = torch.relu(γ - model(positives)).sum()
            if firsts:
                loss = loss + torch.relu(γ + model.lead(firsts)).sum()
            if negatives:
                loss = loss + torch.relu(γ + model(negatives)).sum()
            if between:
                loss = loss + torch.relu(γ - model.lead(between)).sum()
            optimizer.zero_grad()
            (loss / len(chunk)).backward()
            optimizer.step()
    model.eval()
    return model
