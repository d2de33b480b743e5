"""R, the response (paper §3.1 eq. 3 and 8): ranks candidate answers given the question and the
supporting memories O found,

    r = argmax_w s_R([x, m_o1, ..., m_ok], w),   s_R(x, y) = Φx(x)ᵀ U_Rᵀ U_R Φy(y)

over the dictionary W, the multi-word answers seen in training, and every word of the supports
that the dictionary lacks (a name or place never seen in training, §3.5: it is scored through
its context rows). Written once for training (`answer_loss`), batched evaluation and serving
(`rank`). `memnet.sentence_decoder` is the appendix-F R that phrases a sentence instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from memnet import output
from memnet.batch import Batch, gather_rows, sample_negatives
from memnet.features import PAD, UNK, key_in, token_key
from memnet.records import NOTHING, UNKNOWN

if TYPE_CHECKING:
    from memnet.model import MemNN


def answer_scores(model: MemNN, q_ids: torch.Tensor, q_keys: torch.Tensor, sup_ids: torch.Tensor,
                  sup_keys: torch.Tensor, word_dropped: torch.Tensor | None = None):
    """s_R of every candidate for B questions (q_ids, q_keys: (B, Lq)) with supports (B, K, L) in hop
    order (zero rows: none). Candidates are the dictionary words, the multi-word answers, then one
    column per support-token position (a word unseen in training, first occurrence only). With
    `set_answers`, SET follows the multi-word answers, and every occurrence of a candidate in a support
    also scores that support's words (YV rows: "took" speaks for it, "dropped" against it).

    Returns scores (B, C), a validity mask (B, C), the keys of the support tokens (B, K·L), and
    (`set_answers`) s_R of the END row (B,), which the answer's items outscore; else None.
    """
    lay, vocab = model.layout, model.vocab
    batch = q_ids.shape[0]
    x = model.input_vector("R", q_ids, q_keys, sup_ids, sup_keys)                       # (B, n)
    n_words, n_phrases = len(vocab), model.answer_phrases
    flat_ids, flat_keys = sup_ids.flatten(1), sup_keys.flatten(1)                       # (B, P)
    n_local = flat_ids.shape[1]
    known = x @ model.table("R", "Y", "A").T                                            # words, then phrases
    local_base = known[:, UNK : UNK + 1].expand(-1, n_local)   # a local word starts as <unk>
    scores = torch.cat([known, local_base], dim=1)
    # each occurrence in a support adds its context rows and the "in a support" row
    ids, keys = flat_ids.numpy(), flat_keys.numpy()
    first = (keys[:, :, None] == keys[:, None, :]).argmax(2)                            # first same-key position
    column = torch.from_numpy(np.where(ids > UNK, ids, n_words + n_phrases + first))
    left, right = lay.context(sup_ids, lay.YL, lay.YR, sup_ids > PAD).split(sup_ids.shape[-1], dim=-1)
    rows = [lay.words(sup_ids, lay.YS), left, right, lay.hop_rows(sup_ids)]
    if model.config.answer_match:
        rows.append(question_side(model, q_keys, sup_ids, sup_keys))
    occurrence_rows = torch.stack(rows, dim=-1).reshape(batch, -1, len(rows))
    occurrence = (x[:, None, :] @ model.bag("R", occurrence_rows).mT)[:, 0]
    if model.config.set_answers:
        per_support = (model.bag("R", lay.words(sup_ids, lay.YV)) @ x[:, :, None])[..., 0]    # (B, K)
        occurrence = occurrence + per_support.repeat_interleave(sup_ids.shape[-1], dim=1)
    occurrence = occurrence * (flat_ids > PAD)
    scores.scatter_add_(1, column, occurrence)
    if model.config.match:   # candidate words that occur in the question (§3.6)
        q_known = q_ids > UNK
        q_rows = lay.words(q_ids, lay.YM, q_known)
        scores.scatter_add_(1, q_ids, (x[:, None, :] @ model.U_R(q_rows).mT)[:, 0] * q_known)
        local_in_q = torch.from_numpy(key_in(keys, q_keys.numpy()) & (ids == UNK))
        scores[:, n_words + n_phrases:] += local_in_q * (x @ model.table("R", "YM")[UNK])[:, None]
    valid = np.ones(scores.shape, dtype=bool)
    valid[:, :2] = False
    if word_dropped is not None:
        valid[:, :n_words] &= ~word_dropped.numpy()
    valid[:, n_words + n_phrases:] = (ids == UNK) & (first == np.arange(n_local))
    end = x @ model.table("R", "END")[0] if model.config.set_answers else None
    return scores, torch.from_numpy(valid), flat_keys, end


def question_side(model: MemNN, q_keys: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor) -> torch.Tensor:
    """YQ rows (B, K, L): for each word of support h that is not itself a question word, whether it
    stands after (row 2h) or before (2h + 1) the support's first question word (stop words aside);
    null where the support holds no question word. "Where is X?" over "X is in the garage": the
    place follows X, whatever the two words are."""
    in_question = model.question_words(sup_ids, sup_keys, q_keys)
    first = in_question.argmax(-1)[..., None]                                          # (B, K, 1)
    before = np.arange(sup_ids.shape[-1]) < first
    hop = np.arange(sup_ids.shape[1])[None, :, None]
    use = in_question.any(-1, keepdims=True) & ~in_question & (sup_ids.numpy() > PAD)
    return torch.where(torch.from_numpy(use), model.layout.row("YQ", torch.from_numpy(2 * hop + before)), model.layout.null)


def answer_columns(model: MemNN, answers: Sequence[str], flat_keys: torch.Tensor,
                   word_dropped: torch.Tensor | None, sets: Sequence[bool] = ()) -> torch.Tensor:
    """The candidate column of each answer (B,), -1 where R cannot express it; SET's for an answer
    that is a set of items (`sets[b]`, with `set_answers`)."""
    n_words, n_phrases = len(model.vocab), model.answer_phrases
    columns = []
    for b, answer in enumerate(answers):
        column = model.set_column if model.config.set_answers and sets and sets[b] else model.vocab.answer_column(answer)
        if column is not None and column < n_words and word_dropped is not None and word_dropped[b, column]:
            column = None  # the answer is "unseen" in this example: find it in the supports
        if column is None:
            hits = (flat_keys[b] == token_key(answer)).nonzero()
            column = n_words + n_phrases + int(hits[0]) if len(hits) else -1
        columns.append(column)
    return torch.tensor(columns)


def o_picks(model: MemNN, batch: Batch, mem_ids: torch.Tensor, q_ids: torch.Tensor, rows: torch.Tensor,
            width: int) -> torch.Tensor:
    """O's picks (len(rows), width) for the questions `rows` of a batch, newest-first positions, -1 after
    a stop (no gradient: O learns from its own loss)."""
    part = Batch(*(t[rows] for t in (batch.mem_ids, batch.mem_keys, batch.mem_time, batch.mem_valid, batch.q_ids,
                                     batch.q_keys, batch.supports)), [batch.answers[r] for r in rows.tolist()],
                 [batch.answer_sets[r] for r in rows.tolist()])
    found = output.find_supports(model, q_ids[rows], part.q_keys, output.batch_memories(model, part, mem_ids[rows]))
    picks = torch.full((len(rows), width), -1, dtype=torch.long)
    for b, hops in enumerate(found):
        slots = [hop.slot for hop in hops if hop.slot is not None][:width]
        picks[b, : len(slots)] = torch.tensor(slots, dtype=torch.long)
    return picks


def answer_loss(model: MemNN, batch: Batch, mem_ids: torch.Tensor, q_ids: torch.Tensor,
                word_dropped: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """Eq. 8: the right answer above sampled wrong candidates, given the labelled supports (a scalar).
    With `unlabelled_picks`, a question without labelled supports ("Where is Mary?" when nobody said)
    is answered from what O picks for it, as at inference, so R learns what such picks look like."""
    picks = batch.supports[:, : model.config.hops]
    unlabelled = (picks[:, 0] < 0).nonzero()[:, 0]
    if model.config.unlabelled_picks and len(unlabelled):
        picks = picks.clone()
        picks[unlabelled] = o_picks(model, batch, mem_ids, q_ids, unlabelled, picks.shape[1])
    sup_ids, sup_keys = gather_rows(mem_ids, picks), gather_rows(batch.mem_keys, picks)
    scores, valid, flat_keys, end = answer_scores(model, q_ids, batch.q_keys, sup_ids, sup_keys, word_dropped)
    target = answer_columns(model, batch.answers, flat_keys, word_dropped, batch.answer_sets)
    known = target >= 0
    target = target.clamp(min=0)
    neg = sample_negatives(valid, target, model.config.negatives, generator)
    hinge = torch.relu(model.config.margin - scores.gather(1, target[:, None]) + scores.gather(1, neg.clamp(min=0)))
    loss = (hinge * ((neg >= 0) & known[:, None])).sum()
    if end is not None and any(batch.answer_sets):
        rows = torch.tensor([b for b, is_set in enumerate(batch.answer_sets) if is_set])
        loss = loss + item_loss(model, scores[rows], valid[rows], end[rows], [batch.answers[b] for b in rows.tolist()],
                                flat_keys[rows], None if word_dropped is None else word_dropped[rows], generator)
    return loss


def item_loss(model: MemNN, scores: torch.Tensor, valid: torch.Tensor, end: torch.Tensor, answers: Sequence[str],
              flat_keys: torch.Tensor, word_dropped: torch.Tensor | None, generator: torch.Generator) -> torch.Tensor:
    """`set_answers`, for answers that are sets of items (B questions: s_R (B, C), END's (B,)): each
    item above every sampled other candidate and above END, and END above them (eq. 8's hinge, three
    ways), so that the items are what outscores END. A scalar."""
    items = [answer.split(",") for answer in answers]
    columns = torch.full((len(items), max(map(len, items))), -1, dtype=torch.long)
    for b, words in enumerate(items):
        dropped = None if word_dropped is None else word_dropped[b : b + 1].expand(len(words), -1)
        columns[b, : len(words)] = answer_columns(model, words, flat_keys[b : b + 1].expand(len(words), -1), dropped)
    known = columns >= 0
    allowed = valid.clone()
    allowed.scatter_(1, columns.clamp(min=0), False)
    allowed[:, model.set_column] = False   # SET is no item
    neg = sample_negatives(allowed, columns[:, 0].clamp(min=0), model.config.negatives, generator)
    item, other, margin = scores.gather(1, columns.clamp(min=0)), scores.gather(1, neg.clamp(min=0)), model.config.margin
    sampled = neg >= 0
    return ((torch.relu(margin - item[:, :, None] + other[:, None, :]) * (known[:, :, None] & sampled[:, None, :])).sum()
            + (torch.relu(margin - item + end[:, None]) * known).sum()
            + (torch.relu(margin - end[:, None] + other) * sampled).sum())


@torch.no_grad()
def rank(model: MemNN, q_ids: torch.Tensor, q_keys: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor,
         sup_tokens: Sequence[Sequence[Sequence[str]]], top: int = 5) -> list[list[tuple[str, float]]]:
    """R at inference: each question's `top` answers with their s_R, best first.

    `sup_tokens[b][k]` are the tokens of question b's support k (empty for none), needed only to
    name answer words that are not in the dictionary.
    """
    return [[(name, score) for _, name, score in ranking]
            for ranking in ranked(model, q_ids, q_keys, sup_ids, sup_keys, sup_tokens, top)]


def ranked(model: MemNN, q_ids: torch.Tensor, q_keys: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor,
           sup_tokens: Sequence[Sequence[Sequence[str]]], top: int) -> list[list[tuple[int, str, float]]]:
    """`rank` with each answer's candidate column. SET (`set_answers`) is named by its items: the
    candidates above END, best first, at least the best one. Each name comes once: a SET named like a
    word ("apple") keeps the better-ranked of the two."""
    scores, valid, _, end = answer_scores(model, q_ids, q_keys, sup_ids, sup_keys)
    scores = scores.masked_fill(~valid, float("-inf"))
    n_words, n_phrases, width = len(model.vocab), model.answer_phrases, sup_ids.shape[2]
    rankings = []
    for b in range(scores.shape[0]):
        if not valid[b].any():
            rankings.append([])
            continue
        local = [t for tokens in sup_tokens[b] for t in (*tokens, *[""] * (width - len(tokens)))]

        def name_of(c: int) -> str:
            if c < n_words:
                return model.vocab.words[c]
            if c < n_words + len(model.vocab.phrases):
                return model.vocab.phrases[c - n_words]
            if c == model.set_column:   # SET: the items above END, best first; at least the best item
                item = scores[b].clone()
                item[n_words : n_words + n_phrases] = float("-inf")
                above = (item > end[b]).nonzero()[:, 0]
                chosen = above[item[above].argsort(descending=True)] if len(above) else item.argmax()[None]
                return set_answer([name_of(i) for i in chosen.tolist()])
            return local[c - n_words - n_phrases]

        # one more than asked: SET may be named like a word below it ("kitchen", "unknown"), which then goes
        values, columns = scores[b].topk(min(top + 1, int(valid[b].sum())))
        ranking, named = [], set()
        for c, v in zip(columns.tolist(), values.tolist()):
            if (name := name_of(c)) not in named:
                named.add(name)
                ranking.append((c, name, v))
        rankings.append(ranking[:top])
    return rankings


def set_answer(items: Sequence[str]) -> str:
    """SET's answer from its items (candidates above END, best first): the items that outscore
    `UNKNOWN` and `NOTHING`, comma-joined; the better of those two itself where it is the best.
    Neither is a thing held (R's abstention; the empty set), so "unknown,garden" (R's items for
    "Where is June?" over a memory without June) abstains, "nothing,apple" is "nothing", and a real
    list that one of them trails ("apple,milk,unknown", "football,apple,nothing") keeps its items."""
    items = list(items)
    end = next((i for i, item in enumerate(items) if item in (UNKNOWN, NOTHING)), len(items))
    return ",".join(items[:end] or items[end : end + 1])


@dataclass
class AnswerWhy:
    """One candidate answer's s_R in parts (paper §3.1 eq. 3, §3.5, §3.6)."""

    answer: str
    score: float      # s_R, as `rank` gives it
    word: float       # x·U_R Φy(w): the candidate's own row (a word unseen in training: the <unk> row)
    match: float      # §3.6: the candidate occurs in the question
    supports: float   # the rest: its occurrences in the supporting memories (their rows, §3.5 context, hop)


@torch.no_grad()
def explain(model: MemNN, q_ids: torch.Tensor, q_keys: torch.Tensor, sup_ids: torch.Tensor, sup_keys: torch.Tensor,
            sup_tokens: Sequence[Sequence[str]], top: int = 5) -> list[AnswerWhy]:
    """R's `top` answers for one question (q_ids, q_keys: (1, Lq); supports (1, K, L) in hop order,
    `sup_tokens` their tokens) with each score in parts. The total is `answer_scores`' own; the word
    and match parts are the rows it adds for them, and the rest comes from the supports (SET, with
    `set_answers`, is its own row alone)."""
    lay, vocab = model.layout, model.vocab
    x = model.input_vector("R", q_ids, q_keys, sup_ids, sup_keys)[0]
    (ranking,) = ranked(model, q_ids, q_keys, sup_ids, sup_keys, [sup_tokens], top)
    question = q_ids[0].tolist()
    parts = []
    for column, answer, score in ranking:
        if column >= len(vocab) + model.answer_phrases:   # a word of the supports the dictionary lacks
            word_row, match_id = lay.row("Y", UNK), UNK if token_key(answer) in q_keys[0].tolist() else None
            uses = 1
        elif column < len(vocab):
            word_row, match_id, uses = lay.row("Y", column), column, question.count(column)
        else:
            word_row, match_id, uses = lay.row("A", column - len(vocab)), None, 0
        word = float(x @ model.U_R(word_row))
        match = (float(x @ model.U_R(lay.row("YM", match_id))) * uses
                 if model.config.match and match_id is not None else 0.0)
        parts.append(AnswerWhy(answer, score, word, match, score - word - match))
    return parts
