"""MemNN: the learned parts of a memory network and its settings, its training loss and batched predict.

s(x, y) = Φx(x)ᵀ Uᵀ U Φy(y) with separate U_O and U_R (paper §3.1). Each U is an
`nn.Embedding` over the rows laid out in `memnet.features` (Φ), so U·Φ is a sum of rows.
This module holds the weights and the input side E([x, m_o1, ...]) that O and R share; O's hop
is `memnet.output`, R's ranking `memnet.response`. The weights are read-only at run time.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from memnet import output, response
from memnet.batch import Batch, gather_rows
from memnet.features import MAX_HOPS, PAD, UNK, FeatureLayout, Vocabulary, key_in, occurs_in
from memnet.records import Answer

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
    compose: int = 0                 # R: hidden units of a tanh MLP over [question; support 1; support 2] (roles by alignment; 0: off)
    entity_roles: bool = False       # R reads its first two supports in the question's order; compose's link by shared words
    set_answers: bool = False        # R's SET candidate: the answer is every item above a learned END row (bAbI 8's lists)
    answer_match: bool = False       # R's §3.6 rows: question words found in no support (QX), answer after/before one (YQ)
    unlabelled_picks: bool = False   # R trains on O's picks for questions without labelled supports ("unknown")
    beam: int = 1                    # O's first hop looks ahead: of its `beam` best picks, the one whose pair scores best (1: greedy)
    pair_margin: float = 0.0         # train the beam's pair score: the labelled pair of facts beats the pairs it weighs by this (0: off)
    word_hashing: int = 0            # §3.3: from this hop on (1-based; 0: off) O picks among memories sharing a word with its input
    min_count: int = 1               # words seen fewer times in training stay unseen (redrawn names: see Vocabulary.build)
    nonlinear: bool = False          # NL of arXiv 1502.05698: input embedding E(x) = tanh(W tanh(Uᵀ Φx(x)))
    word_dropout: float = 0.1        # d: share of word types treated as unseen in each training example
    dropout_o_only: bool = False     # word dropout hides words from O's loss only; R trains on the words as written
    margin: float = 0.1              # γ
    lr: float = 0.01
    optimizer: str = "adam"          # "adam", "adagrad" or "sgd" (the paper's)
    epochs: int = 10
    batch_size: int = 32
    average: int = 0                 # the weights kept are the mean of this many snapshots over the last epoch (SWA; 0: the last)
    fit_check: int = 0               # every this many epochs, stop if all training answers and supports are right
    restarts: int = 1                # train this many from different seeds, keep the lowest training error (MemN2N §4.2)
    negatives: int = 100             # sampled negatives per hinge
    memory_size: int | None = None   # newest memories a question sees (None: all)
    init_scale: float = 0.1
    seed: int = 0
    input_map: str = "simple"        # which I built the training features ("simple" or "spacy")

    def to_json(self) -> dict:
        return asdict(self)


# The settings of bench/babi.py: the paper's model plus the follow-up's options and ours, with up
# to 6 hops ended by the stop memory. See bench/notes/babi.md.
BABI_SETTINGS = {"hops": 6, "ngram_buckets": 4096, "optimizer": "adagrad", "lr": 0.08, "epochs": 40, "fit_check": 5,
                 "hop_maps": True, "support_bigrams": True, "match_source": True, "align_maps": True,
                 "skip_found_negatives": True, "beam": 5, "pair_margin": 3.0,
                 "compose": 100, "dropout_o_only": True, "entity_roles": True, "set_answers": True, "average": 10}


ALIGNMENTS = 3  # where a support's first question word stands: nowhere, first half, second half


def alignment(sup_ids: np.ndarray, in_question: np.ndarray) -> np.ndarray:
    """(B, K) class of each support (B, K, L): 0 if no word is marked in `in_question`, else 1 or 2
    as the first marked word stands in the first or second half of the support's words."""
    length = (sup_ids > PAD).sum(-1)
    first = in_question.argmax(-1)
    return np.where(in_question.any(-1), 1 + (2 * first >= length), 0)


def mean_position(positions: np.ndarray, marked: np.ndarray) -> np.ndarray:
    """(B, K): the mean of the `marked` words' `positions` (both (B, K, L)); 0 where none is marked."""
    return (positions * marked).sum(-1) / np.maximum(marked.sum(-1), 1)


