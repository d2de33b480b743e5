"""The learned segmenter of appendix B: eq. 12's candidates, seg(c), and greedy splitting."""
import random

import torch

from memnet.segmenter import Segmenter, SegmenterConfig, candidates, stream_words, train_segmenter

NAMES, PLACES, OBJECTS = ["joe", "fred", "mary", "bill"], ["kitchen", "garden", "office", "hallway"], ["milk", "apple"]
JOINERS = [["."], ["and"], ["then"], [",", "then"], [";"], [",", "later"], [",", "after", "that"], [",", "next"]]


def statement(rng: random.Random) -> list[str]:
    if rng.random() < 0.6:
        return [rng.choice(NAMES), rng.choice(["went", "moved", "travelled"]), "to", "the", rng.choice(PLACES)]
    return [rng.choice(NAMES), rng.choice(["picked", "grabbed"]), "up", "the", rng.choice(OBJECTS)]


def stream(rng: random.Random) -> list[list[str]]:
    """A joined text as its statements, each after the joiner that introduces it."""
    parts = [statement(rng) for _ in range(rng.randint(1, 4))]
    return [parts[0]] + [rng.choice(JOINERS) + p for p in parts[1:]]


def test_stream_words_keeps_punctuation_as_words():
    assert stream_words("Joe went to Mount-Doom, then Fred's cat slept.") == \
        ["joe", "went", "to", "mount-doom", ",", "then", "fred's", "cat", "slept", "."]


def test_candidates_are_statements_and_their_unfinished_prefixes():
    positives, negatives = candidates([["joe", "slept"], ["then", "fred", "ran"]], overrun=0)
    assert positives == [["joe", "slept"], ["then", "fred", "ran"]]
    assert negatives == [["joe"], ["then"], ["then", "fred"]]
    _, spilled = candidates([["joe", "slept"], ["then", "fred", "ran"]], overrun=2)
    assert ["joe", "slept", "then"] in spilled and ["joe", "slept", "then", "fred"] in spilled


def test_split_scores_with_the_same_seg_as_training():
    model = Segmenter(["joe", "went", "home"], SegmenterConfig(dim=8))
    with torch.no_grad():
        per_word = model.U_S.weight @ model.W_seg
        assert torch.isclose(model([["joe", "went", "home"]])[0], per_word[[1, 2, 3]].sum(), atol=1e-5)


def test_learns_to_split_joined_statements():
    torch.set_num_threads(1)
    rng = random.Random(0)
    model = train_segmenter([stream(rng) for _ in range(300)], SegmenterConfig(dim=20, epochs=10))
    right = 0
    for _ in range(100):
        parts = stream(rng)
        words = [w for p in parts for w in p] + ["."]
        got = model.split(words)
        assert got[-1][-1] == "."  # the closing full stop stays with the last statement
        right += [s[-5:] for s in got[:-1] + [got[-1][:-1]]] == [p[-5:] for p in parts]
    assert right >= 90


def test_untrained_segmenter_does_not_know_where_statements_end():
    rng = random.Random(1)
    model = Segmenter([w for _ in range(50) for p in stream(rng) for w in p], SegmenterConfig(dim=20))
    parts = [stream(rng) for _ in range(50)]
    right = sum([s[-5:] for s in model.split([w for p in ps for w in p])] == [p[-5:] for p in ps] for ps in parts)
    assert right < 25
