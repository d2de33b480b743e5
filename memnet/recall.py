"""O and R over a stored memory, without re-embedding it per question (paper footnote 2).

Per slot, U_O·Φy(m_i) is computed once, when the slot is written, and kept as a row of a
float32 matrix. A hop then costs one matrix-vector product over the candidate rows, plus the
§3.6 match terms, which only slots sharing a word with the input can have: those come from
an inverted index over word keys. Algorithm 1 runs vectorised (`memnet.model.fast_winner`)
over the candidates, newest first and without the facts earlier hops found, exactly as
`MemNN.find_supports` walks a batch, so with every slot as candidate the picks are the same.
R only needs the supports.

Which slots are candidates is a `memnet.memory.index` strategy; `Recall` switches from
exhaustive O to word hashing plus the newest 4,096 slots (`Recent`) once the memory passes
`AUTO_THRESHOLD` slots, where the two cost the same. On the town benchmark (one thread;
bench/results/scale-crossover.md and scale.md) hashing costs 2.8 ms against exhaustive O's 2.7
at 20k slots, 2.8 against 4.5 ms at 40k, 3.7 against 10.2 at 100k and 9.4 against 67 at 1M, and
picks what exhaustive O picks on 100%, 100%, 99.5% and 100% of 200 questions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from memnet.batch import Encoded, Example, collate
from memnet.memory.index import InvertedIndex, Recent, Strategy, Synced, WordHash
from memnet.features import PAD, UNK, token_key
from memnet.memory.slots import FREE, Memory
from memnet.model import STOP, MemNN, time_winner
from memnet.input.sentence import Sentence

AUTO_THRESHOLD = 20_000   # slots; past it hashing costs less than exhaustive O (bench/results/scale-crossover.md)
CHUNK = 65_536            # rows embedded at a time


@dataclass
class RecallHop:
    pick: int                   # memory position, or STOP
    score: float                # s_O of the pick (of the stop memory when it stopped)
    candidates: np.ndarray      # positions scored, newest first
    scores: np.ndarray          # their s_O
    stop_score: float | None = None


@dataclass
class Recollection:
    hops: list[RecallHop]
    answer: str
    ranking: list[tuple[str, float]] = field(default_factory=list)   # R's candidates, best first

    @property
    def supports(self) -> list[int]:
        return [hop.pick for hop in self.hops if hop.pick != STOP]

    @property
    def scored(self) -> int:
        """Memory scores computed over all hops (the cost hashing saves)."""
        return sum(len(hop.candidates) for hop in self.hops)


class MemoryVectors(Synced):
    """Word ids and U_O·Φy rows of every slot, re-embedded only where a slot changed."""

    def __init__(self, model: MemNN, memory: Memory):
        super().__init__(memory)
        self.model = model
        keys = np.array([token_key(w) for w in model.vocab.words], dtype=np.int64)
        self._order = np.argsort(keys)
        self._keys = keys[self._order]
        self.ids = np.zeros((0, 1), dtype=np.int64)
        self.base = np.zeros((0, model.config.dim), dtype=np.float32)
        self.newest_first = np.zeros(0, dtype=np.int64)

    def word_ids(self, keys: np.ndarray) -> np.ndarray:
        """Vocabulary ids of word keys (unseen words -> UNK, padding -> PAD)."""
        at = np.searchsorted(self._keys, keys).clip(max=len(self._keys) - 1)
        ids = np.where(self._keys[at] == keys, self._order[at], UNK)
        return np.where(keys == 0, PAD, ids)

    def embed(self, ids: np.ndarray) -> np.ndarray:
        lay, weight = self.model.layout, self.model.U_O.weight
        out = np.zeros((len(ids), weight.shape[1]), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(ids), CHUNK):
                rows = lay.sentence(torch.from_numpy(ids[start : start + CHUNK]), "Y", self.model.config.unseen_context)
                out[start : start + CHUNK] = torch.nn.functional.embedding_bag(rows, weight, mode="sum").numpy()
        return out

    def refresh(self) -> None:
        changed = self.changed()
        if not len(changed) and len(self.seen) == self.memory.size:
            return
        size, width = self.memory.size, self.memory.keys.shape[1]
        if self.ids.shape != (size, width):
            ids = np.zeros((size, width), dtype=np.int64)
            rows, cols = min(size, len(self.ids)), min(width, self.ids.shape[1])
            ids[:rows, :cols] = self.ids[:rows, :cols]
            base = np.zeros((size, self.base.shape[1]), dtype=np.float32)
            base[:rows] = self.base[:rows]
            self.ids, self.base = ids, base
        self.ids[changed] = self.word_ids(self.memory.keys[changed])
        self.base[changed] = self.embed(self.ids[changed])
        live = np.flatnonzero(self.memory.time[:size] != FREE)
        self.newest_first = live[np.argsort(-self.memory.time[live], kind="stable")]
        self.mark_seen()


class Recall:
    """Answers questions from a `Memory` with a trained `MemNN`, scoring only candidates.

    `strategy`: None switches automatically (exhaustive below `threshold` slots, word
    hashing plus the `window` newest slots above); "exhaustive" or a `memnet.memory.index` strategy
    fixes it.
    """

    def __init__(self, model: MemNN, memory: Memory, strategy: Strategy | str | None = None,
                 threshold: int = AUTO_THRESHOLD, window: int = 4096):
        self.model, self.memory = model, memory
        self.vectors = MemoryVectors(model, memory)
        self.keys = InvertedIndex(memory)
        self.strategy, self.threshold, self.window = strategy, threshold, window
        self._large: Strategy | None = None

    def _strategy(self) -> Strategy | None:
        if self.strategy == "exhaustive":
            return None
        if self.strategy is not None:
            return self.strategy
        if len(self.memory) < self.threshold:
            return None
        if self._large is None:
            self._large = Recent(WordHash(self.memory), self.memory, self.window)
        return self._large

    def _input_vector(self, q_ids: torch.Tensor, q_keys: torch.Tensor, picks: list[int]) -> torch.Tensor:
        """E([x, m_o1, ...]) for O, built by `MemNN.input_vector` as for a batch of one question."""
        sup_ids = torch.from_numpy(self.vectors.ids[picks])[None]
        sup_keys = torch.from_numpy(self.memory.keys[picks])[None]
        return self.model.input_vector("O", q_ids[None], q_keys[None], sup_ids, sup_keys)[0]

    def _match(self, x: np.ndarray, q_keys: np.ndarray, sup_keys: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """s_O's §3.6 term of each row (all rows when None): the YM rows of its words that occur
        in the input (with `match_source`: YM for question words, YMS for words only in a support).
        Over all rows it comes from the postings of the input's words, so only slots sharing a
        word with the input are touched."""
        lay, size = self.model.layout, self.memory.size
        if self.model.config.match_source:
            pools = [(lay.YM, q_keys), (lay.YMS, np.setdiff1d(sup_keys, q_keys))]
        else:
            pools = [(lay.YM, np.concatenate([q_keys, sup_keys]))]
        match = np.zeros(size if rows is None else len(rows), dtype=np.float32)
        if rows is not None:
            row_ids, row_keys = self.vectors.ids[rows], self.memory.keys[rows]
        for block, pool in pools:
            per_word = self.model.U_O.weight[block : block + len(self.model.vocab)].detach().numpy() @ x
            pool = np.unique(pool[pool != 0])
            if rows is not None:
                match += (per_word[row_ids] * np.isin(row_keys, pool)).sum(1)
                continue
            for key, postings in zip(pool, self.keys.postings(pool)):
                match += np.bincount(postings, minlength=size).astype(np.float32) * per_word[self.vectors.word_ids(key)]
        return match

    def _hop(self, x: torch.Tensor, q_keys: np.ndarray, candidates: np.ndarray | None, picks: list[int]):
        """s_O of the candidates (newest first), Algorithm 1's winner among them, the stop memory's
        score and its margin over the winner."""
        lay, weight = self.model.layout, self.model.U_O.weight
        xn = x.detach().numpy()
        sup_keys = self.memory.keys[picks].ravel()
        if candidates is None:
            rows = self.vectors.newest_first
            scores = self.vectors.base[: self.memory.size] @ xn
            if self.model.config.match:
                scores = scores + self._match(xn, q_keys, sup_keys, None)
            scores = scores[rows]
        else:
            rows = candidates[np.argsort(-self.memory.time[candidates], kind="stable")]
            scores = self.vectors.base[rows] @ xn
            if self.model.config.match:
                scores = scores + self._match(xn, q_keys, sup_keys, rows)
        stop = float(x @ weight[lay.STOP])
        available = ~np.isin(rows, picks)   # as find_supports: a fact found at an earlier hop adds nothing new
        if not available.any():
            return rows, scores, STOP, stop, np.inf
        if self.model.config.time:
            reference = self.memory.time[picks[-1]] if picks else np.iinfo(np.int64).max
            after = torch.from_numpy(self.memory.time[rows] > reference)[None]
            time = (x @ weight[lay.T : lay.T + 3].T)[None]
            best, v = time_winner(torch.from_numpy(scores)[None], after, time, torch.from_numpy(available)[None])
            winner = int(best[0])
            stop_margin = stop - float(v[0, winner])   # s_Ot(x, stop, m_t): only m_t's time features speak
        else:
            winner = int(np.argmax(np.where(available, scores, -np.inf)))
            stop_margin = stop - scores[winner]
        return rows, scores, winner, stop, stop_margin

    @torch.no_grad()
    def ask(self, tokens: Sequence[str], text: str = "", hops: int | None = None, touch: bool = True) -> Recollection:
        """O's k hops over the candidates, then R over the supports."""
        self.vectors.refresh()
        strategy = self._strategy()
        q_ids, q_keys = (torch.from_numpy(a) for a in self.model.vocab.encode(tokens))
        picks: list[int] = []
        found: list[RecallHop] = []
        for hop in range(hops or self.model.config.hops):
            if not len(self.memory):
                break
            x = self._input_vector(q_ids, q_keys, picks)
            candidates = None if strategy is None else strategy.candidates(tokens, text or " ".join(tokens), picks)
            rows, scores, winner, stop, stop_margin = self._hop(x, q_keys.numpy(), candidates, picks)
            if winner == STOP or (hop > 0 and stop_margin > 0):
                found.append(RecallHop(STOP, stop, rows, scores, stop if hop > 0 else None))
                break
            picks.append(int(rows[winner]))
            found.append(RecallHop(picks[-1], float(scores[winner]), rows, scores, stop if hop > 0 else None))
        if touch:
            self.memory.touch(picks)
        answer, ranking = self._respond(tokens, picks)
        return Recollection(found, answer, ranking)

    def _respond(self, tokens: Sequence[str], picks: list[int], top: int = 5) -> tuple[str, list[tuple[str, float]]]:
        """R on [x, m_o1, ...]: a batch whose memory is just the supports."""
        model = self.model
        by_time = sorted(set(picks), key=lambda p: self.memory.time[p])
        supports = Encoded(self.vectors.ids[by_time], self.memory.keys[by_time])
        example = Example(supports, len(by_time), Encoded.of(model.vocab, [Sentence("", "", tuple(tokens))]))
        batch = collate([example])
        newest_first = by_time[::-1]
        positions = torch.tensor([[newest_first.index(p) for p in picks] or [-1]])
        scores, valid, _ = model.answer_scores(batch, batch.mem_ids, batch.q_ids, positions)
        scores = scores[0].masked_fill(~valid[0], float("-inf"))
        width = batch.mem_ids.shape[2]
        flat_tokens = [t for p in picks for t in (*self.memory.tokens[p], *[""] * (width - len(self.memory.tokens[p])))]
        if not valid[0].any():
            return "", []
        values, columns = scores.topk(min(top, int(valid[0].sum())))
        ranking = [(model.candidate_name(int(c), flat_tokens), float(s)) for s, c in zip(values, columns)]
        return ranking[0][0], ranking
