"""O and R: the embedding scorers s_O, s_Ot and s_R, k-hop inference, and answer ranking.

s(x, y) = Φx(x)ᵀ Uᵀ U Φy(y) with separate U_O and U_R (paper §3.1). Each U is an
`nn.Embedding` over the rows laid out in `memnet.features`, so U·Φ is a sum of rows.
The weights are read-only at run time; memories come in as a `Batch`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np
import torch
from torch import nn

from memnet.batch import Batch
from memnet.features import MAX_HOPS, PAD, UNK, FeatureLayout, Vocabulary, occurs_in, token_key

STOP = -1  # a hop that picked the stop memory
SPARSE_OPTIMIZERS = ("adagrad", "sgd")  # torch optimizers that take sparse embedding gradients


@dataclass
class ModelConfig:
    """Settings of one model; saved with its checkpoint. Defaults follow the paper's simulation runs."""

    dim: int = 100                   # n, the embedding size
    hops: int = 2                    # k, supporting memories found per question
    time: bool = True                # §3.4 write-time triple scoring and Algorithm 1
    unseen_context: bool = True      # §3.5 left/right context rows for unseen words
    match: bool = True               # §3.6 exact-match features
    ngram_buckets: int = 0           # hashed bigram rows per role (0: the paper's bag of words)
    support_bigrams: bool = False    # SN rows: bigrams of the supports on R's input (needs ngram_buckets)
    match_source: bool = False       # O's §3.6 match rows say whether the word matched the question or a support
    skip_found_negatives: bool = False  # hop h's negatives leave out the facts of earlier hops (lists, counts)
    scan_hinges: bool = False        # appendix C's pair hinges only in the order Algorithm 1 compares (older challenges)
    align_maps: bool = False         # R: a learned map per (hop, where the question's word stands in the support)
    hop_maps: bool = False           # a learned n×n map per hop for each support's embedding (keeps order)
    nonlinear: bool = False          # NL of arXiv 1502.05698: input embedding E(x) = tanh(W tanh(Uᵀ Φx(x)))
    word_dropout: float = 0.1        # d: share of word types treated as unseen in each training example
    margin: float = 0.1              # γ
    lr: float = 0.01
    optimizer: str = "adam"          # "adam", "adagrad" or "sgd" (the paper's)
    epochs: int = 10
    batch_size: int = 32
    negatives: int = 100             # sampled negatives per hinge
    memory_size: int | None = None   # newest memories a question sees (None: all)
    init_scale: float = 0.1
    seed: int = 0
    input_map: str = "simple"        # which I built the training features ("simple" or "spacy")

    def to_json(self) -> dict:
        return asdict(self)


# The settings of bench/babi.py: the paper's model plus the follow-up's options and ours, with up
# to 6 hops ended by the stop memory. See README, "bAbI: what each task needs".
BABI_SETTINGS = {"hops": 6, "ngram_buckets": 4096, "optimizer": "adagrad", "lr": 0.08, "epochs": 40,
                 "hop_maps": True, "support_bigrams": True, "match_source": True, "align_maps": True,
                 "skip_found_negatives": True}


ALIGNMENTS = 3  # where a support's first question word stands: nowhere, first half, second half


def alignment(sup_ids: torch.Tensor, in_question: torch.Tensor) -> torch.Tensor:
    """(B, K) class of each support (B, K, L): 0 if no word is marked in `in_question`, else 1 or 2
    as the first marked word stands in the first or second half of the support's words."""
    length = (sup_ids > PAD).sum(-1)
    first = in_question.to(torch.int8).argmax(-1)
    return torch.where(in_question.any(-1), 1 + (2 * first >= length).long(), 0)


