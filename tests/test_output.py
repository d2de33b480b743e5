"""O, written once: serving over stored slot vectors picks what batched inference picks on the same memory."""
import random

import numpy as np
import pytest
import torch

from app.render import why_panel
from memnet import output
from memnet.batch import Encoded, Example, collate
from memnet.data.babi import load_tasks
from memnet.dataset import make_examples, parse_stories
from memnet.input.sentence import SimpleInput
from memnet.memory.index import Recent, WordHash
from memnet.memory.slots import Memory
from memnet.model import ModelConfig
from memnet.network import Recall
from memnet.train import train
from tests.helpers import BABI_EN


@pytest.fixture(scope="module")
def task2_ngram_model():
    """Three hops, n-gram rows and every option of the bAbI runs (plus NL): all that O reads."""
    (task2,) = load_tasks(BABI_EN, {2})
    options = {"hop_maps": True, "support_bigrams": True, "match_source": True, "nonlinear": True, "align_maps": True}
    model, _ = train(parse_stories(task2.train[:40], SimpleInput()),
                     ModelConfig(epochs=3, seed=1, hops=3, ngram_buckets=256, **options), progress=False)
    return task2, model


@pytest.mark.parametrize("which", ["task1", "task2 ngram"])
def test_serving_picks_what_a_batch_picks(which, task1, task1_model, request):
    """The stored memory's slots are the batch's positions reversed (slot 0 is the oldest)."""
    task, model = (task1, task1_model) if which == "task1" else request.getfixturevalue("task2_ngram_model")
    checked = 0
    for story in parse_stories(task.test[:15], SimpleInput()):
        for question, n, _, _ in story.questions:
            memory = Memory()
            memory.write(story.memory[:n])
            served = Recall(model, memory, "exhaustive").ask(question.tokens, touch=False)
            example = Example(Encoded.of(model.vocab, story.memory[:n]), n, Encoded.of(model.vocab, [question]))
            batched = model.predict(collate([example]), [[s.tokens for s in reversed(story.memory[:n])]])[0]
            assert [h.slot for h in served.hops] == [None if h.slot is None else n - 1 - h.slot for h in batched.hops]
            assert np.allclose([h.score for h in served.hops], [h.score for h in batched.hops], atol=1e-4)
            assert served.answer == batched.answer
            checked += 1
    assert checked >= 75


def test_slot_vectors_follow_writes_overwrites_and_undo(task1_model):
    memory = Memory(capacity=3)
    recall = Recall(task1_model, memory, "exhaustive")
    memory.write(SimpleInput()("Mary went to the garden. John went to the kitchen."))
    assert recall.ask(("where", "is", "john")).answer == "kitchen"
    memory.write(SimpleInput()("Sandra went to the office. John went to the hallway."))   # overwrites Mary's
    assert recall.ask(("where", "is", "john")).answer == "hallway"
    assert "Mary went to the garden." not in [s.text for s in memory.slots]
    memory.undo()
    assert recall.ask(("where", "is", "john")).answer == "kitchen"
    fresh = output.embed_memories(task1_model, torch.from_numpy(recall.vectors.ids[: memory.size])).detach().numpy()
    assert np.allclose(recall.vectors.base[: memory.size], fresh)


@pytest.mark.parametrize("strategy", ["exhaustive", "hashing"])
def test_slot_vectors_and_indexes_follow_a_clear(task1_model, strategy):
    """A cleared memory writes its first slots at times 0, 1, ... again: what was built for the old
    slots at those times must not be taken for the new ones (`memnet ask` clears per bAbI story)."""
    memory = Memory()
    recall = Recall(task1_model, memory, WordHash(memory) if strategy == "hashing" else strategy)
    memory.write(SimpleInput()("Mary went to the garden. Sandra went to the office."))
    assert recall.ask(("where", "is", "mary")).answer == "garden"
    memory.clear()
    memory.write(SimpleInput()("John went to the kitchen. Daniel went to the hallway."))
    assert recall.ask(("where", "is", "john")).answer == "kitchen"
    assert recall.ask(("where", "is", "daniel")).answer == "hallway"


def test_large_memories_switch_to_word_hashing_plus_the_newest_slots(task1, task1_model):
    memory = Memory()
    for story in parse_stories(task1.test[:40], SimpleInput()):
        memory.write(story.memory)
    recall = Recall(task1_model, memory, threshold=100, window=50)
    result = recall.ask(("where", "is", "mary"))
    strategy = recall._strategy(len(memory))
    assert isinstance(strategy, Recent) and isinstance(strategy.inner, WordHash)
    assert sum(len(h.slots) for h in result.hops) < 2 * len(memory) and result.answer


