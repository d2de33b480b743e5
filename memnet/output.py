"""O, the output feature map (paper §3.1-§3.4): k hops, each picking the supporting memory

    o_h = argmax_i s_O([x, m_o1, ..., m_o(h-1)], m_i),   s_O(x, y) = Φx(x)ᵀ U_Oᵀ U_O Φy(y)

plus the §3.6 exact-match term, the write-time triple scoring s_Ot with Algorithm 1 (§3.4) and
the stop memory that ends the hops early (arXiv 1502.05698). One hop is written once here and
serves training (`hop_loss`, teacher-forced on the labelled facts), batched inference over a
`Batch` (`find_supports`) and serving over a stored memory, whose U_O·Φy(m) rows are computed
once per slot when it is written (`SlotVectors`, paper footnote 2).

Memories are newest first: Algorithm 1 walks them in that order, so the "y older than y′"
feature speaks in every comparison it makes.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Callable

import numpy as np
import torch

from memnet.batch import Batch, gather_rows, sample_negatives
from memnet.features import PAD
from memnet.memory.index import Synced
from memnet.memory.slots import Memory
from memnet.records import Hop

if TYPE_CHECKING:
    from memnet.model import MemNN

NEVER = torch.iinfo(torch.long).max   # reference time before any pick: the question is newer than all
CHUNK = 65_536                        # slots embedded at a time


@dataclass
class Memories:
    """The memories O scores for B questions, newest first. N memories of L words, n = embedding size."""

    ids: torch.Tensor          # (B, N, L) word ids (after word dropout in training)
    keys: torch.Tensor         # (B, N, L) word keys (exact match, unseen words too)
    time: torch.Tensor         # (B, N) write time; -1 for padding
    valid: torch.Tensor        # (B, N) bool
    base: torch.Tensor         # (B, N, n) U_O Φy(m); B may divide the questions' rows (`stacked` copies of one batch share it)
    slots: torch.Tensor        # (B, N) what a pick is called outside O: position in a batch, slot index when serving
    terms: torch.Tensor        # (B, N, L) each word's number in `term_index` (0: padding)
    term_index: dict[int, int] # word key -> its number T among the memories' distinct keys (key 0 -> 0)
    term_ids: torch.Tensor     # (B, T) each distinct word's id (in training, after the example's word dropout)
    in_question: torch.Tensor  # (B, T) the distinct words that occur in the question
    term_keys: np.ndarray | None = None  # (T,) the keys in number order where that order is sorted (a batch's): `occurs` searches them


def number_terms(keys: torch.Tensor) -> tuple[torch.Tensor, dict[int, int], np.ndarray]:
    """Number the distinct word keys of memories (..., L) in sorted order: key 0 (padding) is 0. With
    them, which memory words occur in an input is a mask over the distinct words (`occurs`), not a
    comparison of every memory word with every input word. Also returns the sorted keys (T,)."""
    distinct, inverse = torch.unique(torch.cat([torch.zeros(1, dtype=keys.dtype), keys.flatten()]), return_inverse=True)
    return inverse[1:].view(keys.shape), dict(zip(distinct.tolist(), range(len(distinct)))), distinct.numpy()


def occurs(memories: Memories, keys: torch.Tensor) -> torch.Tensor:
    """(B, T): which of the memories' distinct words occur among each question's `keys` (B, M)
    (§3.6 exact match, unseen words included: it compares keys, not dictionary ids)."""
    if memories.term_keys is not None:   # a word's number is its place among the sorted keys: one search
        known, wanted = memories.term_keys, keys.numpy()
        at = np.searchsorted(known, wanted).clip(max=len(known) - 1)
        numbers = np.where(known[at] == wanted, at, 0)
    else:
        number = memories.term_index.get
        numbers = np.array([[number(k, 0) for k in row] for row in keys.tolist()], dtype=np.int64).reshape(keys.shape)
    mask = np.zeros((keys.shape[0], len(memories.term_index)), dtype=bool)
    np.put_along_axis(mask, numbers, True, axis=1)
    mask[:, 0] = False
    return torch.from_numpy(mask)


@dataclass
class Rows:
    """U_O rows every hop reads, looked up once (so backward builds one sparse gradient for them)."""

    match: torch.Tensor                 # (|W|, n) YM: a memory word that occurs in the input (§3.6)
    time_stop: torch.Tensor             # (4, n) the three write-time features of s_Ot (§3.4), then the stop memory
    match_support: torch.Tensor | None  # (|W|, n) YMS: matched a support only (`match_source`)

    @classmethod
    def of(cls, model: MemNN) -> "Rows":
        lay = model.layout
        blocks = ["YM", "T", "STOP"] + (["YMS"] if model.config.match_source else [])
        sizes = [len(lay.rows(b)) for b in blocks]
        match, time_stop, *match_support = model.table("O", *blocks).split([sizes[0], sizes[1] + sizes[2], *sizes[3:]])
        return cls(match, time_stop, match_support[0] if match_support else None)


def distinct_rows(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct rows of a 2-D id matrix, and each row's index among them (numpy's unique over
    whole rows viewed as bytes: ten times faster than torch.unique(dim=0))."""
    rows = np.ascontiguousarray(ids.numpy())
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))[:, 0]
    _, first, where = np.unique(as_bytes, return_index=True, return_inverse=True)
    return torch.from_numpy(rows[first]), torch.from_numpy(where.reshape(-1))


def embed_memories(model: MemNN, ids: torch.Tensor) -> torch.Tensor:
    """U_O Φy(m) of memories (..., L) -> (..., n); each distinct sentence is embedded once (the
    questions of a batch share most of their memories)."""
    distinct, where = distinct_rows(ids.reshape(-1, ids.shape[-1]))
    base = model.bag("O", model.layout.sentence(distinct, "Y", model.config.unseen_context))
    return base[where].view(*ids.shape[:-1], -1)