def distinct_rows(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows of a 2-D id matrix, and each row's index among them (numpy's unique over
    whole rows viewed as bytes: ten times faster than torch.unique(dim=0))."""
    rows = np.ascontiguousarray(ids.numpy())
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))[:, 0]
    _, first, where = np.unique(as_bytes, return_index=True, return_inverse=True)
    return torch.from_numpy(rows[first]), torch.from_numpy(where.reshape(-1))


@dataclass
class Memories:
    """One batch's memories as every hop of O uses them (see `MemNN._memories`)."""

    ids: torch.Tensor                  # (B, N, L) word ids (after word dropout in training)
    base: torch.Tensor                 # (B, N, n) U_O Φy(m)
    in_question: torch.Tensor          # (B, N, L) memory words that occur in the question
    match: torch.Tensor                # (|W|, n) YM rows
    stop: torch.Tensor                 # (n,) the stop memory's row
    time: torch.Tensor                 # (3, n) the time features' rows
    match_support: torch.Tensor | None # (|W|, n) YMS rows (match_source)


@dataclass
class Hop:
    """What O did at one hop, for one question."""

    pick: int                        # newest-first memory position, or STOP
    score: float                     # s_O of the pick given the input so far
    scores: list[float]              # s_O of every memory (newest first)
    stop_score: float | None = None  # s_O of the stop memory (hops after the first)


@dataclass
class Prediction:
    hops: list[Hop]
    answer: str
    candidates: list[tuple[str, float]] = field(default_factory=list)  # best first, R's scores


