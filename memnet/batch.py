"""Questions with their memories, padded into tensors so that O and R run on whole batches.

Memories are laid out newest first (position 0 is the latest write): Algorithm 1 walks them
in that order, so that the "y older than y′" time feature speaks in every comparison it makes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from memnet.features import Vocabulary
from memnet.input.sentence import Sentence


@dataclass
class Encoded:
    """Sentences as padded word-id and key matrices (row i = sentence i, in write order)."""

    ids: np.ndarray    # (n, L) int64, 0 = padding, 1 = unseen word
    keys: np.ndarray   # (n, L) int64, 0 = padding

    @classmethod
    def of(cls, vocab: Vocabulary, sentences: Sequence[Sentence]) -> "Encoded":
        width = max((len(s.tokens) for s in sentences), default=1) or 1
        ids = np.zeros((len(sentences), width), dtype=np.int64)
        keys = np.zeros_like(ids)
        for row, sentence in enumerate(sentences):
            ids[row, : len(sentence.tokens)], keys[row, : len(sentence.tokens)] = vocab.encode(sentence.tokens)
        return cls(ids, keys)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Example:
    """One question over the first `n_memories` rows of a story's memory."""

    memory: Encoded
    n_memories: int
    question: Encoded              # one row
    supports: tuple[int, ...] = () # write-order indices of the labelled supporting facts
    answer: str = ""
    answer_set: bool = False       # the answer is a set of items ("apple,milk" in any order; "football"; "nothing")


@dataclass
class Batch:
    mem_ids: torch.Tensor    # (B, N, L) newest first
    mem_keys: torch.Tensor   # (B, N, L)
    mem_time: torch.Tensor   # (B, N) write index; -1 for padding
    mem_valid: torch.Tensor  # (B, N) bool
    q_ids: torch.Tensor      # (B, Lq)
    q_keys: torch.Tensor     # (B, Lq)
    supports: torch.Tensor   # (B, K) newest-first positions of the labelled facts, -1 = none
    answers: list[str]
    answer_sets: list[bool]  # which answers are sets of items

    @property
    def size(self) -> int:
        return self.mem_ids.shape[0]


def collate(examples: Sequence[Example], memory_size: int | None = None) -> Batch:
    """Pad examples into a `Batch`, keeping the newest `memory_size` memories of each."""
    sizes = [min(e.n_memories, memory_size or e.n_memories) for e in examples]
    n = max(max(sizes), 1)
    width = max(max((e.memory.ids.shape[1] for e in examples), default=1), 1)
    q_width = max(e.question.ids.shape[1] for e in examples)
    k = max((len(e.supports) for e in examples), default=0)
    mem_ids = np.zeros((len(examples), n, width), dtype=np.int64)
    mem_keys = np.zeros_like(mem_ids)
    mem_time = np.full((len(examples), n), -1, dtype=np.int64)
    q_ids = np.zeros((len(examples), q_width), dtype=np.int64)
    q_keys = np.zeros_like(q_ids)
    supports = np.full((len(examples), max(k, 1)), -1, dtype=np.int64)
    for b, (example, size) in enumerate(zip(examples, sizes)):
        first = example.n_memories - size
        rows = slice(example.n_memories - 1, first - 1 if first > 0 else None, -1)
        mem_ids[b, :size, : example.memory.ids.shape[1]] = example.memory.ids[rows]
        mem_keys[b, :size, : example.memory.keys.shape[1]] = example.memory.keys[rows]
        mem_time[b, :size] = np.arange(example.n_memories - 1, first - 1, -1)
        q_ids[b, : example.question.ids.shape[1]] = example.question.ids[0]
        q_keys[b, : example.question.keys.shape[1]] = example.question.keys[0]
        for h, fact in enumerate(example.supports):
            if fact >= first:
                supports[b, h] = example.n_memories - 1 - fact
            else:  # the fact fell out of the memory window: later hops are unsupervised
                break
    return Batch(
        mem_ids=torch.from_numpy(mem_ids),
        mem_keys=torch.from_numpy(mem_keys),
        mem_time=torch.from_numpy(mem_time),
        mem_valid=torch.from_numpy(mem_time >= 0),
        q_ids=torch.from_numpy(q_ids),
        q_keys=torch.from_numpy(q_keys),
        supports=torch.from_numpy(supports),
        answers=[e.answer for e in examples],
        answer_sets=[e.answer_set for e in examples],
    )


def gather_rows(tensor: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """tensor[b, positions[b, j]] for (B, N, ...) tensors and positions (B, K); position -1 gives
    padding (zeros)."""
    index = positions.clamp(min=0)
    shape = index.shape + tensor.shape[2:]
    picked = tensor.gather(1, index.reshape(index.shape + (1,) * (tensor.dim() - 2)).expand(shape))
    mask = (positions >= 0).reshape(positions.shape + (1,) * (tensor.dim() - 2))
    return picked * mask


def sample_negatives(valid: torch.Tensor, target: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """(B, S): up to `count` random valid columns of (B, C) other than each row's target column; -1 pads.
    The negatives of the margin ranking loss (eq. 6-8)."""
    allowed = valid.clone()
    allowed.scatter_(1, target[:, None], False)
    count = min(count, allowed.shape[1])
    noise = torch.rand(allowed.shape, generator=generator).masked_fill(~allowed, -1.0)
    value, index = noise.topk(count, dim=1)
    return torch.where(value >= 0, index, torch.full_like(index, -1))
