import random

import torch

from memnet.batch import collate
from memnet.dataset import make_examples, parse_stories
from memnet.evaluate import evaluate
from memnet.model import fast_winner
from memnet.input.sentence import SimpleInput


def algorithm1(u, v, valid):
    """Appendix C's loop, literally."""
    t = 0
    for i in range(1, len(u)):
        if valid[i] and u[i] > v[t]:
            t = i
    return t


def test_fast_winner_picks_what_algorithm1_picks():
    rng = random.Random(0)
    for _ in range(300):
        n = rng.randint(1, 30)
        u = torch.tensor([[rng.choice([rng.gauss(0, 1), 0.5]) for _ in range(n)]])
        v = torch.tensor([[rng.choice([rng.gauss(0, 1), 0.5]) for _ in range(n)]])
        valid = torch.tensor([[i < n - rng.randint(0, n - 1) for i in range(n)]])
        assert int(fast_winner(u, v, valid)[0]) == algorithm1(u[0].tolist(), v[0].tolist(), valid[0].tolist())


def test_small_model_answers_held_out_task1_questions(task1, task1_model):
    score = evaluate(task1_model, parse_stories(task1.test[:100], SimpleInput()))
    assert score.n == 500
    assert score.accuracy > 0.9
    assert score.support_accuracy > 0.9


def test_training_is_reproducible(task1):
    from memnet.model import ModelConfig
    from memnet.train import train

    stories = parse_stories(task1.train[:20], SimpleInput())
    first, _ = train(stories, ModelConfig(epochs=1, seed=3), progress=False)
    second, _ = train(stories, ModelConfig(epochs=1, seed=3), progress=False)
    assert torch.equal(first.U_O.weight, second.U_O.weight)


def test_prediction_reports_every_hop_and_memory_scores(task1, task1_model):
    examples = make_examples(parse_stories(task1.test[:1], SimpleInput()), task1_model.vocab)
    (prediction,) = task1_model.predict(collate(examples[:1]), top=3)
    assert 1 <= len(prediction.hops) <= task1_model.config.hops
    assert len(prediction.hops[0].scores) == examples[0].n_memories
    assert len(prediction.candidates) == 3
    assert prediction.candidates[0][1] >= prediction.candidates[1][1]
