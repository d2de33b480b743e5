"""Φ: the paper's sparse feature layout, as indices into the rows of an n×D matrix U.

Every word has one row per *role* it can play, so U·Φ(x) is a sum of rows (an embedding bag):

input side (x)     Q   word of the question            S   word of a supporting memory found so far
                   QL, QR, SL, SR   left/right context of an unseen word (§3.5)
                   SM  supporting-memory word that also occurs in the question (§3.6)
candidate side (y) Y   word of a memory or answer      YL, YR  context of an unseen word (§3.5);
                                                       for R, the answer's context where it occurs
                   YM  word of y that also occurs on the input side (§3.6 matching features)
                   YS  (R only) answer word occurring in a supporting memory
                   HOP (R only) which hop found the memory an answer word occurs in
                   A   multi-word answers seen in training ("apple,football", "n,w")
R's match rows     QX  (`answer_match`, input side) a question word (not a stop word) found in no
                       support: "Is Ravi in the garage?" over "Ravi went to the cellar" is "no"
                       whatever the words; the <unk> row for every such word, plus the word's own
                   YQ  (`answer_match`, candidate side) the answer word stands after (or before) a
                       question word in support h: word-independent, so unseen words are placed
                       by the question's match too (§3.6's match, on R's side)
                   T   the three write-time features of s_Ot (§3.4)
                   STOP  the "stop" memory that ends the hops early
n-grams            QN, YN  hashed bigrams of known words in the question and the candidate (after
                   the "NG" of the bAbI follow-up, arXiv 1502.05698), so word order can count.
                   SN  bigrams of supporting memories, on R's input only: R needs word order to tell
                   "A fits in B" from "B fits in A"; in O they cost accuracy on the time-ordered
                   tasks (2, 3), as trigrams do

Q, S and Y are the paper's D = 3|W| layout; the context and match blocks are §3.5/§3.6.
Row 0 of every word block is padding, row 1 the unseen word ("<unk>").
"""
from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch

PAD, UNK = 0, 1
WORD_BLOCKS = ("Q", "QL", "QR", "S", "SL", "SR", "SM", "Y", "YL", "YR", "YM", "YS")


def answer_form(answer: str) -> str:
    """Answers are compared in the form I gives tokens: lower case ("Fred" is the word "fred"), a
    multi-word name one word joined by "_" ("New York" is "new_york"); lists stay comma-separated."""
    return ",".join("_".join(part.split()) for part in answer.strip().lower().split(","))


def token_key(token: str) -> int:
    """A stable integer per word string, so unseen words can still be matched exactly."""
    return zlib.crc32(token.encode("utf-8")) + 1