def batch_memories(model: MemNN, batch: Batch, mem_ids: torch.Tensor) -> Memories:
    """A batch's memories as O reads them; `mem_ids` may differ from `batch.mem_ids` by word dropout."""
    terms, term_index, term_keys = number_terms(batch.mem_keys)
    # within one example a word has one id (word dropout drops a word type), so each term's id is well defined
    term_ids = torch.zeros((batch.size, len(term_index)), dtype=torch.long).scatter_(1, terms.flatten(1), mem_ids.flatten(1))
    memories = Memories(mem_ids, batch.mem_keys, batch.mem_time, batch.mem_valid, embed_memories(model, mem_ids),
                        torch.arange(batch.mem_ids.shape[1]).expand(batch.size, -1), terms, term_index, term_ids,
                        batch.q_keys[:, :0], term_keys)
    memories.in_question = occurs(memories, batch.q_keys)
    return memories


def match_scores(model: MemNN, x: torch.Tensor, memories: Memories, rows: Rows, sup_keys: torch.Tensor) -> torch.Tensor:
    """s_O's §3.6 term of every memory (W·B, N): x · the YM rows of its words that occur in the input
    [x, m_o1, ...] (with `match_source`, words matching only a support use the YMS rows). `x`
    (W·B, n) and `sup_keys` (W·B, M) are W inputs for each of the memories' B questions (input j in
    rows j·B .. (j+1)·B; W = 1: one each).

    Scored per distinct memory word (T), then gathered once over the memory words, so no hop
    embeds the whole memory again.
    """
    batch = memories.term_ids.shape[0]
    tiles = x.shape[0] // batch
    in_question, in_support = memories.in_question, occurs(memories, sup_keys).view(tiles, batch, -1)

    def per_term(match_rows: torch.Tensor) -> torch.Tensor:                               # (W, B, T)
        return (x @ match_rows.T).view(tiles, batch, -1).gather(2, memories.term_ids.expand(tiles, -1, -1))

    if not model.config.match_source:
        value = per_term(rows.match) * (in_question | in_support)
    else:
        value = torch.where(in_question, per_term(rows.match), per_term(rows.match_support) * in_support)
    terms = memories.terms.flatten(1)
    return value.gather(2, terms.expand(tiles, -1, -1)).view(tiles * batch, *memories.terms.shape[1:]).sum(-1)


def hop_scores(model: MemNN, memories: Memories, rows: Rows, x: torch.Tensor, sup_keys: torch.Tensor):
    """s_O at one hop with input embeddings `x` (W·B, n), W inputs for each of the memories' B
    questions (input j in rows j·B .. (j+1)·B: the hops of teacher-forced training, the beam's
    candidates; W = 1: one each): every memory's score (W·B, N), the stop memory's (W·B,), and x·T
    for the three time features (W·B, 3). `sup_keys` (W·B, h, L): the supports found so far."""
    batch, count = memories.base.shape[0], memories.base.shape[1]
    tiles = x.shape[0] // batch
    # each question's inputs as rows times its memories' columns, one product per question: torch's
    # batched matrix-vector product (base @ x) runs about seven times slower on CPU, and the memories
    # are never copied per input
    scores = (x.view(tiles, batch, -1).transpose(0, 1) @ memories.base.mT).transpose(0, 1).reshape(tiles * batch, count)
    if model.config.match:
        scores = scores + match_scores(model, x, memories, rows, sup_keys.flatten(1))
    time_stop = x @ rows.time_stop.T
    return scores, time_stop[:, 3], time_stop[:, :3]


def pickable(model: MemNN, memories: Memories, picks: torch.Tensor, sup_keys: torch.Tensor, hop: int) -> torch.Tensor:
    """(B, N): the memories hop `hop` (0-based) may pick: those not picked yet (`unpicked`) and, from
    hop `config.word_hashing` on (1-based; 0: never), only those `sharing` a word with the hop's
    input. A long memory of other people's doings then cannot slip an unrelated newer fact in
    after the true one: without it, the newer fact's write-time terms can outscore the stop
    memory (bench/conversations.py, interleaved x10)."""
    available = unpicked(memories, picks)
    hashing = model.config.word_hashing
    return available & sharing(model, memories, sup_keys) if hashing and hop + 1 >= hashing else available


def unpicked(memories: Memories, picks: torch.Tensor) -> torch.Tensor:
    """(B, N): the memories a hop may still pick; a fact found at an earlier hop adds nothing new.
    `picks` (B, h) are slot names as in `memories.slots`, -1 for none."""
    picked = (memories.slots[:, :, None] == picks[:, None, :]).any(-1)
    return memories.valid & ~picked


def after_reference(memories: Memories, pick_time: torch.Tensor) -> torch.Tensor:
    """(B, N): memories newer than the reference the time features compare against: the question
    (newer than all) at hop 1, then the memory picked at the previous hop. `pick_time` (B, h), -1: none."""
    last = pick_time[:, -1] if pick_time.shape[1] else torch.full((pick_time.shape[0],), -1)
    reference = torch.where(last >= 0, last, NEVER)
    return (reference[:, None] < memories.time) & memories.valid


