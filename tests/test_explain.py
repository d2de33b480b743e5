"""Why O picked a slot and why R ranked an answer: the parts add up to the scores the model used,
and Algorithm 1's story agrees with the picks `find_supports` made."""
import numpy as np
import pytest
import torch

from memnet import output, response
from memnet.dataset import parse_stories
from memnet.input.sentence import SimpleInput
from memnet.memory.slots import Memory
from memnet.model import ModelConfig
from memnet.network import Recall
from memnet.train import train


def _questions(task, model, stories=8):
    for story in parse_stories(task.test[:stories], SimpleInput()):
        for question, n, _, _ in story.questions:
            memory = Memory()
            memory.write(story.memory[:n])
            recall = Recall(model, memory, "exhaustive")
            q_ids, q_keys = (torch.from_numpy(a)[None] for a in model.vocab.encode(question.tokens))
            yield recall, q_ids, q_keys, recall.ask(question.tokens, touch=False)


@pytest.fixture(scope="module")
def untimed_model(task1):
    model, _ = train(parse_stories(task1.train[:60], SimpleInput()), ModelConfig(epochs=3, seed=2, time=False), progress=False)
    return model


@pytest.mark.parametrize("which", ["time", "no time"])
def test_slot_parts_add_up_and_algorithm_1_names_the_pick(which, task1, task1_model, request):
    model = task1_model if which == "time" else request.getfixturevalue("untimed_model")
    checked = 0
    for recall, q_ids, q_keys, answer in _questions(task1, model):
        memories = recall.vectors.memories(q_keys[0])
        for h, hop in enumerate(answer.hops):
            earlier = answer.supports[:h]
            scored = dict(zip(hop.slots.tolist(), hop.scores.tolist()))
            for slot in scored:
                why = output.explain(model, q_ids, q_keys, memories, earlier, slot)
                assert why.score == pytest.approx(scored[slot], abs=1e-4)
                assert why.embedding + why.match == pytest.approx(why.score, abs=1e-4)
                assert why.picked == (slot == hop.slot)
                if hop.slot is not None:
                    assert why.winner == hop.slot
                    # the pick took over and was never beaten; every other slot lost a meeting or was beaten
                    assert (why.took_over and why.beaten_by is None) == (slot == hop.slot)
                if why.met is not None:
                    assert why.challenge == pytest.approx(why.score + why.challenger_terms - why.incumbent_side, abs=1e-4)
                    assert why.took_over == (why.challenge > 0)
                checked += 1
            if h:   # the stop memory won exactly when its s_Ot against the winner was positive
                why = output.explain(model, q_ids, q_keys, memories, earlier, int(hop.slots[0]))
                assert (why.stop > 0) == (hop.slot is None)
    assert checked > 100


def test_a_slot_picked_earlier_cannot_compete(task1, task1_model):
    recall, q_ids, q_keys, answer = next(a for a in _questions(task1, task1_model) if len(a[3].supports) >= 1)
    first = answer.supports[0]
    why = output.explain(task1_model, q_ids, q_keys, recall.vectors.memories(q_keys[0]), [first], first)
    assert not why.pickable and why.rank == 0 and not why.picked


def test_answer_parts_add_up_to_the_ranking(task1, task1_model):
    for recall, q_ids, q_keys, answer in list(_questions(task1, task1_model))[:20]:
        supports = answer.supports
        sup_ids = torch.from_numpy(recall.vectors.ids[supports])[None]
        sup_keys = torch.from_numpy(recall.memory.keys[supports])[None]
        tokens = [recall.memory.tokens[s] for s in supports]
        parts = response.explain(task1_model, q_ids, q_keys, sup_ids, sup_keys, tokens)
        assert [p.answer for p in parts] == [a for a, _ in answer.ranking]
        assert [p.score for p in parts] == pytest.approx([s for _, s in answer.ranking], abs=1e-5)
        for p in parts:
            assert p.word + p.match + p.supports == pytest.approx(p.score, abs=1e-4)
            if not any(p.answer in t for t in tokens) and p.match == 0:
                assert p.supports == pytest.approx(0, abs=1e-4)   # nothing but its own row
        top = parts[0]
        assert top.answer == answer.answer and np.isfinite(top.word)