@dataclass
class Vocabulary:
    """The dictionary W (index 0 pad, 1 unseen) and the multi-word answers seen in training."""

    words: list[str]
    phrases: list[str]

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], answers: Iterable[str], min_count: int = 1) -> "Vocabulary":
        """W from the training tokens and answers. With `min_count` > 1, a word seen fewer times
        (tokens and answers together) stays unseen, as a name redrawn per story is: its rows could
        only learn that one story's noise, and <unk>'s rows learn what such words do (§3.5). An answer
        word that occurs in no token list ("yes", "three", "unknown") can be named only from W: it is
        kept when it answers at least min_count / 50 questions."""
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            counts.update(tokens)
        in_text = set(counts)
        phrases: dict[str, None] = {}
        answer_only: Counter[str] = Counter()
        for answer in answers:
            if "," in answer:
                phrases[answer] = None
            elif answer in in_text:
                counts[answer] += 1
            else:
                answer_only[answer] += 1
        words = [w for w, n in counts.items() if n >= min_count]
        words += [w for w, n in answer_only.items() if n >= max(1, min_count // 50)]
        return cls(["<pad>", "<unk>", *sorted(words)], sorted(phrases))

    def __post_init__(self) -> None:
        self.index = {word: i for i, word in enumerate(self.words)}
        self.phrase_index = {phrase: i for i, phrase in enumerate(self.phrases)}
        keys = np.array([token_key(w) for w in self.words], dtype=np.int64)
        self._key_order = np.argsort(keys)
        self._sorted_keys = keys[self._key_order]

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Word ids (unseen words -> UNK) and string keys of a token sequence."""
        ids = np.array([self.index.get(t, UNK) for t in tokens], dtype=np.int64)
        keys = np.array([token_key(t) for t in tokens], dtype=np.int64)
        return ids, keys

    def ids_of_keys(self, keys: np.ndarray) -> np.ndarray:
        """Word ids of word keys, any shape (unseen words -> UNK, padding key 0 -> PAD)."""
        at = np.searchsorted(self._sorted_keys, keys).clip(max=len(self._sorted_keys) - 1)
        ids = np.where(self._sorted_keys[at] == keys, self._key_order[at], UNK)
        return np.where(keys == 0, PAD, ids)

    def answer_column(self, answer: str) -> int | None:
        """The column of an answer among R's dictionary candidates (words, then phrases)."""
        if answer in self.phrase_index:
            return len(self.words) + self.phrase_index[answer]
        column = self.index.get(answer)
        return column if column is not None and column > UNK else None

    def to_json(self) -> dict:
        return {"words": self.words, "phrases": self.phrases}


NGRAM_ROLES = ("QN", "YN")
MAX_HOPS = 8
_HASH = (1_000_003, 998_244_353)


class FeatureLayout:
    """Offsets of the blocks inside D; `null` is an all-zero padding row."""

    def __init__(self, n_words: int, n_phrases: int, ngram_buckets: int = 0, support_bigrams: bool = False,
                 match_source: bool = False, answer_match: bool = False, set_answers: bool = False):
        self.n_words = n_words
        self.ngram_buckets = ngram_buckets
        offset = 0
        for name in WORD_BLOCKS:
            setattr(self, name, offset)
            offset += n_words
        for name in NGRAM_ROLES:
            setattr(self, name, offset)
            offset += ngram_buckets
        self.A = offset
        self.HOP = self.A + n_phrases
        self.T = self.HOP + MAX_HOPS
        self.STOP = self.T + 3
        self.dim = self.STOP + 1   # D
        if support_bigrams:        # SN: bigrams of supporting memories, for R (appended: older layouts keep their offsets)
            self.SN = self.dim
            self.dim += ngram_buckets
        if match_source:           # YMS: O's match rows for words found in a support but not in the question
            self.YMS = self.dim
            self.dim += n_words
        if answer_match:           # QX, YQ: R's match rows (appended, as above)
            self.QX = self.dim
            self.YQ = self.QX + n_words
            self.dim = self.YQ + 2 * MAX_HOPS
        if set_answers:            # R's END row, which a set answer's items outscore, and YV: the words of the
            self.END = self.dim    # support a candidate occurs in ("dropped", "took": whether it is still held)
            self.YV = self.END + 1
            self.dim = self.YV + n_words
        self.null = self.dim       # index of the zero padding row
        self._sizes = {**dict.fromkeys(WORD_BLOCKS + ("YMS", "QX", "YV"), n_words), **dict.fromkeys(NGRAM_ROLES + ("SN",), ngram_buckets),
                       "A": n_phrases, "END": 1, "HOP": MAX_HOPS, "T": 3, "STOP": 1, "YQ": 2 * MAX_HOPS}

    def row(self, block: str, index: torch.Tensor | int) -> torch.Tensor:
        """Row ids of entries `index` (0-based) of `block`; raises IndexError past the block's end."""
        index = torch.as_tensor(index)
        if index.numel() and int(index.max()) >= self._sizes[block]:
            raise IndexError(f"{block} has {self._sizes[block]} rows, asked for row {int(index.max())}")
        return getattr(self, block) + index

    def rows(self, block: str) -> torch.Tensor:
        """The row ids of a whole block ("Y", "A", "T", "STOP", ...), to look up with U(...)."""
        start = getattr(self, block)
        return torch.arange(start, start + self._sizes[block])

    # Φ's rows are integer bookkeeping on a few dozen words per question: numpy does each step in a
    # fraction of a torch call's fixed cost, so the rows are built in numpy and handed to torch once
    def words(self, ids: torch.Tensor, block: int, use: torch.Tensor | None = None) -> torch.Tensor:
        """Row ids of `block` for word ids (padding and unused positions -> null)."""
        return torch.from_numpy(self._words(ids.numpy(), block, None if use is None else use.numpy()))

    def hop_rows(self, sup_ids: torch.Tensor) -> torch.Tensor:
        """HOP rows (R): for each word of supports (B, K, L), which hop found its support (1..K)."""
        ids = sup_ids.numpy()
        hop = np.arange(1, ids.shape[1] + 1)[None, :, None]
        return torch.from_numpy(np.where(ids > PAD, hop + (self.HOP - 1), self.null))

    def context(self, ids: torch.Tensor, left_block: int, right_block: int, use: torch.Tensor) -> torch.Tensor:
        """Left and right neighbour rows (last dim x2) at positions where `use` is true."""
        return torch.from_numpy(self._context(ids.numpy(), left_block, right_block, use.numpy()))

    def bigrams(self, ids: torch.Tensor, block: int) -> torch.Tensor:
        """Hashed rows of every bigram of known words (same shape as `ids`)."""
        return torch.from_numpy(self._bigrams(ids.numpy(), block))

    def sentence(self, ids: torch.Tensor, role: str, unseen_context: bool) -> torch.Tensor:
        """Φ of sentences in a role ("Q", "S" or "Y"): word rows, context rows for unseen words,
        and bigram rows (question and candidate only) when the layout has n-gram buckets."""
        ids = ids.numpy()
        parts = [self._words(ids, getattr(self, role), None)]
        if unseen_context:
            parts.append(self._context(ids, getattr(self, role + "L"), getattr(self, role + "R"), ids == UNK))
        if self.ngram_buckets and role + "N" in NGRAM_ROLES:
            parts.append(self._bigrams(ids, getattr(self, role + "N")))
        return torch.from_numpy(np.concatenate(parts, axis=-1))

    def _words(self, ids: np.ndarray, block: int, use: np.ndarray | None) -> np.ndarray:
        keep = ids > PAD if use is None else (ids > PAD) & use
        return np.where(keep, ids + block, self.null)

    def _context(self, ids: np.ndarray, left_block: int, right_block: int, use: np.ndarray) -> np.ndarray:
        left, right = _shifted(ids, 1), _shifted(ids, -1)
        return np.concatenate([self._words(left, left_block, use & (left > UNK)),
                               self._words(right, right_block, use & (right > UNK))], axis=-1)

    def _bigrams(self, ids: np.ndarray, block: int) -> np.ndarray:
        following = _shifted(ids, -1)
        code = (ids * _HASH[0] + following * _HASH[1]) % self.ngram_buckets
        return np.where((ids > UNK) & (following > UNK), block + code, self.null)


def _shifted(ids: np.ndarray, by: int) -> np.ndarray:
    """`ids` moved `by` positions along the last axis (right if positive), padded with PAD."""
    out = np.full_like(ids, PAD)
    if by > 0:
        out[..., by:] = ids[..., :-by]
    else:
        out[..., :by] = ids[..., -by:]
    return out


def occurs_in(keys: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    """For each key in `keys` (B, ..., L): does it occur among `pool` (B, M)? Padding (0) never does.
    For the few words of a question and its supports; a whole memory uses `memnet.output.occurs`."""
    return torch.from_numpy(key_in(keys.numpy(), pool.numpy()))


def key_in(keys: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """`occurs_in` on numpy arrays, for Φ's bookkeeping in numpy."""
    flat = keys.reshape(keys.shape[0], -1, 1)
    return ((flat == pool[:, None, :]).any(-1) & (flat[..., 0] != 0)).reshape(keys.shape)