def half(positions: np.ndarray, marked: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(B, K): 0 if no word is `marked` (B, K, L), else 1 or 2 as the marked words' `positions`
    (B, K, L), on average, fall in the first or second half of `length` (broadcast to (B, K))."""
    return np.where(marked.any(-1), 1 + (2 * mean_position(positions, marked) >= length), 0)


def swapped(side: np.ndarray) -> np.ndarray:
    """(B,) whether two supports' question sides (B, 2) say the second support is about the question's
    first entity: (2, 1), or one side unknown (0) and the other pointing that way."""
    first, second = side[:, 0], side[:, 1]
    return ((first == 2) & (second != 2)) | ((second == 1) & (first != 1))


def shared_words(sup_ids: np.ndarray, sup_keys: np.ndarray, content_word: np.ndarray) -> np.ndarray:
    """(B, 2, L): the content words (`content_word`, (|W|,) bool: `MemNN.content_word`) of each of two
    supports (ids and keys (B, 2, L)) that the other support holds too: where the entity linking
    them can stand."""
    both = np.stack([key_in(sup_keys[:, 0], sup_keys[:, 1]), key_in(sup_keys[:, 1], sup_keys[:, 0])], 1)
    return both & content_word[sup_ids]


def link_halves(sup_ids: np.ndarray, sup_keys: np.ndarray, q_keys: np.ndarray, content_word: np.ndarray) -> np.ndarray:
    """`entity_roles`' linking entity in two supports (B, 2, L) of questions with keys (B, Lq): (B, 2),
    the half of each support its words stand in on average (0: none, 1, 2; `half`). The words are
    those both supports hold that the question lacks, or, where there are none, all that both hold:
    "the red square" links "the red sphere is below the red square" and "the red square is right of
    the blue square" although the question holds "red" and "square" too."""
    both = shared_words(sup_ids, sup_keys, content_word)
    unasked = both & ~key_in(sup_keys, q_keys)
    linking = np.where(unasked.any(-1, keepdims=True), unasked, both)
    return half(np.broadcast_to(np.arange(sup_ids.shape[-1]), sup_ids.shape), linking, (sup_ids > PAD).sum(-1))


def question_sides(sup_ids: np.ndarray, sup_keys: np.ndarray, q_keys: np.ndarray, content_word: np.ndarray) -> np.ndarray:
    """`entity_roles`' side of the question each of two supports (B, 2, L) speaks of, for questions
    with keys (B, Lq): (B, 2), 1 or 2 as the support's own content words (those the other support
    lacks; words the question holds twice aside) stand earlier or later in the question than the
    other support's, 0 where it has none: "Is the red square left of the yellow square?": the
    support holding "red" is about side 1, the one holding "yellow" about side 2. The order of the
    two, not the question's halves, decides where both have such words: "How do you go from the
    kitchen to the garden?" holds both in its second half. Where only one has them, the half of the
    question they stand in (`half`)."""
    own = (sup_keys != 0) & content_word[sup_ids] & ~shared_words(sup_ids, sup_keys, content_word)
    hits = sup_keys[:, :, :, None] == q_keys[:, None, None, :]                       # (B, 2, L, Lq)
    once = (q_keys[:, :, None] == q_keys[:, None, :]).sum(-1) == 1                   # (B, Lq)
    positions, marked = hits.argmax(-1), own & (hits & once[:, None, None, :]).any(-1)
    mean = mean_position(positions, marked)                                          # (B, 2)
    ordered = 1 + (mean > mean[:, ::-1])
    return np.where(marked.any(-1).all(-1, keepdims=True), ordered, half(positions, marked, (q_keys != 0).sum(-1)[:, None]))


class MemNN(nn.Module):
    """The learned parts of a memory network: U_O for O (with time rows) and U_R for R."""

    def __init__(self, config: ModelConfig, vocab: Vocabulary):
        super().__init__()
        if not 1 <= config.hops <= MAX_HOPS:
            raise ValueError(f"hops must be between 1 and {MAX_HOPS}, got {config.hops}")
        if config.support_bigrams and not config.ngram_buckets:
            raise ValueError("support_bigrams needs n-gram buckets (ngram_buckets > 0)")
        if config.entity_roles and not (config.hop_maps or config.align_maps or config.compose):
            # without them R sums its supports, and their order changes nothing
            raise ValueError("entity_roles needs an R that reads the supports' order: hop_maps, align_maps or compose")
        self.config = config
        self.vocab = vocab
        self.layout = FeatureLayout(len(vocab), self.answer_phrases, config.ngram_buckets, config.support_bigrams,
                                    config.match_source, config.answer_match, config.set_answers)
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
            self.A_R = nn.Parameter(torch.zeros(MAX_HOPS, ALIGNMENTS, config.dim, config.dim))
        if config.compose:   # the output layer starts at zero: R starts as without it
            self.C_R = nn.Linear((1 + 2 * ALIGNMENTS) * config.dim, config.compose)
            self.D_R = nn.Parameter(torch.zeros(config.dim, config.compose))
        if config.hop_maps:
            self.P_O = nn.Parameter(torch.eye(config.dim).repeat(MAX_HOPS, 1, 1))
            self.P_R = nn.Parameter(torch.eye(config.dim).repeat(MAX_HOPS, 1, 1))
        self._tables: dict[tuple[str, ...], tuple[int, torch.Tensor]] = {}

    def weights(self) -> dict[str, torch.Tensor]:
        """Every learned tensor by its checkpoint name: U_O and U_R, then W_* (NL), P_* (hop maps),
        A_R (align maps) and C_R, c_R, D_R (compose)."""
        named = {"U_O": self.U_O.weight, "U_R": self.U_R.weight}
        for side in ("O", "R"):
            if self.config.nonlinear:
                named["W_" + side] = getattr(self, "W_" + side).weight
            if self.config.hop_maps:
                named["P_" + side] = getattr(self, "P_" + side)
        if self.config.align_maps:
            named["A_R"] = self.A_R
        if self.config.compose:
            named.update(C_R=self.C_R.weight, c_R=self.C_R.bias, D_R=self.D_R)
        return named

    def embed_input(self, x: torch.Tensor, side: str) -> torch.Tensor:
        """The input embedding for O (side "O") or R ("R"): Uᵀ Φx(x), through NL when configured."""
        if not self.config.nonlinear:
            return x
        return torch.tanh(getattr(self, "W_" + side)(torch.tanh(x)))

    def table(self, side: str, *blocks: str) -> torch.Tensor:
        """U_O's (side "O") or U_R's ("R") rows of whole Φ blocks, concatenated: (sum of their sizes, n).
        One lookup, so training builds one sparse gradient for them; at inference (no gradient) it is
        kept until the weights change, since every question reads the same rows."""
        embedding, key, keep = getattr(self, "U_" + side), (side, *blocks), not torch.is_grad_enabled()
        version, rows = self._tables.get(key, (None, None))
        if not keep or version != embedding.weight._version:
            rows = embedding(torch.cat([self.layout.rows(block) for block in blocks]))
            if keep:
                self._tables[key] = (embedding.weight._version, rows)
        return rows

    def bag(self, side: str, rows: torch.Tensor) -> torch.Tensor:
        """Uᵀ Φ of bags of feature rows: U_O's (side "O") or U_R's ("R") rows `rows` (..., L) summed
        over the last axis, (..., n); the null row adds nothing. In training with sparse tables each
        row a call uses is looked up once, and the bags are summed from those: the sparse gradient
        then has one entry per row used, not one per feature of every bag (the optimizer sorts its
        entries, and the bags of a batch share most of their rows)."""
        embedding, null = getattr(self, "U_" + side), self.layout.null
        table, flat = embedding.weight, rows.reshape(-1, rows.shape[-1])
        if embedding.sparse and torch.is_grad_enabled():
            # the rows used, in order, and each one's place among them: a mark per row of U and a
            # running count (a sorted unique, without sorting the thousands of row ids)
            present = np.zeros(len(table), dtype=bool)
            present[flat.numpy()] = True
            present[null] = True
            local = np.cumsum(present) - 1
            table, null, flat = embedding(torch.from_numpy(np.flatnonzero(present))), int(local[null]), torch.from_numpy(local[flat.numpy()])
        return nn.functional.embedding_bag(flat, table, mode="sum", padding_idx=null).view(*rows.shape[:-1], -1)

    # ---- Φ on both sides -------------------------------------------------------------
    def input_vector(self, side: str, q_ids: torch.Tensor, q_keys: torch.Tensor, sup_ids: torch.Tensor,
                     sup_keys: torch.Tensor) -> torch.Tensor:
        """E([x, m_o1, ...]) for O or R: question words in Q, supports in S, their question words in SM
        (and, R with `answer_match`, the question words no support holds in QX; R with `compose`, its
        MLP over the question and the first two supports). R with `entity_roles` reads the first two
        supports in the question's order (`question_order`); its answer candidates keep the hop order
        (which hop found a word: HOP and YQ rows)."""
        if side == "R" and self.config.entity_roles and sup_ids.shape[1] >= 2:
            sup_ids, sup_keys = self.question_order(q_keys, sup_ids, sup_keys)
        parts = self.support_parts(side, q_keys, sup_ids, sup_keys)
        question = self.question_part(side, q_ids)
        composed = self.composed(question, parts, sup_ids, sup_keys, q_keys) if side == "R" and self.config.compose else None
        if side == "R" and self.config.answer_match:
            question = question + self.missing_part(q_ids, q_keys, sup_keys)
        return self.combine(side, question, parts, sup_ids, sup_keys, q_keys, composed)

    def missing_part(self, q_ids: torch.Tensor, q_keys: torch.Tensor, sup_keys: torch.Tensor) -> torch.Tensor:
        """U_Rᵀ Φ of the question's words (stop words aside) found in none of the supports (QX rows),
        (B, n): every such word adds the <unk> row (a word missing, whatever it is: "Where is Mary?"
        when only John was mentioned), a dictionary word its own row too. Keys, not ids, decide, so
        an unseen word counts as found where it is written."""
        missing = torch.from_numpy(~key_in(q_keys.numpy(), sup_keys.flatten(1).numpy()) & self.content_word[q_ids.numpy()])
        lay = self.layout
        rows = torch.cat([lay.words(torch.full_like(q_ids, UNK), lay.QX, missing),
                          lay.words(q_ids, lay.QX, missing & (q_ids > UNK))], dim=-1)
        return self.bag("R", rows)

    def question_words(self, sup_ids: torch.Tensor, sup_keys: torch.Tensor, q_keys: torch.Tensor) -> np.ndarray:
        """(B, K, L) bool: the supports' words that occur in the question, stop words aside (what
        `align_maps` and R's YQ rows place a support by)."""
        return key_in(sup_keys.numpy(), q_keys.numpy()) & self.content_word[sup_ids.numpy()]

    def question_part(self, side: str, q_ids: torch.Tensor) -> torch.Tensor:
        """Uᵀ Φ of the question's words (Q rows), (B, n)."""
        return self.bag(side, self.layout.sentence(q_ids, "Q", self.config.unseen_context))

    def support_parts(self, side: str, q_keys: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor):
        """Uᵀ Φ of each support (B, K, n): its words in S, those found in the question in SM, and
        (R with `support_bigrams`) its bigrams in SN."""
        lay, cfg = self.layout, self.config
        if not sup_ids.shape[1]:   # O's first hop: no supports yet
            return torch.zeros((sup_ids.shape[0], 0, cfg.dim))
        rows = lay.sentence(sup_ids, "S", cfg.unseen_context)
        if cfg.match:
            rows = torch.cat([rows, lay.words(sup_ids, lay.SM, occurs_in(sup_keys, q_keys))], dim=-1)
        if side == "R" and cfg.support_bigrams:
            rows = torch.cat([rows, lay.bigrams(sup_ids, lay.SN)], dim=-1)
        return self.bag(side, rows)

    def combine(self, side: str, question: torch.Tensor, per_hop: torch.Tensor, sup_ids: torch.Tensor,
                 sup_keys: torch.Tensor, q_keys: torch.Tensor, composed: torch.Tensor | None = None,
                 prefixes: int | None = None) -> torch.Tensor:
        """The question's and the supports' parts summed into E([x, m_o1, ...]), (B, n): the question
        part (B, n), each support's `support_terms` and `composed` ((B, n): R's `compose` term), through
        NL when configured. With `prefixes` H, the inputs of hops 1..H at once, (H, B, n): hop h's
        holds the first h − 1 supports (teacher-forced training; H may exceed K by one)."""
        terms = self.support_terms(side, per_hop, sup_ids, sup_keys, q_keys)                # (K, B, n)
        if prefixes is None:
            x = question + terms.sum(0)
        else:
            x = question + torch.cat([terms.new_zeros((1, *terms.shape[1:])), terms.cumsum(0)])[:prefixes]
        if composed is not None:
            x = x + composed
        return self.embed_input(x, side)

    def support_terms(self, side: str, per_hop: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor,
                      q_keys: torch.Tensor) -> torch.Tensor:
        """What each support adds to the input embedding, (K, B, n), from its part (`per_hop`, (B, K, n)).

        With `hop_maps`, support h's embedding passes through its own matrix P_h, so the input still
        tells which hop found which fact (an order bag-of-words loses). With `align_maps` (R only),
        support h also passes through A_{h,c}, c saying where in the support its first question word
        (stop words aside) stands: none, first half, second half. "A is north of B" asked from A
        means the opposite of the same fact asked from B.
        """
        cfg, hops = self.config, per_hop.shape[1]
        if not hops or not (cfg.hop_maps or side == "R" and cfg.align_maps):
            return per_hop.transpose(0, 1)
        # the maps multiply as batched matrix products over their own contiguous blocks: an einsum
        # over "kmn" first copies the maps into another layout, which costs more than the products
        columns = per_hop.permute(1, 2, 0)                                                  # (K, n, B)
        terms = (getattr(self, "P_" + side)[:hops] @ columns).mT if cfg.hop_maps else per_hop.transpose(0, 1)
        if side == "R" and cfg.align_maps:
            where = torch.from_numpy(alignment(sup_ids.numpy(), self.question_words(sup_ids, sup_keys, q_keys)))  # (B, K)
            every_class = (self.A_R[:hops] @ columns[:, None]).permute(0, 3, 1, 2)         # (K, B, C, n)
            terms = terms + every_class.gather(2, where.T[:, :, None, None].expand(-1, -1, 1, cfg.dim))[:, :, 0]
        return terms

    def composed(self, question: torch.Tensor, per_hop: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor,
                 q_keys: torch.Tensor) -> torch.Tensor:
        """`compose`: D_R tanh(C_R [q; s_1; s_2] + c_R), (B, n), added to R's input embedding. q (B, n)
        is U_Rᵀ Φ of the question's words; s_h, support h's part (`per_hop`, (B, K, n)), stands in
        one of three n-wide slots by where the entity that links the two supports (content words
        of both that the question lacks) stands in it: nowhere, first half, second half
        (`alignment`). "The triangle is above the rectangle; the square is left of the triangle; is
        the rectangle right of the square?" asks for a relation of two relations and their
        directions, which a sum of word embeddings cannot give (arXiv 1502.05698's NL nonlinearity
        on the whole input did not pass task 17). Word dropout hides "above" or "left" from a third
        of such examples, and the MLP then fits them no better than the linear rows (task 17: 64%
        of training answers), so `BABI_SETTINGS` keeps it to O (`dropout_o_only`). With `entity_roles`
        the linking entity is `link_halves`' (words both supports hold, also when the question holds them)
        and the supports come in the question's order (`question_order`)."""
        batch, n = question.shape[0], self.config.dim
        k = min(per_hop.shape[1], 2)
        where = np.zeros((batch, k), dtype=np.int64)
        if k == 2:
            keys, ids = sup_keys[:, :2].numpy(), sup_ids[:, :2].numpy()
            if self.config.entity_roles:
                where = link_halves(ids, keys, q_keys.numpy(), self.content_word)
            else:
                where = alignment(ids, shared_words(ids, keys, self.content_word) & ~key_in(keys, q_keys.numpy()))
        # support h's part in its slot (h, where_h), zeros elsewhere: (B, 2, ALIGNMENTS, n)
        slots = torch.zeros((batch, 2, ALIGNMENTS, n)).scatter(
            2, torch.from_numpy(where)[:, :, None, None].expand(-1, -1, 1, n), per_hop[:, :k, None, :])
        hidden = torch.tanh(self.C_R(torch.cat([question, slots.flatten(1)], dim=1)))
        return hidden @ self.D_R.T

    def question_order(self, q_keys: torch.Tensor, sup_ids: torch.Tensor,
                       sup_keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The supports' ids and keys (B, K, L), K ≥ 2, with the first two swapped where both are facts
        and the second is about the question's first entity (`question_sides`, `swapped`): R then reads
        them in the question's order, whichever hop found which (`entity_roles`; R's training reads the
        labelled supports through it too)."""
        side = question_sides(sup_ids[:, :2].numpy(), sup_keys[:, :2].numpy(), q_keys.numpy(), self.content_word)
        order = torch.arange(sup_ids.shape[1]).repeat(sup_ids.shape[0], 1)
        both = (sup_ids[:, :2] > PAD).any(-1).all(-1).numpy()   # two facts, not one and a stop
        order[torch.from_numpy(swapped(side) & both), :2] = torch.tensor([1, 0])
        return gather_rows(sup_ids, order), gather_rows(sup_keys, order)

    @property
    def answer_phrases(self) -> int:
        """R's candidates after the dictionary words: the multi-word answers, then (`set_answers`) SET,
        "the answer is a set of items" (the last A row)."""
        return len(self.vocab.phrases) + self.config.set_answers

    @property
    def set_column(self) -> int | None:
        """SET's column among R's candidates (`set_answers`), None without it."""
        return len(self.vocab) + self.answer_phrases - 1 if self.config.set_answers else None

    @functools.cached_property
    def content_word(self) -> np.ndarray:
        """(|W|,) bool: the dictionary words other than padding and spaCy's English stop words ("the",
        "of", "to"), which say nothing about where a question's entity stands in a support, nor which
        memories concern the question (word hashing). Built on first use and imported here: loading
        spaCy costs every other `import memnet` half a second, and a model without these settings
        never needs it."""
        from spacy.lang.en.stop_words import STOP_WORDS

        return np.array([i > PAD and w not in STOP_WORDS for i, w in enumerate(self.vocab.words)])

    @property
    def max_hops(self) -> int:
        """The most hops this model can run: R's HOP rows and the hop maps exist for MAX_HOPS hops."""
        return MAX_HOPS

    def dropout_mask(self, generator: torch.Generator, batch_size: int) -> torch.Tensor:
        """Which word types each training example pretends never to have seen (§3.5)."""
        dropped = torch.rand((batch_size, len(self.vocab)), generator=generator) < self.config.word_dropout
        dropped[:, :2] = False
        return dropped

    def loss(self, batch: Batch, generator: torch.Generator) -> torch.Tensor:
        """Margin ranking loss of O and R on one batch (eq. 6-8), with word dropout when unseen words are
        modelled (§3.5; O's loss only with `dropout_o_only`). A scalar: the sum over the batch's questions."""
        if self.config.unseen_context and self.config.word_dropout > 0:
            dropped = self.dropout_mask(generator, batch.size)
            mem_ids = torch.where(dropped.gather(1, batch.mem_ids.flatten(1)).view_as(batch.mem_ids), UNK, batch.mem_ids)
            q_ids = torch.where(dropped.gather(1, batch.q_ids), UNK, batch.q_ids)
        else:
            dropped, mem_ids, q_ids = None, batch.mem_ids, batch.q_ids
        seen_by_r = (batch.mem_ids, batch.q_ids, None) if self.config.dropout_o_only else (mem_ids, q_ids, dropped)
        return (output.hop_loss(self, batch, mem_ids, q_ids, generator)
                + response.answer_loss(self, batch, *seen_by_r, generator))

    @torch.no_grad()
    def predict(self, batch: Batch, support_tokens: list[list[list[str]]] | None = None,
                hops: int | None = None, top: int = 5) -> list[Answer]:
        """O then R for every question of the batch; hops name newest-first memory positions.

        `support_tokens[b][j]` are the tokens of newest-first memory j, needed only to name
        answer words that are not in the dictionary.
        """
        memories = output.batch_memories(self, batch, batch.mem_ids)
        found = output.find_supports(self, batch.q_ids, batch.q_keys, memories, hops)
        k = max((len(h) for h in found), default=0)
        picks = torch.full((batch.size, max(k, 1)), -1, dtype=torch.long)
        for b, hop_list in enumerate(found):
            for h, hop in enumerate(hop_list):
                picks[b, h] = -1 if hop.slot is None else hop.slot
        tokens = [[support_tokens[b][p] if (support_tokens and p >= 0) else () for p in row] for b, row in
                  enumerate(picks.tolist())]
        rankings = response.rank(self, batch.q_ids, batch.q_keys, gather_rows(batch.mem_ids, picks),
                                 gather_rows(batch.mem_keys, picks), tokens, top)
        return [Answer("", ranking[0][0] if ranking else "", hops, ranking) for hops, ranking in zip(found, rankings)]
