"""The sentence-answer R (appendix F) and Table 6's metric."""
import random

import torch

from memnet.data.world import Question, generate, setting_config
from memnet.sentence_decoder import SentenceExample, sentence_correct, train_decoder

CONFIG = setting_config("actor+object")


def examples(stories):
    """(example fed the gold supporting facts, question) pairs."""
    return [(SentenceExample(q.text, tuple(story[s - 1].text for s in q.support), q.sentence), q)
            for story in stories for q in story if isinstance(q, Question)]


def correct(sentence: str, q: Question) -> bool:
    pronoun = "it" if q.kind == "object" else CONFIG.pronoun(q.entity)
    return sentence_correct(sentence, q.answer, q.entity, pronoun, CONFIG.rooms, CONFIG.actors + CONFIG.objects)


def test_metric_wants_the_room_and_forbids_a_wrong_subject():
    q = Question("where", "Mary", "Where is Mary?", "kitchen", (1,), "She is in the kitchen.")
    assert correct("She is in the kitchen I believe", q)
    assert correct("kitchen", q)
    assert correct("I think Mary is in the kitchen", q)
    assert not correct("He is in the kitchen", q)
    assert not correct("Joe is in the kitchen", q)
    assert not correct("She is in the office", q)
    assert not correct("She is in the kitchen or the office", q)


def test_decoder_learns_sentence_answers_in_seconds():
    torch.set_num_threads(1)
    rng = random.Random(0)
    train, test = examples(generate(CONFIG, 2000, 1000, rng)), examples(generate(CONFIG, 300, 150, rng))
    model = train_decoder([e for e, _ in train], epochs=20, dim=48, lr=0.01)
    written = model.generate([e for e, _ in test])
    accuracy = sum(correct(s, q) for s, (_, q) in zip(written, test)) / len(test)
    assert accuracy > 0.9, (accuracy, written[:5])
