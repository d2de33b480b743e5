"""The learned segmenter of appendix B, for input that arrives as a stream of words (§3.2).

seg(c) = W_segᵀ U_S Φ_seg(c): Φ_seg is a bag of words over the segmenter's own dictionary,
U_S (n × |W|) embeds it and W_seg reads one score off the embedding. Reading the stream
word by word, a statement ends as soon as seg(c) > γ for the words c read since the last
one ended. Training minimises eq. 12: max(0, γ − seg(f)) for every known statement f, plus
max(0, γ + seg(f̄)) for every other candidate f̄: each unfinished prefix of a statement (and,
optionally, each run that spills into the next one).

This is the paper's alternative to the parse-based splitting of `memnet.text`; the two are
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


def stream_words(text: str) -> list[str]:
    """The word stream the segmenter reads: lower-cased words, punctuation as words of its own."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True)
class SegmenterConfig:
    dim: int = 100        # n
    margin: float = 0.1   # γ
    lr: float = 0.01
    epochs: int = 10
    batch_size: int = 64  # texts per step
    # Negatives that spill up to this many words past a statement's end. Off by default: in a
    # bag of words, "<statement> then" and "then <next statement>" hold the same words, so
    # with one-word joiners these negatives contradict the positives (bench/segment.py).
    overrun: int = 0
    seed: int = 0


class Segmenter(nn.Module):
    """seg(c) = W_segᵀ U_S Φ_seg(c) with its own dictionary; word 0 stands for unknown words."""

    def __init__(self, vocabulary: Sequence[str], config: SegmenterConfig = SegmenterConfig()):
        super().__init__()
        self.config = config
        self.index = {word: i + 1 for i, word in enumerate(dict.fromkeys(vocabulary))}
        self.U_S = nn.EmbeddingBag(len(self.index) + 1, config.dim, mode="sum")
        self.W_seg = nn.Parameter(torch.empty(config.dim))
        nn.init.normal_(self.U_S.weight, std=0.1)
        nn.init.normal_(self.W_seg, std=0.1)

    def ids(self, words: Iterable[str]) -> list[int]:
        return [self.index.get(w, 0) for w in words]

    def forward(self, candidates: Sequence[Sequence[str]]) -> torch.Tensor:
        """seg(c) for a batch of candidate segments."""
        flat, offsets = [], []
        for words in candidates:
            offsets.append(len(flat))
            flat.extend(self.ids(words))
        bags = self.U_S(torch.tensor(flat, dtype=torch.long), torch.tensor(offsets, dtype=torch.long))
        return bags @ self.W_seg

    @torch.no_grad()
    def split(self, words: Sequence[str]) -> list[list[str]]:
        """Segments of a word stream, read left to right. seg is linear in the bag, so the score
        of the growing segment is a running sum of one number per word."""
        per_word = self.U_S.weight @ self.W_seg
        segments, current, score = [], [], 0.0
        for word, i in zip(words, self.ids(words)):
            current.append(word)
            score += float(per_word[i])
            if score > self.config.margin:
                segments.append(current)
                current, score = [], 0.0
        if any(w not in _PUNCTUATION for w in current):
            segments.append(current)
        elif current and segments:
            segments[-1].extend(current)  # a closing "." after the last statement
        return segments


def candidates(statements: Sequence[Sequence[str]], overrun: int) -> tuple[list[list[str]], list[list[str]]]:
    """F and F̄ of eq. 12 for one stream made of `statements` (each with its leading joiner)."""
    stream = [w for s in statements for w in s]
    positives, negatives = [], []
    start = 0
    for statement in statements:
        end = start + len(statement)
        positives.append(stream[start:end])
        negatives += [stream[start:cut] for cut in range(start + 1, end)]
        negatives += [stream[start:cut] for cut in range(end + 1, min(end + overrun, len(stream)) + 1)]
        start = end
    return positives, negatives


def train_segmenter(texts: Sequence[Sequence[Sequence[str]]], config: SegmenterConfig = SegmenterConfig()) -> Segmenter:
    """Fit on streams given as their statements' words (joiners included, e.g. [", then", "joe", ...])."""
    torch.manual_seed(config.seed)
    model = Segmenter([w for text in texts for s in text for w in s], config)
    examples = [candidates(text, config.overrun) for text in texts]
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    order = random.Random(config.seed)
    for _ in range(config.epochs):
        order.shuffle(examples)
        for first in range(0, len(examples), config.batch_size):
            chunk = examples[first:first + config.batch_size]
            positives = [c for p, _ in chunk for c in p]
            negatives = [c for _, n in chunk for c in n]
            loss = torch.relu(config.margin - model(positives)).sum()
            if negatives:
                loss = loss + torch.relu(config.margin + model(negatives)).sum()
            optimizer.zero_grad()
            (loss / len(chunk)).backward()
            optimizer.step()
    model.eval()
    return model