def test_a_hop_never_repicks_an_earlier_support(task1, task1_model):
    """A fact found at an earlier hop is no candidate for Algorithm 1, so over a one-statement memory
    the second hop has nothing left and stops, whatever the stop memory scores."""
    for story in parse_stories(task1.test[:5], SimpleInput()):
        for question, n, _, _ in story.questions:
            memory = Memory()
            memory.write(story.memory[n - 1 : n])
            served = Recall(task1_model, memory, "exhaustive").ask(question.tokens, touch=False)
            example = Example(Encoded.of(task1_model.vocab, story.memory[n - 1 : n]), 1, Encoded.of(task1_model.vocab, [question]))
            batched = task1_model.predict(collate([example]))[0]
            assert [h.slot for h in served.hops] == [h.slot for h in batched.hops] == [0, None]


def test_stacked_memories_score_and_pick_as_each_part_alone(task2_ngram_model):
    """The beam's second hops run as one batch (`stacked`): parts of different lengths are padded
    with memories that never score a pick, so each row picks what its part picks alone."""
    task, model = task2_ngram_model
    (story, *_) = parse_stories(task.test[:1], SimpleInput())
    memory = Memory()
    memory.write(story.memory)
    vectors = output.SlotVectors(model, memory)
    question = story.questions[-1][0]
    q_ids, q_keys = (torch.from_numpy(a)[None] for a in model.vocab.encode(question.tokens))
    parts = [vectors.memories(q_keys[0], np.arange(memory.size)), vectors.memories(q_keys[0], np.array([0, 2, 3]))]
    both = output.stacked(parts)
    assert both.valid.tolist()[1] == [True] * 3 + [False] * (memory.size - 3)
    rows = output.Rows.of(model)
    x = model.question_part("O", q_ids.repeat(2, 1))
    none = torch.zeros((2, 0, 1), dtype=torch.long)
    scores, stop, time = output.hop_scores(model, both, rows, x, none)
    picked, _ = output.pick(model, scores, stop, time, both, both.valid, torch.full((2, 1), -1), 0)
    for b, part in enumerate(parts):
        alone, stop_alone, time_alone = output.hop_scores(model, part, rows, x[b : b + 1], none[:1])
        assert torch.allclose(scores[b, : part.valid.shape[1]], alone[0], atol=1e-5)
        assert int(picked[b]) == int(output.pick(model, alone, stop_alone, time_alone, part, part.valid,
                                                  torch.full((1, 1), -1), 0)[0])
    with pytest.raises(ValueError, match="word numbering"):
        output.stacked([parts[0], output.SlotVectors(model, memory).memories(q_keys[0])])


def algorithm1(u, v, valid):
    """Appendix C's loop, literally (from the first valid memory)."""
    t = valid.index(True) if True in valid else 0
    for i in range(t + 1, len(u)):
        if valid[i] and u[i] > v[t]:
            t = i
    return t


def test_several_inputs_per_question_score_as_each_alone(task2_ngram_model):
    """Training's hops and the beam's candidates score W inputs per question in one `hop_scores`
    call, reading the memories' embeddings once for all W: each input scores as it does alone."""
    task, model = task2_ngram_model
    batch = collate(make_examples(parse_stories(task.test[:4], SimpleInput()), model.vocab)[:6])
    memories, rows = output.batch_memories(model, batch, batch.mem_ids), output.Rows.of(model)
    question = model.question_part("O", batch.q_ids)
    inputs = [question, question.flip(0)]                                    # W = 2 inputs per question
    supports = [torch.zeros_like(batch.mem_keys[:, :1]), batch.mem_keys[:, 2:3]]   # none; memory 2
    together = output.hop_scores(model, memories, rows, torch.cat(inputs), torch.cat(supports))
    for j, (x, sup_keys) in enumerate(zip(inputs, supports)):
        alone = output.hop_scores(model, memories, rows, x, sup_keys)
        for part, whole in zip(alone, together):
            assert torch.allclose(whole[j * batch.size : (j + 1) * batch.size], part, atol=1e-5)
    assert not torch.allclose(together[0][: batch.size], together[0][batch.size :])   # the inputs differ


def test_fast_winner_picks_what_algorithm1_picks():
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 30)
        u = torch.tensor([[rng.choice([rng.gauss(0, 1), 0.5]) for _ in range(n)]])
        v = torch.tensor([[rng.choice([rng.gauss(0, 1), 0.5]) for _ in range(n)]])
        valid = torch.tensor([[i < n - rng.randint(0, n - 1) for i in range(n)]])
        assert int(output.fast_winner(u, v, valid)[0]) == algorithm1(u[0].tolist(), v[0].tolist(), valid[0].tolist())