def fast_winner(u: torch.Tensor, v: torch.Tensor, valid: torch.Tensor, block: int = 256) -> torch.Tensor:
    """Algorithm 1's winner for each row (B, N) -> (B,): t = first valid; for i > t: t = i if u_i > v_t.
    Inference only: no gradient. The rows' u − v is x·T's write-time terms, one constant for the
    slots newer than the reference and one for the older, so most rows take one of two short cuts:

    - u ≥ v everywhere (the older of two close facts is favoured): the walk ends at the first
      candidate w that no later one beats, v_w ≥ max_{i>w} u_i. It cannot stop before w (that
      slot would be such a candidate) nor jump past it (the slot it jumps to would need
      u_i > v_t ≥ u_w ≥ v_w ≥ u_i). One suffix maximum, whatever the number of changes.
    - u < v everywhere (the newer is favoured): every slot the walk moves to beats all before it
      (u_i > v_t > u_t ≥ ...), so it only visits the running maxima of u, a few slots.

    Other rows are walked (`_walk`); several rows of at most `block` slots (training's batches) side
    by side (`_walk_rows`), a few numpy steps for all of them instead of a Python loop per row.
    """
    ok = valid.numpy()
    u_rows = np.where(ok, u.detach().numpy(), -np.inf)   # a padded or picked slot never wins
    v_rows = v.detach().numpy()
    later_best = np.full_like(u_rows, -np.inf)           # max of u over the later slots
    later_best[:, :-1] = np.maximum.accumulate(u_rows[:, :0:-1], axis=1)[:, ::-1]
    winners = (ok & (v_rows >= later_best)).argmax(1)    # the first candidate (0 if none)
    below = (u_rows < v_rows) & ok
    todo = np.flatnonzero(below.any(1))
    if len(todo) > 1 and u_rows.shape[1] <= block:
        winners[todo] = _walk_rows(u_rows[todo], v_rows[todo], ok[todo].argmax(1))
        todo = todo[:0]
    for b in todo.tolist():
        t = int(ok[b].argmax())
        if below[b].sum() == ok[b].sum():
            u_row, v_row = u_rows[b], v_rows[b]
            for i in np.flatnonzero(u_row[1:] > np.maximum.accumulate(u_row)[:-1]).tolist():   # running maxima - 1
                if i + 1 > t and u_row[i + 1] > v_row[t]:
                    t = i + 1
        else:
            t = _walk(u_rows[b], v_rows[b], t, block)
        winners[b] = t
    return torch.from_numpy(winners)