def fast_winner(u: torch.Tensor, v: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Algorithm 1's winner for each row: t = 0; for i = 1..N-1: t = i if u_i > v_t.

    Vectorised over the memory: each step jumps straight to the next i that beats the
    current winner, so the Python loop runs once per change of winner, not once per slot.
    """
    batch, n = u.shape
    positions = torch.arange(n)
    winner = valid.to(torch.int8).argmax(1)   # the first candidate (position 0 unless already picked)
    while True:
        beats = valid & (positions > winner[:, None]) & (u > v.gather(1, winner[:, None]))
        moved = beats.any(1)
        if not moved.any():
            return winner
        winner = torch.where(moved, beats.to(torch.int8).argmax(1), winner)


def time_winner(scores: torch.Tensor, after_ref: torch.Tensor, time: torch.Tensor, valid: torch.Tensor):
    """Algorithm 1 with s_Ot over newest-first memories: the winner per row, and the incumbent side
    v of s_Ot(x, y, m_t) = u_y - v_t, which the stop memory must also beat.

    `time` (B, 3) holds x·T for the three time features; `after_ref` marks memories newer than the
    reference (the previous hop's pick). Each challenger is older than the winner it meets.
    """
    u = scores + time[:, 0:1] * after_ref + time[:, 2:3]
    v = scores - time[:, 1:2] * after_ref
    return fast_winner(u, v, valid), v


class MemNN(nn.Module):
    """The learned parts of a memory network: U_O for O (with time rows) and U_R for R."""

    def __init__(self, config: ModelConfig, vocab: Vocabulary):
        super().__init__()
        if not 1 <= config.hops <= MAX_HOPS:
            raise ValueError(f"hops must be between 1 and {MAX_HOPS}, got {config.hops}")
        if config.support_bigrams and not config.ngram_buckets:
            raise ValueError("support_bigrams needs n-gram buckets (ngram_buckets > 0)")
        self.config = config
        self.vocab = vocab
        self.layout = FeatureLayout(len(vocab), len(vocab.phrases), config.ngram_buckets, config.support_bigrams,
                                    config.match_source)
        rows = self.layout.dim + 1
        # sparse gradients touch only the rows a batch used: most of D is n-gram buckets no batch sees
        sparse = config.optimizer in SPARSE_OPTIMIZERS
        self.U_O = nn.Embedding(rows, config.dim, padding_idx=self.layout.null, sparse=sparse)
        self.U_R = nn.Embedding(rows, config.dim, padding_idx=self.layout.null, sparse=sparse)
        for table in (self.U_O, self.U_R):
            nn.init.normal_(table.weight, std=config.init_scale)
            with torch.no_grad():
                table.weight[self.layout.null].zero_()
        if config.nonlinear:   # W starts as the identity, so E(x) starts close to the linear embedding
            self.W_O = nn.Linear(config.dim, config.dim, bias=False)
            self.W_R = nn.Linear(config.dim, config.dim, bias=False)
            nn.init.eye_(self.W_O.weight)
            nn.init.eye_(self.W_R.weight)
        if config.align_maps:   # zero at first: R starts as without them
            # spaCy's English stop words ("the", "of", "to") say nothing about where a question's
            # entity stands in a support, so the alignment looks only at the other words. Imported
            # here: loading spaCy costs every other `import memnet` half a second.
            from spacy.lang.en.stop_words import STOP_WORDS

            self.content_word = torch.tensor([i > PAD and w not in STOP_WORDS for i, w in enumerate(vocab.words)])
            self.A_R = nn.Parameter(torch.zeros(MAX_HOPS, ALIGNMENTS, config.dim, config.dim))
        if config.hop_maps:
            self.P_O = nn.Parameter(torch.eye(config.dim).repeat(MAX_HOPS, 1, 1))
            self.P_R = nn.Parameter(torch.eye(config.dim).repeat(MAX_HOPS, 1, 1))

    def weights(self) -> dict[str, torch.Tensor]:
        """Every learned tensor by its checkpoint name: U_O and U_R, then W_* (NL), P_* (hop maps)
        and A_R (align maps)."""
        named = {"U_O": self.U_O.weight, "U_R": self.U_R.weight}
        for side in ("O", "R"):
            if self.config.nonlinear:
                named["W_" + side] = getattr(self, "W_" + side).weight
            if self.config.hop_maps:
                named["P_" + side] = getattr(self, "P_" + side)
        if self.config.align_maps:
            named["A_R"] = self.A_R
        return named

    def embed_input(self, x: torch.Tensor, side: str) -> torch.Tensor:
        """The input embedding for O (side "O") or R ("R"): Uᵀ Φx(x), through NL when configured."""
        if not self.config.nonlinear:
            return x
        return torch.tanh(getattr(self, "W_" + side)(torch.tanh(x)))

    # ---- Φ on both sides -------------------------------------------------------------
    def input_vector(self, side: str, q_ids: torch.Tensor, q_keys: torch.Tensor, sup_ids: torch.Tensor,
                     sup_keys: torch.Tensor) -> torch.Tensor:
        """E([x, m_o1, ...]) for O or R: question words in Q, supports in S, their question words in SM."""
        parts = self._support_parts(side, q_keys, sup_ids, sup_keys)
        return self._combine(side, self._question_part(side, q_ids), parts, sup_ids, sup_keys, q_keys)

    def _question_part(self, side: str, q_ids: torch.Tensor) -> torch.Tensor:
        """Uᵀ Φ of the question's words (Q rows), (B, n)."""
        return getattr(self, "U_" + side)(self.layout.sentence(q_ids, "Q", self.config.unseen_context)).sum(1)

    def _support_parts(self, side: str, q_keys: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor):
        """Uᵀ Φ of each support (B, K, n): its words in S, those found in the question in SM, and
        (R with `support_bigrams`) its bigrams in SN."""
        lay, cfg = self.layout, self.config
        rows = lay.sentence(sup_ids, "S", cfg.unseen_context)
        if cfg.match:
            rows = torch.cat([rows, lay.words(sup_ids, lay.SM, occurs_in(sup_keys, q_keys))], dim=-1)
        if side == "R" and cfg.support_bigrams:
            rows = torch.cat([rows, lay.bigrams(sup_ids, lay.SN)], dim=-1)
        return getattr(self, "U_" + side)(rows).sum(2)

    def _combine(self, side: str, question: torch.Tensor, per_hop: torch.Tensor, sup_ids: torch.Tensor,
                 sup_keys: torch.Tensor, q_keys: torch.Tensor) -> torch.Tensor:
        """The question's and the supports' parts summed into E([x, m_o1, ...]).

        With `hop_maps`, support h's embedding passes through its own matrix P_h before the sum,
        so the input still tells which hop found which fact (an order bag-of-words loses). With
        `align_maps` (R only), support h also passes through A_{h,c}, c saying where in the support
        its first question word (stop words aside) stands: none, first half, second half. "A is
        north of B" asked from A means the opposite of the same fact asked from B.
        """
        x, cfg, hops = question, self.config, per_hop.shape[1]
        if hops and cfg.hop_maps:
            x = x + torch.einsum("bkn,kmn->bm", per_hop, getattr(self, "P_" + side)[:hops])
        elif hops:
            x = x + per_hop.sum(1)
        if hops and side == "R" and cfg.align_maps:
            where = alignment(sup_ids, occurs_in(sup_keys, q_keys) & self.content_word[sup_ids])  # (B, K)
            for c in range(ALIGNMENTS):
                x = x + torch.einsum("bkn,kmn->bm", per_hop * (where == c)[..., None], self.A_R[:hops, c])
        return self.embed_input(x, side)

    def _match_scores(self, x: torch.Tensor, memories: Memories, mem_keys: torch.Tensor,
                      sup_keys: torch.Tensor) -> torch.Tensor:
        """s_O's §3.6 term of every memory: x · the YM rows of its words that occur in the input
        [x, m_o1, ...] (with `match_source`, words matching only a support use the YMS rows).

        Scored per dictionary word, then gathered, so no hop embeds the whole memory again.
        """
        in_question, in_support = memories.in_question, occurs_in(mem_keys, sup_keys)
        flat = memories.ids.flatten(1)

        def term(rows: torch.Tensor, used: torch.Tensor) -> torch.Tensor:
            per_word = x @ rows.T                                                           # (B, |W|)
            return (per_word.gather(1, flat).view_as(memories.ids) * used).sum(-1)

        if not self.config.match_source:
            return term(memories.match, in_question | in_support)
        return term(memories.match, in_question) + term(memories.match_support, in_support & ~in_question)

    @staticmethod
    def _block(table: nn.Embedding, start: int, count: int) -> torch.Tensor:
        """Rows start..start+count of U, looked up (not sliced) so their gradient stays sparse."""
        return table(torch.arange(start, start + count))

    def _gather_rows(self, tensor: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """tensor[b, positions[b, j]] for (B, N, ...) tensors; position -1 gives padding (zeros)."""
        index = positions.clamp(min=0)
        shape = index.shape + tensor.shape[2:]
        picked = tensor.gather(1, index.reshape(index.shape + (1,) * (tensor.dim() - 2)).expand(shape))
        mask = (positions >= 0).reshape(positions.shape + (1,) * (tensor.dim() - 2))
        return picked * mask

    # ---- O -------------------------------------------------------------------------
    def _hop_scores(self, batch: Batch, memories: Memories, x: torch.Tensor, sup_keys: torch.Tensor):
        """s_O of every memory and of the stop memory, and the time coefficients, at one hop with
        input embedding `x` (B, n); `sup_keys` (B, h, L) are the keys of the supports found so far."""
        scores = torch.einsum("bn,bmn->bm", x, memories.base)
        if self.config.match:
            scores = scores + self._match_scores(x, memories, batch.mem_keys, sup_keys.flatten(1))
        return scores, x @ memories.stop, x @ memories.time.T                          # (B, N), (B,), (B, 3)

    def _reference_time(self, batch: Batch, picks: torch.Tensor) -> torch.Tensor:
        """Write time the time features compare against: the question (newer than all) at hop 1,
        then the memory picked at the previous hop."""
        if picks.shape[1] == 0:
            return torch.full((batch.size,), torch.iinfo(torch.long).max)
        last = picks[:, -1]
        return torch.where(last >= 0, batch.mem_time.gather(1, last.clamp(min=0)[:, None])[:, 0],
                           torch.iinfo(torch.long).max)

    def _memories(self, batch: Batch, mem_ids: torch.Tensor) -> Memories:
        """What every hop of O reuses, computed once per batch: U_O Φy(m) of each memory (each
        distinct sentence of the batch embedded once: the questions of a batch share most of their
        memories), which memory words occur in the question, and the YM, YMS, stop and time rows
        (looked up together, so backward builds one sparse gradient for them, not one per hop)."""
        lay, n_words = self.layout, len(self.vocab)
        distinct, where = distinct_rows(mem_ids.flatten(0, 1))
        rows = lay.sentence(distinct, "Y", self.config.unseen_context)
        base = nn.functional.embedding_bag(rows, self.U_O.weight, mode="sum", sparse=self.U_O.sparse,
                                           padding_idx=lay.null)
        blocks = [torch.arange(lay.YM, lay.YM + n_words), torch.tensor([lay.STOP]), torch.arange(lay.T, lay.T + 3)]
        if self.config.match_source:
            blocks.append(torch.arange(lay.YMS, lay.YMS + n_words))
        looked_up = self.U_O(torch.cat(blocks)).split([len(b) for b in blocks])
        return Memories(ids=mem_ids, base=base[where].view(*mem_ids.shape[:2], -1),
                        in_question=occurs_in(batch.mem_keys, batch.q_keys), match=looked_up[0],
                        stop=looked_up[1][0], time=looked_up[2],
                        match_support=looked_up[3] if self.config.match_source else None)

    def hop_loss(self, batch: Batch, mem_ids, q_ids, negatives_generator: torch.Generator) -> torch.Tensor:
        """Eq. 6-7 (or appendix C's pairwise time hinges) for every hop, teacher-forced on the labels."""
        cfg = self.config
        memories = self._memories(batch, mem_ids)
        # teacher forcing: every hop's input holds the same question and labelled facts, embedded once
        question = self._question_part("O", q_ids)
        labelled_ids = self._gather_rows(mem_ids, batch.supports)
        labelled_keys = self._gather_rows(batch.mem_keys, batch.supports)
        labelled = self._support_parts("O", batch.q_keys, labelled_ids, labelled_keys)
        total = torch.zeros(())
        # the labelled facts, then one hop that teaches the stop memory (later hops would repeat it)
        for hop in range(min(cfg.hops, batch.supports.shape[1] + 1)):
            picks = batch.supports[:, :hop]
            x = self._combine("O", question, labelled[:, :hop], labelled_ids[:, :hop], labelled_keys[:, :hop],
                              batch.q_keys)
            scores, stop, time = self._hop_scores(batch, memories, x, labelled_keys[:, :hop])
            target = batch.supports[:, hop] if hop < batch.supports.shape[1] else torch.full((batch.size,), -1)
            still = (picks >= 0).all(1)                       # earlier hops had real facts
            if hop == 0:
                active = still & (target >= 0)
            else:
                active = still
            if not active.any():
                break
            # candidates: the memories plus the stop memory (from hop 2 on), at column N
            n = scores.shape[1]
            all_scores = torch.cat([scores, stop[:, None]], dim=1)
            # O never re-picks a fact at inference; by default an earlier hop's fact still serves as a
            # negative, which teaches the stop memory to win (the simulation's "where is X now")
            pool = self._unpicked(batch, picks) if cfg.skip_found_negatives else batch.mem_valid
            valid = torch.cat([pool, torch.full((batch.size, 1), hop > 0)], dim=1)
            target_col = torch.where(target >= 0, target, torch.full_like(target, n))
            neg = self._sample_negatives(valid, target_col, negatives_generator)      # (B, S), -1 = none
            pos_score = all_scores.gather(1, target_col[:, None])
            neg_score = all_scores.gather(1, neg.clamp(min=0))
            if cfg.time:
                times = torch.cat([batch.mem_time, torch.full((batch.size, 1), -1)], dim=1)
                is_mem = torch.cat([batch.mem_valid, torch.zeros(batch.size, 1, dtype=torch.bool)], dim=1)
                after_ref = (self._reference_time(batch, picks)[:, None] < times) & is_mem
                p_pos, p_neg = after_ref.gather(1, target_col[:, None]), after_ref.gather(1, neg.clamp(min=0))
                t_pos, t_neg = times.gather(1, target_col[:, None]), times.gather(1, neg.clamp(min=0))
                both = is_mem.gather(1, target_col[:, None]) & is_mem.gather(1, neg.clamp(min=0))
                pos_older = (t_pos < t_neg) & both
                neg_older = (t_neg < t_pos) & both
                c1, c2, c3 = time[:, 0:1], time[:, 1:2], time[:, 2:3]
                s_pos_first = pos_score - neg_score + c1 * p_pos + c2 * p_neg + c3 * pos_older
                s_neg_first = neg_score - pos_score + c1 * p_neg + c2 * p_pos + c3 * neg_older
                hinge_pos, hinge_neg = torch.relu(cfg.margin - s_pos_first), torch.relu(cfg.margin + s_neg_first)
                if cfg.scan_hinges:   # Algorithm 1 (newest first) only ever asks s_Ot(x, older, newer)
                    hinge_pos, hinge_neg = hinge_pos * ~neg_older, hinge_neg * ~pos_older
                hinge = hinge_pos + hinge_neg
            else:
                hinge = torch.relu(cfg.margin - pos_score + neg_score)
            hinge = hinge * ((neg >= 0) & active[:, None])
            total = total + hinge.sum()
        return total

    def _sample_negatives(self, valid: torch.Tensor, target: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Up to `negatives` random valid columns other than the target; -1 pads."""
        allowed = valid.clone()
        allowed.scatter_(1, target[:, None], False)
        count = min(self.config.negatives, allowed.shape[1])
        noise = torch.rand(allowed.shape, generator=generator).masked_fill(~allowed, -1.0)
        value, index = noise.topk(count, dim=1)
        return torch.where(value >= 0, index, torch.full_like(index, -1))

    @staticmethod
    def _unpicked(batch: Batch, picks: torch.Tensor) -> torch.Tensor:
        """The memories a hop may still pick: a fact found at an earlier hop adds nothing new."""
        positions = torch.arange(batch.mem_valid.shape[1])
        picked = (picks[:, :, None] == positions).any(1)   # -1 (no pick) matches no position
        return batch.mem_valid & ~picked

    @torch.no_grad()
    def find_supports(self, batch: Batch, hops: int | None = None) -> list[list[Hop]]:
        """O at inference: k hops, each an Algorithm 1 winner search (or argmax without time),
        over the memories not picked yet."""
        hops = hops or self.config.hops
        memories = self._memories(batch, batch.mem_ids)
        question = self._question_part("O", batch.q_ids)
        picks = torch.empty((batch.size, 0), dtype=torch.long)
        done = torch.zeros(batch.size, dtype=torch.bool)
        result: list[list[Hop]] = [[] for _ in range(batch.size)]
        for hop in range(hops):
            sup_ids = self._gather_rows(batch.mem_ids, picks)
            sup_keys = self._gather_rows(batch.mem_keys, picks)
            parts = self._support_parts("O", batch.q_keys, sup_ids, sup_keys)
            x = self._combine("O", question, parts, sup_ids, sup_keys, batch.q_keys)
            scores, stop, time = self._hop_scores(batch, memories, x, sup_keys)
            available = self._unpicked(batch, picks)
            masked = scores.masked_fill(~available, float("-inf"))
            if self.config.time:
                after_ref = (self._reference_time(batch, picks)[:, None] < batch.mem_time) & batch.mem_valid
                winner, v = time_winner(scores, after_ref, time, available)
                # s_Ot(x, stop, m_t): the stop memory has no write time, so only m_t's features speak
                beats_winner = stop - v.gather(1, winner[:, None])[:, 0]
            else:
                winner = masked.argmax(1)
                beats_winner = stop - masked.gather(1, winner[:, None])[:, 0]
            best = scores.gather(1, winner[:, None])[:, 0]
            stops = (beats_winner > 0) & (hop > 0)
            pick = torch.where(stops | done | ~available.any(1), STOP, winner)
            for b in range(batch.size):
                if not done[b] and batch.mem_valid[b].any():
                    n_valid = int(batch.mem_valid[b].sum())
                    result[b].append(Hop(int(pick[b]), float(best[b]) if pick[b] >= 0 else float(stop[b]),
                                         scores[b, :n_valid].tolist(), float(stop[b]) if hop > 0 else None))
            done = done | (pick == STOP)
            picks = torch.cat([picks, pick[:, None]], dim=1)
        return result

    # ---- R -------------------------------------------------------------------------
    def answer_scores(self, batch: Batch, mem_ids, q_ids, picks: torch.Tensor, word_dropped: torch.Tensor | None = None):
        """s_R of every candidate: dictionary words, multi-word answers, then one column per
        support-token position (used for words unseen in training, first occurrence only).

        Returns scores (B, C), a validity mask (B, C), and the keys of the local columns.
        """
        lay = self.layout
        sup_ids = self._gather_rows(mem_ids, picks)           # (B, K, L) effective ids
        sup_keys = self._gather_rows(batch.mem_keys, picks)
        x = self.input_vector("R", q_ids, batch.q_keys, sup_ids, sup_keys)                  # (B, n)
        n_words, n_phrases = len(self.vocab), len(self.vocab.phrases)
        flat_ids, flat_keys = sup_ids.flatten(1), sup_keys.flatten(1)              # (B, P)
        n_local = flat_ids.shape[1]
        # dictionary words and phrases
        words = x @ self._block(self.U_R, lay.Y, n_words).T
        phrases = x @ self._block(self.U_R, lay.A, n_phrases).T
        local_base = words[:, UNK : UNK + 1].expand(-1, n_local)   # a local word starts as <unk>
        scores = torch.cat([words, phrases, local_base], dim=1).clone()
        # each occurrence in a support adds its context rows and the "in a support" row
        first = (flat_keys[:, :, None] == flat_keys[:, None, :]).to(torch.int8).argmax(2)  # first same-key position
        column = torch.where(flat_ids > UNK, flat_ids, n_words + n_phrases + first)
        left, right = lay.context(sup_ids, lay.YL, lay.YR, sup_ids > PAD).split(sup_ids.shape[-1], dim=-1)
        hop = torch.arange(sup_ids.shape[1])[None, :, None].expand_as(sup_ids)
        hop_rows = lay.words(hop + 1, lay.HOP - 1, sup_ids > PAD)
        occurrence_rows = torch.stack([lay.words(sup_ids, lay.YS), left, right, hop_rows], dim=-1).reshape(batch.size, -1, 4)
        occurrence = torch.einsum("bn,bpn->bp", x, self.U_R(occurrence_rows).sum(2)) * (flat_ids > PAD)
        scores.scatter_add_(1, column, occurrence)
        if self.config.match:   # candidate words that occur in the question
            q_known = q_ids > UNK
            q_rows = lay.words(q_ids, lay.YM, q_known)
            scores.scatter_add_(1, q_ids, torch.einsum("bn,bln->bl", x, self.U_R(q_rows)) * q_known)
            local_in_q = occurs_in(flat_keys, batch.q_keys) & (flat_ids == UNK)
            scores[:, n_words + n_phrases:] += local_in_q * (x @ self._block(self.U_R, lay.YM + UNK, 1)[0])[:, None]
        valid = torch.ones_like(scores, dtype=torch.bool)
        valid[:, :2] = False
        if word_dropped is not None:
            valid[:, :n_words] &= ~word_dropped
        positions = torch.arange(n_local)
        valid[:, n_words + n_phrases:] = (flat_ids == UNK) & (first == positions)
        return scores, valid, flat_keys

    def answer_columns(self, batch: Batch, flat_keys: torch.Tensor, word_dropped: torch.Tensor | None) -> torch.Tensor:
        """The target column of each answer (-1 where R cannot express it)."""
        n_words, n_phrases = len(self.vocab), len(self.vocab.phrases)
        columns = []
        for b, answer in enumerate(batch.answers):
            column = self.vocab.answer_column(answer)
            if column is not None and column < n_words and word_dropped is not None and word_dropped[b, column]:
                column = None  # the answer is "unseen" in this example: find it in the supports
            if column is None:
                hits = (flat_keys[b] == token_key(answer)).nonzero()
                column = n_words + n_phrases + int(hits[0]) if len(hits) else -1
            columns.append(column)
        return torch.tensor(columns)

    def answer_loss(self, batch: Batch, mem_ids, q_ids, word_dropped, generator) -> torch.Tensor:
        """Eq. 8: the right answer above sampled wrong candidates, given the labelled supports."""
        picks = batch.supports[:, : self.config.hops]
        scores, valid, flat_keys = self.answer_scores(batch, mem_ids, q_ids, picks, word_dropped)
        target = self.answer_columns(batch, flat_keys, word_dropped)
        known = target >= 0
        target = target.clamp(min=0)
        neg = self._sample_negatives(valid, target, generator)
        hinge = torch.relu(self.config.margin - scores.gather(1, target[:, None]) + scores.gather(1, neg.clamp(min=0)))
        return (hinge * ((neg >= 0) & known[:, None])).sum()

    def candidate_name(self, column: int, flat_tokens: Sequence[str]) -> str:
        n_words, n_phrases = len(self.vocab), len(self.vocab.phrases)
        if column < n_words:
            return self.vocab.words[column]
        if column < n_words + n_phrases:
            return self.vocab.phrases[column - n_words]
        return flat_tokens[column - n_words - n_phrases]

    @torch.no_grad()
    def predict(self, batch: Batch, support_tokens: list[list[list[str]]] | None = None,
                hops: int | None = None, top: int = 5) -> list[Prediction]:
        """O then R for every question of the batch.

        `support_tokens[b][j]` are the tokens of newest-first memory j, needed only to name
        answer words that are not in the dictionary.
        """
        found = self.find_supports(batch, hops)
        k = max(len(h) for h in found) if found else 0
        picks = torch.full((batch.size, max(k, 1)), -1, dtype=torch.long)
        for b, hop_list in enumerate(found):
            for h, hop in enumerate(hop_list):
                picks[b, h] = hop.pick
        scores, valid, _ = self.answer_scores(batch, batch.mem_ids, batch.q_ids, picks)
        scores = scores.masked_fill(~valid, float("-inf"))
        width = batch.mem_ids.shape[2]
        predictions = []
        for b in range(batch.size):
            flat_tokens: list[str] = []
            for pick in picks[b].tolist():
                tokens = support_tokens[b][pick] if (support_tokens and pick >= 0) else []
                flat_tokens.extend(list(tokens) + [""] * (width - len(tokens)))
            ranked = scores[b].topk(min(top, int(valid[b].sum()))) if valid[b].any() else None
            candidates = [] if ranked is None else [
                (self.candidate_name(int(c), flat_tokens), float(s)) for s, c in zip(*ranked)
            ]
            predictions.append(Prediction(found[b], candidates[0][0] if candidates else "", candidates))
        return predictions

    def dropout_mask(self, generator: torch.Generator, batch_size: int) -> torch.Tensor:
        """Which word types each training example pretends never to have seen (§3.5)."""
        dropped = torch.rand((batch_size, len(self.vocab)), generator=generator) < self.config.word_dropout
        dropped[:, :2] = False
        return dropped

    def loss(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """Margin ranking loss of O and R on one batch, with word dropout when unseen words are modelled."""
        if self.config.unseen_context and self.config.word_dropout > 0:
            dropped = self.dropout_mask(generator, batch.size)
            mem_ids = torch.where(dropped.gather(1, batch.mem_ids.flatten(1)).view_as(batch.mem_ids), UNK, batch.mem_ids)
            q_ids = torch.where(dropped.gather(1, batch.q_ids), UNK, batch.q_ids)
        else:
            dropped, mem_ids, q_ids = None, batch.mem_ids, batch.q_ids
        return self.hop_loss(batch, mem_ids, q_ids, generator) + self.answer_loss(batch, mem_ids, q_ids, dropped, generator)
