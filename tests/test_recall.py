"""O over stored slot vectors: the same picks and answers as `MemNN.predict` on the same memory."""
import numpy as np
import pytest
import torch

from memnet.batch import Encoded, Example, collate
from memnet.memory.index import Recent, WordHash
from memnet.data.babi import load_tasks
from memnet.dataset import parse_stories
from memnet.memory.slots import Memory
from memnet.model import ModelConfig
from memnet.recall import Recall
from memnet.input.sentence import SimpleInput
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
def test_recall_matches_find_supports_and_predict(which, task1, task1_model, request):
    task, model = (task1, task1_model) if which == "task1" else request.getfixturevalue("task2_ngram_model")
    checked = 0
    for story in parse_stories(task.test[:15], SimpleInput()):
        for question, n, _, _ in story.questions:
            memory = Memory()
            memory.write(story.memory[:n])
            recalled = Recall(model, memory, "exhaustive").ask(question.tokens, touch=False)
            example = Example(Encoded.of(model.vocab, story.memory[:n]), n, Encoded.of(model.vocab, [question]))
            expected = model.predict(collate([example]), [[s.tokens for s in reversed(story.memory[:n])]])[0]
            assert [h.pick for h in recalled.hops] == [n - 1 - h.pick if h.pick >= 0 else -1 for h in expected.hops]
            assert np.allclose([h.score for h in recalled.hops], [h.score for h in expected.hops], atol=1e-4)
            assert recalled.answer == expected.answer
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
    assert np.allclose(recall.vectors.base[: memory.size], recall.vectors.embed(recall.vectors.ids[: memory.size]))


def test_large_memories_switch_to_word_hashing_plus_the_newest_slots(task1, task1_model):
    memory = Memory()
    for story in parse_stories(task1.test[:40], SimpleInput()):
        memory.write(story.memory)
    recall = Recall(task1_model, memory, threshold=100, window=50)
    result = recall.ask(("where", "is", "mary"))
    strategy = recall._strategy()
    assert isinstance(strategy, Recent) and isinstance(strategy.inner, WordHash)
    assert result.scored < 2 * len(memory) and result.answer


def test_a_hop_never_repicks_an_earlier_support(task1, task1_model):
    """As `MemNN.find_supports`: a fact found at an earlier hop is no candidate for Algorithm 1, so
    over a one-statement memory the second hop has nothing left, whatever the stop memory scores."""
    for story in parse_stories(task1.test[:5], SimpleInput()):
        for question, n, _, _ in story.questions:
            memory = Memory()
            memory.write(story.memory[n - 1 : n])
            recall = Recall(task1_model, memory, "exhaustive")
            recalled = recall.ask(question.tokens, touch=False)
            example = Example(Encoded.of(task1_model.vocab, story.memory[n - 1 : n]), 1, Encoded.of(task1_model.vocab, [question]))
            assert [h.pick for h in recalled.hops] == [h.pick for h in task1_model.predict(collate([example]))[0].hops] == [0, -1]
            q_ids, q_keys = (torch.from_numpy(a) for a in task1_model.vocab.encode(question.tokens))
            with torch.no_grad():
                x = recall._input_vector(q_ids, q_keys, [0])
                assert recall._hop(x, q_keys.numpy(), None, [0])[2] == -1   # STOP, not slot 0 again
