import torch

from memnet.batch import collate
from memnet.dataset import make_examples, parse_stories
from memnet.evaluate import evaluate
from memnet.input.sentence import SimpleInput


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
    assert len(prediction.ranking) == 3
    assert prediction.ranking[0][1] >= prediction.ranking[1][1]