def test_fast_winner_walks_many_short_rows_side_by_side():
    # a training batch's rows (many, at most the walk's block long) take `_walk_rows`: each row's
    # winner is still Algorithm 1's, whichever side of the time terms it favours
    rng = torch.Generator().manual_seed(0)
    for _ in range(20):
        batch, n = 128, int(torch.randint(1, 257, (1,), generator=rng))
        scores = torch.randn(batch, n, generator=rng).round(decimals=int(torch.randint(0, 3, (1,), generator=rng)))
        newer = torch.arange(n)[None, :] < torch.randint(0, n + 1, (batch, 1), generator=rng)
        u, v = output.time_sides(scores, newer, torch.randn(batch, 3, generator=rng))
        valid = torch.rand(batch, n, generator=rng) < 0.8
        got = output.fast_winner(u, v, valid)
        assert got.tolist() == [algorithm1(u[b].tolist(), v[b].tolist(), valid[b].tolist()) for b in range(batch)]


@pytest.mark.parametrize("favoured", ["older", "newer", "either"])
def test_fast_winner_on_write_time_sides(favoured):
    # s_Ot's sides as O builds them (`time_sides`): u = s + c1·[newer than the reference] + c3,
    # v = s − c2·[newer]; with c ≥ 0 (u ≥ v) the winner comes from a suffix maximum, with c < 0
    # (u < v) from the running maxima, otherwise from the walk. Rows longer than the walk's
    # block, holes anywhere, ties.
    rng = torch.Generator().manual_seed(["older", "newer", "either"].index(favoured))
    for _ in range(200):
        batch, n = int(torch.randint(1, 4, (1,), generator=rng)), int(torch.randint(1, 700, (1,), generator=rng))
        scores = torch.randn(batch, n, generator=rng).round(decimals=int(torch.randint(0, 3, (1,), generator=rng)))
        newer = torch.arange(n)[None, :] < torch.randint(0, n + 1, (batch, 1), generator=rng)
        c = torch.randn(batch, 3, generator=rng)
        if favoured != "either":
            c = c.abs() if favoured == "older" else -c.abs() - 1e-3
        u, v = output.time_sides(scores, newer, c)
        valid = torch.rand(batch, n, generator=rng) < 0.8
        got = output.fast_winner(u, v, valid)
        for b in range(batch):
            assert int(got[b]) == algorithm1(u[b].tolist(), v[b].tolist(), valid[b].tolist())


def test_word_hashing_keeps_later_hops_to_memories_that_share_a_word_with_the_input(task1_model):
    """§3.3 word hashing: from hop `word_hashing` on, O may pick only memories holding a word of the
    question or of the supports found so far, stop words ("the", "is", "to") aside."""
    memory = Memory()
    memory.write(SimpleInput()("John is in the kitchen. Sandra likes milk. The kitchen is north of the garden."))
    recall = Recall(task1_model, memory, "exhaustive")
    q_ids, q_keys = (torch.from_numpy(a)[None] for a in task1_model.vocab.encode(("where", "is", "john")))
    memories = recall.vectors.memories(q_keys[0])                       # newest first: slots 2, 1, 0
    no_support = memories.keys[:, :0]
    john = memories.keys[:, 2:3]                                          # "John is in the kitchen." as hop 1's pick
    assert output.sharing(task1_model, memories, no_support).tolist() == [[False, False, True]]
    assert output.sharing(task1_model, memories, john).tolist() == [[True, False, True]]   # "kitchen", from the support
    assert output.sharing(task1_model, memories, no_support, torch.tensor([[1, 2]])).tolist() == [[False, True]]
    none_picked, john_picked = torch.full((1, 0), -1), torch.tensor([[0]])
    hashing = ModelConfig(**{**task1_model.config.to_json(), "word_hashing": 2})
    plain, task1_model.config = task1_model.config, hashing
    try:
        assert output.pickable(task1_model, memories, none_picked, no_support, 0).tolist() == [[True, True, True]]
        assert output.pickable(task1_model, memories, john_picked, john, 1).tolist() == [[True, False, False]]
        milk, north = (output.explain(task1_model, q_ids, q_keys, memories, [0], slot) for slot in (1, 2))
        assert milk.hashed_out and not milk.pickable and milk.rank == 0
        assert "(word hashing): it cannot compete at hop 2" in why_panel(memory.slot(1), [milk], [])
        assert north.pickable and not north.hashed_out
        assert not output.explain(task1_model, q_ids, q_keys, memories, [], 1).hashed_out   # hop 1: not hashed
    finally:
        task1_model.config = plain
    assert output.pickable(task1_model, memories, john_picked, john, 1).tolist() == [[True, True, False]]