def _walk_rows(u: np.ndarray, v: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Algorithm 1's walk over rows (R, N) at once from candidates t (R,): each step moves every row
    still walking to its first later slot that beats its incumbent, and a row stops when none does.
    The steps are the most changes of any row, each a few numpy calls over the rows still walking."""
    later, rows = np.arange(u.shape[1]), np.arange(len(t))
    while len(rows):
        beats = (u[rows] > v[rows, t[rows]][:, None]) & (later > t[rows][:, None])
        moved = beats.any(1)
        rows = rows[moved]
        t[rows] = beats[moved].argmax(1)
    return t


def _walk(u_row: np.ndarray, v_row: np.ndarray, t: int, block: int) -> int:
    """Algorithm 1's walk over one row from candidate t. Each step looks for the first slot that
    beats the incumbent within the next `block` slots (numpy, a few microseconds), jumping there
    or past the block: the steps are the winner's changes plus N / block."""
    start = t + 1
    while start < len(u_row):
        beats = u_row[start : start + block] > v_row[t]
        i = int(beats.argmax())
        if beats[i]:
            t = start = start + i
            start += 1
        else:
            start += block
    return t


def time_winner(scores: torch.Tensor, after_ref: torch.Tensor, time: torch.Tensor, valid: torch.Tensor):
    """Algorithm 1 with s_Ot over newest-first memories: the winner per row, and the incumbent side
    v of s_Ot(x, y, m_t) = u_y - v_t, which the stop memory must also beat.

    `time` (B, 3) holds x·T for the three time features; `after_ref` marks memories newer than the
    reference (the previous hop's pick). Each challenger is older than the winner it meets.
    """
    u, v = time_sides(scores, after_ref, time)
    return fast_winner(u, v, valid), v


def time_sides(scores: torch.Tensor, after_ref: torch.Tensor, time: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The two sides of s_Ot(x, y, m_t) = u_y − v_t (appendix C) for every memory (B, N): u as the
    challenger (older than the incumbent it meets), v as the incumbent."""
    return scores + time[:, 0:1] * after_ref + time[:, 2:3], scores - time[:, 1:2] * after_ref


def pick(model: MemNN, scores: torch.Tensor, stop: torch.Tensor, time: torch.Tensor, memories: Memories,
         available: torch.Tensor, pick_time: torch.Tensor, hop: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One hop's choice per question (B,): Algorithm 1's winner among the available memories (argmax
    without time features), or -1 where the stop memory beats it (from the second hop on) or nothing
    is left. Also returns the winner's position (B,) among the memories."""
    if model.config.time:
        winner, v = time_winner(scores, after_reference(memories, pick_time), time, available)
        # s_Ot(x, stop, m_t): the stop memory has no write time, so only m_t's features speak
        beats_winner = stop - v.gather(1, winner[:, None])[:, 0]
    else:
        masked = scores.masked_fill(~available, float("-inf"))
        winner = masked.argmax(1)
        beats_winner = stop - masked.gather(1, winner[:, None])[:, 0]
    stops = (beats_winner > 0) & (hop > 0)
    return torch.where(stops | ~available.any(1), -1, memories.slots.gather(1, winner[:, None])[:, 0]), winner


@dataclass
class Scored:
    """One hop of O for B questions: what `find_supports` records and the next hop builds on."""

    memories: Memories       # what the hop scored (N memories)
    scores: torch.Tensor     # (B, N) s_O
    stop: torch.Tensor       # (B,) the stop memory's s_O
    time: torch.Tensor       # (B, 3) x·T, the write-time features
    available: torch.Tensor  # (B, N) the memories the hop could pick
    chosen: torch.Tensor     # (B,) the pick's slot name; -1 where the hops end
    winner: torch.Tensor     # (B,) Algorithm 1's winner, a position among the memories


def one_hop(model: MemNN, question: torch.Tensor, q_keys: torch.Tensor, memories: Memories, rows: Rows,
            sup_ids: torch.Tensor, sup_keys: torch.Tensor, picks: torch.Tensor, pick_time: torch.Tensor,
            hop: int) -> Scored:
    """O's hop `hop` (0-based) at inference: the input [x, m_o1, ...] from the question's part
    (B, n) and the supports so far (B, h, L), s_O of every memory, and `pick`'s choice among those
    not picked yet (`picks`, (B, h) slot names, written at `pick_time`)."""
    x = model.combine("O", question, model.support_parts("O", q_keys, sup_ids, sup_keys), sup_ids, sup_keys, q_keys)
    scores, stop, time = hop_scores(model, memories, rows, x, sup_keys)
    available = pickable(model, memories, picks, sup_keys, hop)
    chosen, winner = pick(model, scores, stop, time, memories, available, pick_time, hop)
    return Scored(memories, scores, stop, time, available, chosen, winner)


def look_ahead(model: MemNN, question: torch.Tensor, q_keys: torch.Tensor, first: Memories, rows: Rows,
               scores: torch.Tensor, hop_time: torch.Tensor, available: torch.Tensor, winner: torch.Tensor,
               memories: Memories | Callable[[torch.Tensor], Memories]) -> tuple[torch.Tensor, Scored | None]:
    """The first hop's pick (B,) with a beam of `config.beam` (the search over supporting facts
    that arXiv 1502.05698 leaves open): hop 1's winner and the next best memories by s_O each get
    the second hop `pick` gives them, and the pair whose two hops score best together wins
    (hop 1's `against_winner` plus hop 2's `winner_side`: each hop as Algorithm 1 weighs it, write-time terms included; `pair_loss` trains that sum). Of that
    pair, hop 1 takes the memory hop 1 would pick between the two (`pick`, with its time features),
    so the supports come in the order training taught R; hop 2 then follows from that pick.
    `hop_time` (B, 3): hop 1's x·T. A path "the kitchen is north of the hall, the garden is east of
    the hall" needs the fact that leads on, which hop 1 alone cannot tell. Hop 1's winner's second
    hop comes first; the other `beam` − 1 follow as one batch ((beam − 1)·B questions: a loop over
    them cost a question 3 ms), and only where the winner leads on (else the beam changes nothing).
    Also returns the winner's second hop where hop 1 keeps the winner for every question, so that
    `find_supports` does not score that hop again (None otherwise)."""
    batch = len(winner)

    def second_hops(at: torch.Tensor, first_side: torch.Tensor) -> tuple[Scored | None, torch.Tensor, torch.Tensor]:
        """Hop 2 after each of the positions `at` (B, w), all at once (candidate j in rows j·B ..):
        the hops, and their picks and pair scores (B, w)."""
        width = at.shape[1]
        many = stacked([first] * width)
        second = (stacked([memories(first.slots.gather(1, at[:, j : j + 1])) for j in range(width)])
                  if callable(memories) else many)
        if not second.valid.shape[1]:   # hashing found no candidates for a second hop
            return None, torch.full(at.shape, -1), torch.full(at.shape, float("-inf"))
        then, total = second_hop(model, tiled(question, width), tiled(q_keys, width), many, second, rows,
                                 at.T.reshape(-1, 1), tiled(first_side, width))
        return then, then.chosen.view(width, batch).T, total.view(width, batch).T

    # only pairs of facts compete, and only where hop 1's own winner leads on to a second fact:
    # where O would stop after one fact ("where is Mary?"), it does so as without the beam, so
    # that pair is scored first and the others only where it leads on
    then, chosen, total = second_hops(winner[:, None], torch.zeros_like(scores))
    if not (chosen >= 0).any():
        return winner, then
    first_side = against_winner(model, scores, hop_time, first, winner, torch.empty((batch, 0), dtype=torch.long))
    total = first_side.gather(1, winner[:, None]) + total
    masked = scores.masked_fill(~available, float("-inf"))
    extra = masked.scatter(1, winner[:, None], float("-inf")).topk(min(model.config.beam - 1, scores.shape[1] - 1), dim=1)
    candidates = torch.cat([winner[:, None], extra.indices], dim=1)                               # (B, W)
    usable = torch.cat([available.gather(1, winner[:, None]), extra.values > float("-inf")], dim=1)
    if model.config.word_hashing:   # another first fact must share a word with the question too
        usable[:, 1:] &= sharing(model, first, first.keys[:, :0], extra.indices)
    if extra.indices.shape[1]:
        chosen, total = (torch.cat(pair, dim=1) for pair in zip((chosen, total), second_hops(extra.indices, first_side)[1:]))
    # the second hop's pick among hop 1's memories (itself where hop 2 stops or hop 1 lacks it)
    same = (first.slots[:, None, :] == torch.where(chosen >= 0, chosen, -2)[:, :, None]) & available[:, None, :]
    follow = torch.where(same.any(2), same.to(torch.int8).argmax(2), candidates)                  # (B, W)
    pairs = total.masked_fill(~(usable & (chosen >= 0) & (chosen[:, :1] >= 0)), float("-inf"))
    best_total, j = pairs.max(1, keepdim=True)    # the first of equal pairs, as hop 1 ranks them
    found = best_total[:, 0] > float("-inf")
    best = torch.where(found, candidates.gather(1, j)[:, 0], winner)
    partner = torch.where(found, follow.gather(1, j)[:, 0], winner)
    # hop 1 takes the pair's member hop 1 itself would pick (Algorithm 1 between the two: the time
    # features speak, so "where is Mary?" keeps the newest fact about her)
    pair = torch.zeros_like(available).scatter_(1, best[:, None], True).scatter_(1, partner[:, None], True)
    _, first_of_pair = pick(model, scores, torch.zeros(batch), hop_time, first, pair & available,
                            torch.empty((batch, 0), dtype=torch.long), 0)
    return first_of_pair, then if torch.equal(first_of_pair, winner) else None


def sharing(model: MemNN, memories: Memories, sup_keys: torch.Tensor, at: torch.Tensor | None = None) -> torch.Tensor:
    """(B, N), or (B, W) for the positions `at` (B, W): whether each memory holds a word of the input
    [x, m_o1, ...], the question and the supports so far (`sup_keys`, (B, h, L)), stop words aside;
    a word unseen in training counts (a name, a place). §3.3's word hashing, one bucket per word."""
    words = memories.in_question | occurs(memories, sup_keys.flatten(1)) if sup_keys.shape[1] else memories.in_question
    words = words & torch.from_numpy(model.content_word[memories.term_ids.numpy()])
    terms = memories.terms if at is None else memories.terms.gather(1, at[:, :, None].expand(-1, -1, memories.terms.shape[2]))
    return words.gather(1, terms.flatten(1)).view_as(terms).any(-1)


def stacked(parts: list[Memories]) -> Memories:
    """The memories of W batches of B questions as one batch of W·B questions (part j in rows
    j·B .. (j+1)·B), each part padded to the most memories among them (padding is invalid: PAD
    words, time −1, slot −1). The parts must share one numbering of their words (`term_index`:
    one batch's, or one `SlotVectors`'), or a ValueError is raised. One part repeated keeps its
    embeddings `base` (B, N, n) as they are, which `hop_scores` reads for each of the W parts, and
    is expanded, not copied, where its questions are one (B = 1: serving)."""
    head = parts[0]
    if any(part.term_index is not head.term_index for part in parts):
        raise ValueError("memories to stack must share their word numbering (term_index)")
    tensors = [f.name for f in fields(head) if isinstance(getattr(head, f.name), torch.Tensor)]
    if all(part is head for part in parts):
        return replace(head, **{name: tiled(getattr(head, name), len(parts)) for name in tensors if name != "base"})
    size = max(part.valid.shape[1] for part in parts)
    fill = {"ids": PAD, "keys": 0, "time": -1, "valid": False, "base": 0.0, "slots": -1, "terms": 0}

    def padded(value: torch.Tensor, with_: float | int | bool) -> torch.Tensor:
        out = value.new_full((value.shape[0], size, *value.shape[2:]), with_)
        out[:, : value.shape[1]] = value
        return out

    return replace(head, **{name: torch.cat([padded(getattr(part, name), fill[name]) if name in fill else getattr(part, name)
                                             for part in parts]) for name in tensors})


def tiled(value: torch.Tensor, times: int) -> torch.Tensor:
    """`value` (B, ...) repeated `times` times along its first axis (B·times, ...), a view without
    copying where B = 1 (serving: one question), for reading only."""
    return value.expand(times, *value.shape[1:]) if value.shape[0] == 1 else value.repeat(times, *[1] * (value.dim() - 1))


def second_hop(model: MemNN, question: torch.Tensor, q_keys: torch.Tensor, first: Memories, second: Memories,
               rows: Rows, at: torch.Tensor, first_side: torch.Tensor) -> tuple[Scored, torch.Tensor]:
    """Hop 2 after hop 1 picked the memory at position `at` (B, 1) of `first`, over the memories
    `second`: the hop (its pick: a slot name, -1 where the stop memory wins), and the pair's score as
    the beam weighs it, hop 1's side `first_side` (B, N) at `at` plus hop 2's `winner_side` (the
    stop memory's score where it stops). Used by `look_ahead` at inference and `pair_loss` in training."""
    sup_ids, sup_keys = gather_rows(first.ids, at), gather_rows(first.keys, at)
    at_time = first.time.gather(1, at)
    then = one_hop(model, question, q_keys, second, rows, sup_ids, sup_keys, first.slots.gather(1, at), at_time, 1)
    hop_2 = torch.where(then.chosen >= 0, winner_side(model, then.scores, then.time, second, at_time, then.winner), then.stop)
    return then, first_side.gather(1, at)[:, 0] + hop_2


def against_winner(model: MemNN, scores: torch.Tensor, time: torch.Tensor, memories: Memories,
                   winner: torch.Tensor, pick_time: torch.Tensor) -> torch.Tensor:
    """Hop 1's score of every memory (B, N) as Algorithm 1 weighs it against the hop's winner
    (B,): s_O(winner) + s_Ot(x, m, winner) where m is older than the winner (it challenged it and
    lost), s_O(winner) − s_Ot(x, winner, m) where newer (the winner took over from it); the winner
    keeps its s_O. Without time features, s_O itself. In s_O's units, so that `look_ahead` adds it
    to hop 2's `winner_side`: the raw s_O alone would let an old fact about the object outscore
    its newest one (task 2's "where is the football?")."""
    if not model.config.time:
        return scores
    u, v = time_sides(scores, after_reference(memories, pick_time), time)
    u_w, v_w = u.gather(1, winner[:, None]), v.gather(1, winner[:, None])
    position = torch.arange(scores.shape[1])[None, :]
    older = u - v_w                       # the memory challenges the winner
    newer = -(u_w - v)                    # the winner challenged the memory
    s_w = scores.gather(1, winner[:, None])
    return s_w + torch.where(position > winner[:, None], older, torch.where(position < winner[:, None], newer, 0.0))


def winner_side(model: MemNN, scores: torch.Tensor, time: torch.Tensor, memories: Memories, pick_time: torch.Tensor,
                winner: torch.Tensor) -> torch.Tensor:
    """A later hop's winner (B,) scored as Algorithm 1's incumbent (B,): s_O − x·T2 where it is newer
    than the previous pick, the side the stop memory and every challenger must beat (s_O without
    time features)."""
    if model.config.time:
        scores = time_sides(scores, after_reference(memories, pick_time), time)[1]
    return scores.gather(1, winner[:, None])[:, 0]


@torch.no_grad()
def find_supports(model: MemNN, q_ids: torch.Tensor, q_keys: torch.Tensor,
                  memories: Memories | Callable[[torch.Tensor], Memories], hops: int | None = None) -> list[list[Hop]]:
    """O at inference: up to `hops` hops for each of B questions (q_ids, q_keys: (B, Lq)).

    `memories` is what O scores: a batch's memories, or a function giving a hop's candidates from the
    picks so far ((B, h) slot names; hashing, §3.3). Returns each question's hops; a question ends
    at the first stop.
    """
    rows = Rows.of(model)
    question = model.question_part("O", q_ids)
    batch = q_ids.shape[0]
    picks = torch.empty((batch, 0), dtype=torch.long)
    pick_time = torch.empty((batch, 0), dtype=torch.long)
    sup_ids = sup_keys = None
    done, every = np.zeros(batch, dtype=bool), np.arange(batch)
    result: list[list[Hop]] = [[] for _ in range(batch)]
    ahead: Scored | None = None   # hop 2 as the beam already scored it
    for hop in range(hops or model.config.hops):
        if ahead is not None:
            scored, ahead = ahead, None
        else:
            hop_memories = memories(picks) if callable(memories) else memories
            if not hop_memories.valid.shape[1]:
                break   # no candidates (hashing found none)
            if sup_ids is None:
                sup_ids = sup_keys = hop_memories.ids[:, :0]
            scored = one_hop(model, question, q_keys, hop_memories, rows, sup_ids, sup_keys, picks, pick_time, hop)
        hop_memories, scores, stop, chosen, winner = scored.memories, scored.scores, scored.stop, scored.chosen, scored.winner
        # the records and the next hop's inputs in numpy and Python numbers: a torch call costs
        # several times a numpy one on these few numbers, and more than O's scoring per question
        slots, chosen = hop_memories.slots.numpy(), chosen.numpy()
        if hop == 0 and model.config.beam > 1 and (hops or model.config.hops) > 1:
            winner, ahead = look_ahead(model, question, q_keys, hop_memories, rows, scores, scored.time,
                                       scored.available, winner, memories)
            chosen = np.where(chosen >= 0, slots[every, winner.numpy()], -1)
        chosen, winner = np.where(done, -1, chosen), winner.numpy()
        valid, row_scores = hop_memories.valid.numpy(), scores.numpy()
        for b, (gone, slot, at, stop_score) in enumerate(zip(done.tolist(), chosen.tolist(), winner.tolist(), stop.tolist())):
            if not gone and valid[b].any():
                result[b].append(Hop(hop + 1, slot if slot >= 0 else None,
                                     float(row_scores[b, at]) if slot >= 0 else stop_score,
                                     slots[b][valid[b]], row_scores[b][valid[b]], stop_score if hop > 0 else None))
        done = done | (chosen < 0)
        if done.all():
            break
        at = np.where(done, -1, winner)   # the pick's position; -1 where the hops ended
        picks = torch.cat([picks, torch.from_numpy(chosen)[:, None]], dim=1)
        pick_time = torch.cat([pick_time, torch.from_numpy(np.where(done, -1, hop_memories.time.numpy()[every, winner]))[:, None]], dim=1)
        sup_ids = torch.cat([sup_ids, gather_rows(hop_memories.ids, torch.from_numpy(at)[:, None])], 1)
        sup_keys = torch.cat([sup_keys, gather_rows(hop_memories.keys, torch.from_numpy(at)[:, None])], 1)
    return result


def hop_loss(model: MemNN, batch: Batch, mem_ids: torch.Tensor, q_ids: torch.Tensor,
             generator: torch.Generator) -> torch.Tensor:
    """Eq. 6-7 (or appendix C's pairwise time hinges) for every hop, teacher-forced on the labels.
    Returns the summed hinge loss (a scalar).

    The hops' scores come from one `hop_scores` call, as at inference, and their hinges are taken
    at once, hops stacked before questions (H·B rows), so that a batch costs a few large operations
    rather than a few per hop (the negatives are drawn as hop after hop would draw them)."""
    cfg = model.config
    memories = batch_memories(model, batch, mem_ids)
    rows = Rows.of(model)
    question = model.question_part("O", q_ids)
    labelled_time = torch.where(batch.supports >= 0, batch.mem_time.gather(1, batch.supports.clamp(min=0)), -1)
    # the labelled facts, then one hop that teaches the stop memory (later hops would repeat it);
    # hop h trains the questions whose earlier hops had real facts (hop 1: those with a label)
    k = batch.supports.shape[1]
    targets = torch.cat([batch.supports, torch.full((batch.size, 1), -1)], dim=1).T     # (K+1, B)
    still = torch.cat([torch.ones((1, batch.size), dtype=torch.bool), (targets[:-1] >= 0).cumprod(0).bool()])
    active = still.clone()
    active[0] &= targets[0] >= 0
    hops = min(cfg.hops, k + 1)
    ended = (~active[:hops].any(1)).nonzero()
    hops = int(ended[0]) if len(ended) else hops
    if not hops:
        return torch.zeros(())
    # teacher forcing: hop h's input is the question and the first h labelled facts, all hops at once
    # from facts embedded once; only those the hops read (a count over many lines labels more facts
    # than there are hops, or hop maps)
    facts = batch.supports[:, : hops - 1]
    fact_ids, fact_keys = gather_rows(mem_ids, facts), gather_rows(batch.mem_keys, facts)
    parts = model.support_parts("O", batch.q_keys, fact_ids, fact_keys)
    x = model.combine("O", question, parts, fact_ids, fact_keys, batch.q_keys, prefixes=hops).flatten(0, 1)
    # the facts a hop's input lacks have padding keys, which match nothing
    shown = torch.arange(hops - 1)[None, :, None] < torch.arange(hops)[:, None, None]     # (H, H-1, 1)
    scores, stop, time = hop_scores(model, memories, rows, x, torch.where(shown[:, None], fact_keys[None], 0).flatten(0, 1))
    b = batch.size
    pairs = torch.zeros(())
    if cfg.pair_margin and hops > 1:
        pairs = pair_loss(model, batch, memories, rows, question, scores[:b], time[:b], scores[b : 2 * b],
                          time[b : 2 * b], labelled_time[:, :1])
    n = batch.mem_valid.shape[1]
    # candidates: the memories plus the stop memory (from hop 2 on), at column N
    all_scores = torch.cat([scores, stop[:, None]], dim=1)                                 # (H·B, N+1)
    target, active = targets[:hops].reshape(-1), active[:hops].reshape(-1)
    hop_of_row = torch.arange(hops).repeat_interleave(batch.size)                            # (H·B,)
    # O never re-picks a fact at inference; by default an earlier hop's fact still serves as a
    # negative, which teaches the stop memory to win (the simulation's "where is X now")
    if cfg.skip_found_negatives:
        earlier = torch.arange(k)[None, :] < torch.arange(hops)[:, None]                     # (H, K)
        picks = torch.where(earlier[:, None, :], batch.supports[None], -1).reshape(hops * batch.size, k)
        pool = unpicked(replace(memories, valid=memories.valid.repeat(hops, 1),
                                slots=memories.slots.repeat(hops, 1)), picks)
    else:
        pool = batch.mem_valid.repeat(hops, 1)
    valid = torch.cat([pool, (hop_of_row > 0)[:, None]], dim=1)
    target_col = torch.where(target >= 0, target, torch.full_like(target, n))
    neg = sample_negatives(valid, target_col, cfg.negatives, generator)      # (H·B, S), -1 = none
    pos_score = all_scores.gather(1, target_col[:, None])
    neg_score = all_scores.gather(1, neg.clamp(min=0))
    if cfg.time:
        times = torch.cat([batch.mem_time, torch.full((batch.size, 1), -1)], dim=1).repeat(hops, 1)
        is_mem = torch.cat([batch.mem_valid, torch.zeros(batch.size, 1, dtype=torch.bool)], dim=1).repeat(hops, 1)
        references = torch.cat([torch.full((batch.size, 1), -1), labelled_time], dim=1)[:, :hops].T.reshape(-1, 1)
        after_ref = torch.cat([after_reference(replace(memories, time=memories.time.repeat(hops, 1),
                                                       valid=memories.valid.repeat(hops, 1)), references),
                               is_mem[:, -1:]], dim=1)
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
    return (hinge * ((neg >= 0) & active[:, None])).sum() + pairs


def pair_loss(model: MemNN, batch: Batch, memories: Memories, rows: Rows, question: torch.Tensor,
              first: torch.Tensor, first_time: torch.Tensor, second: torch.Tensor, second_time: torch.Tensor,
              first_time_of_label: torch.Tensor) -> torch.Tensor:
    """The hinges that teach `look_ahead`'s pair score (a scalar): for each question with two
    labelled facts, the labelled pair must outscore by the margin γ each pair the beam would weigh
    instead, hop 1's `beam` − 1 best other memories (labelled ones aside) each with the second hop
    Algorithm 1 gives it (or the stop memory). Pair scores as at inference: hop 1's `against_winner`
    (the labelled fact as the winner) plus hop 2's `winner_side`. Teacher-forced hops only ever see
    the right first fact, so without these hinges hop 2's scores after a wrong one are untrained
    and a pair can win on them (task 2: an older "John got the football" followed by his newest
    move). The margin is on the scale of two hops' scores summed (tens), not γ: with γ (0.1) the
    pairs ranked right in training but an unusual wording at test still let an older pair win
    (bAbI 11 and 13: 99.9% greedy, 99.1% with the beam; margin 3: 100%). `first`, `second` (B, N): s_O at hops 1 and 2 (teacher-forced), with their x·T (B, 3);
    `first_time_of_label` (B, 1): the labelled first fact's write time."""
    cfg, supports = model.config, batch.supports
    has_pair = (supports[:, :2] >= 0).all(1) if supports.shape[1] > 1 else torch.zeros(batch.size, dtype=torch.bool)
    if not has_pair.any():
        return torch.zeros(())
    label_1, label_2 = supports[:, 0].clamp(min=0), supports[:, 1].clamp(min=0)
    positive = first.gather(1, label_1[:, None])[:, 0] + winner_side(model, second, second_time, memories,
                                                                    first_time_of_label, label_2)
    others = unpicked(memories, supports)
    on_first = against_winner(model, first, first_time, memories, label_1, torch.empty((batch.size, 0), dtype=torch.long))
    candidates = first.detach().masked_fill(~others, float("-inf")).topk(min(cfg.beam - 1, first.shape[1]), dim=1)
    # every candidate's second hop at once: the batch repeated, candidate j in rows j·B .. (j+1)·B
    k = candidates.indices.shape[1]
    at = candidates.indices.T.reshape(-1, 1)                                                    # (k·B, 1)
    many = stacked([memories] * k)
    _, negative = second_hop(model, tiled(question, k), tiled(batch.q_keys, k), many, many, rows, at, tiled(on_first, k))
    usable = has_pair.repeat(k) & (candidates.values.T.reshape(-1) > float("-inf"))
    return (torch.relu(cfg.pair_margin - positive.repeat(k) + negative) * usable).sum()


class SlotVectors(Synced):
    """A stored memory as O reads it (paper footnote 2): each slot's word ids, key numbers and
    U_O·Φy row, computed when the slot is written and redone only where a slot changed."""

    def __init__(self, model: MemNN, memory: Memory):
        super().__init__(memory)
        self.model = model
        self.ids = np.zeros((0, 1), dtype=np.int64)
        self.terms = np.zeros((0, 1), dtype=np.int64)
        self.term_index: dict[int, int] = {0: 0}
        self.term_ids = np.zeros(1, dtype=np.int64)   # the id of each numbered word (PAD for number 0)
        self.base = np.zeros((0, model.config.dim), dtype=np.float32)
        self._all: Memories | None = None   # every live slot, newest first, for this version

    def refresh(self) -> None:
        changed = self.changed()
        if not len(changed) and len(self.seen) == self.memory.size:
            return
        size, width = self.memory.size, self.memory.keys.shape[1]
        if self.ids.shape != (size, width):
            rows, cols = min(size, len(self.ids)), min(width, self.ids.shape[1])
            ids, terms = np.zeros((size, width), dtype=np.int64), np.zeros((size, width), dtype=np.int64)
            ids[:rows, :cols], terms[:rows, :cols] = self.ids[:rows, :cols], self.terms[:rows, :cols]
            base = np.zeros((size, self.base.shape[1]), dtype=np.float32)
            base[:rows] = self.base[:rows]
            self.ids, self.terms, self.base = ids, terms, base
        keys = self.memory.keys[changed]
        self.ids[changed] = self.model.vocab.ids_of_keys(keys)
        number, known = self.term_index.setdefault, len(self.term_index)
        numbers = np.array([number(k, len(self.term_index)) for k in keys.ravel().tolist()], dtype=np.int64)
        self.terms[changed] = numbers.reshape(keys.shape)
        _, first = np.unique(numbers[numbers >= known], return_index=True)   # each new number's first key, in order
        self.term_ids = np.concatenate([self.term_ids, self.model.vocab.ids_of_keys(keys.ravel()[numbers >= known][first])])
        with torch.no_grad():
            for start in range(0, len(changed), CHUNK):
                part = changed[start : start + CHUNK]
                self.base[part] = embed_memories(self.model, torch.from_numpy(self.ids[part])).numpy()
        self._all = None
        self.mark_seen()

    def memories(self, q_keys: torch.Tensor, slots: np.ndarray | None = None) -> Memories:
        """The slots (all live ones when None) as `Memories` for one question (q_keys: (Lq,)), newest first."""
        self.refresh()
        if slots is None and self._all is not None:
            gathered = self._all
        else:
            order = self.memory.newest(among=slots)
            gathered = Memories(*(torch.from_numpy(a[order])[None] for a in (self.ids, self.memory.keys, self.memory.time)),
                                torch.ones((1, len(order)), dtype=torch.bool), torch.from_numpy(self.base[order])[None],
                                torch.from_numpy(order)[None], torch.from_numpy(self.terms[order])[None], self.term_index,
                                torch.from_numpy(self.term_ids)[None], torch.zeros((1, 0), dtype=torch.bool))
            if slots is None:
                self._all = gathered
        return replace(gathered, in_question=occurs(gathered, q_keys[None]))


@dataclass
class SlotWhy:
    """Why O scored one memory as it did at one hop, and what Algorithm 1 made of it (paper §3.1,
    §3.4, §3.6). Scores are in s_O's units; slots are slot names as in `Memories.slots`."""

    hop: int                    # 1-based
    slot: int
    embedding: float            # x·U_O Φy(m): the bag-of-words part of s_O
    match: float                # the §3.6 exact-match part (0 without match features)
    score: float                # s_O = embedding + match
    rank: int                   # 1-based among the memories this hop may pick, by s_O (0: not pickable)
    pickable: bool              # False: picked at an earlier hop, or left out by word hashing (`hashed_out`)
    met: int | None = None      # Algorithm 1: the winner so far it challenged (None: it came first, or no time features)
    challenger_terms: float = 0.0   # its write-time terms as the challenger: x·T1·[newer than the reference] + x·T3 (older)
    incumbent_side: float = 0.0     # the winner it met: s_O(met) − x·T2·[met newer than the reference]
    challenge: float = 0.0      # s_Ot(x, slot, met) = score + challenger_terms − incumbent_side; > 0: it took over
    took_over: bool = False     # it became the winner so far (or came first)
    beaten_by: int | None = None    # the first older memory that took over from it (None: it stayed the winner)
    winner: int | None = None   # the hop's winner among the memories
    stop: float | None = None   # from hop 2: the stop memory's s_Ot against the winner (> 0: the hops ended)
    picked: bool = False        # this memory is the hop's pick
    look_ahead: bool = False    # hop 1's beam (`look_ahead`, `ModelConfig.beam`) picked otherwise than Algorithm 1 alone
    hashed_out: bool = False    # word hashing (`ModelConfig.word_hashing`): it holds no word of the hop's input


@torch.no_grad()
def explain(model: MemNN, q_ids: torch.Tensor, q_keys: torch.Tensor, memories: Memories, earlier: list[int] | tuple[int, ...],
            slot: int) -> SlotWhy:
    """s_O's parts for memory `slot` at the hop after the picks `earlier` (slot names, in hop order),
    for one question (q_ids, q_keys: (1, Lq)) over `memories` (batch of one, newest first). Scores
    come from `hop_scores` / `match_scores` and the winner from `pick`, as `find_supports` computes
    them. Raises KeyError when `slot` or an earlier pick is not among the memories."""
    names = memories.slots[0].tolist()
    position = {name: p for p, name in enumerate(names)}
    at = torch.tensor([[position[s] for s in earlier]], dtype=torch.long).view(1, len(earlier))
    p = position[slot]
    sup_ids, sup_keys = gather_rows(memories.ids, at), gather_rows(memories.keys, at)
    rows = Rows.of(model)
    x = model.combine("O", model.question_part("O", q_ids), model.support_parts("O", q_keys, sup_ids, sup_keys),
                      sup_ids, sup_keys, q_keys)
    scores, stop, time = hop_scores(model, memories, rows, x, sup_keys)
    match = match_scores(model, x, memories, rows, sup_keys.flatten(1))[0, p] if model.config.match else torch.zeros(())
    picks = torch.tensor([list(earlier)], dtype=torch.long).view(1, len(earlier))
    pick_time = memories.time.gather(1, at)
    available = pickable(model, memories, picks, sup_keys, len(earlier))
    chosen, winner = pick(model, scores, stop, time, memories, available, pick_time, len(earlier))
    row, can_pick = scores[0], bool(available[0, p])
    hashed_out = not can_pick and slot not in earlier
    why = SlotWhy(len(earlier) + 1, slot, float(row[p] - match), float(match), float(row[p]),
                  int((row[available[0]] > row[p]).sum()) + 1 if can_pick else 0, can_pick,
                  winner=names[int(winner[0])] if available.any() else None, picked=int(chosen[0]) == slot, hashed_out=hashed_out)
    if model.config.time:
        after = after_reference(memories, pick_time)[0]
        u, v = (side[0] for side in time_sides(scores, after[None], time))
        why.challenger_terms = float(u[p] - row[p])
        if len(earlier):
            why.stop = float(stop[0] - v[winner[0]])
        if can_pick:
            before = available[0].clone()
            before[p:] = False
            if before.any():   # the winner among the newer memories, which this one challenges
                met = int(fast_winner(u[None], v[None], before[None])[0])
                why.met, why.incumbent_side = names[met], float(v[met])
                why.challenge = float(u[p] - v[met])
                why.took_over = why.challenge > 0
            else:
                why.took_over = True
            if why.took_over:
                later = (u[p + 1:] > v[p]) & available[0, p + 1:]
                if later.any():
                    why.beaten_by = names[p + 1 + int(later.to(torch.int8).argmax())]
    else:
        if len(earlier):
            why.stop = float(stop[0] - row[winner[0]])
        why.took_over = why.winner == slot
        why.beaten_by = None if why.took_over or not can_pick else why.winner
    return why
