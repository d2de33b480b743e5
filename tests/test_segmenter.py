"""The learned segmenter of appendix B: eq. 12's candidates, seg(c), and greedy splitting."""
import random

import torch

from memnet.data.world import Question, Statement, generate, join_word_sequence, setting_config
from memnet.input.segmenter import (
    Segmenter, SegmenterConfig, candidates, known_statements, starts, stream_words, train_segmenter,
)

NAMES, PLACES, OBJECTS = ["joe", "fred", "mary", "bill"], ["kitchen", "garden", "office", "hallway"], ["milk", "apple"]
JOINERS = [["."], ["and"], ["then"], [",", "then"], [";"], [",", "later"], [",", "after", "that"], [",", "next"]]


def statement(rng: random.Random) -> list[str]:
    if rng.random() < 0.6:
        return [rng.choice(NAMES), rng.choice(["went", "moved", "travelled"]), "to", "the", rng.choice(PLACES)]
    return [rng.choice(NAMES), rng.choice(["picked", "grabbed"]), "up", "the", rng.choice(OBJECTS)]


def stream(rng: random.Random, joiners=JOINERS) -> list[tuple[list[str], list[str]]]:
    """A joined text as its statements, each after the joiner that introduces it."""
    parts = [statement(rng) for _ in range(rng.randint(1, 4))]
    return [([], parts[0])] + [(rng.choice(joiners), p) for p in parts[1:]]


def flat(pieces) -> list[str]:
    return [w for lead, s in pieces for w in (*lead, *s)]


def test_stream_words_keeps_punctuation_as_words():
    assert stream_words("Joe went to Mount-Doom, then Fred's cat slept.") == \
        ["joe", "went", "to", "mount-doom", ",", "then", "fred's", "cat", "slept", "."]


def test_known_statements_keep_the_words_between_them_apart():
    assert known_statements("Joe slept, and then Fred ran.", ["Joe slept", "Fred ran"]) == \
        [([], ["joe", "slept"]), ([",", "and", "then"], ["fred", "ran"])]


def test_candidates_are_statements_and_their_unfinished_prefixes():
    text = [([], ["joe", "slept"]), (["then"], ["fred", "ran"])]
    positives, negatives = candidates(text, overrun=0)
    assert positives == [["joe", "slept"], ["fred", "ran"]]  # the joiner is part of no statement
    assert negatives == [["joe"], ["fred"]]
    _, spilled = candidates(text, overrun=2)
    assert ["joe", "slept", "then"] in spilled and ["joe", "slept", "then", "fred"] in spilled
    assert starts(text) == (["then"], ["joe", "fred"])


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
        right += model.split(flat(parts) + ["."]) == [p for _, p in parts]  # no joiners, no closing "."
    assert right >= 90


def test_what_lies_between_statements_is_learned_not_listed():
    """Made-up connectives are passed over once training has seen them between statements."""
    torch.set_num_threads(1)
    rng = random.Random(2)
    made_up = [["zork"], [",", "blip", "blop"], [";"]]
    model = train_segmenter([stream(rng, made_up) for _ in range(300)], SegmenterConfig(dim=20, epochs=10))
    assert model.split("joe went to the kitchen , blip blop fred picked up the milk zork mary went to the garden".split()) \
        == [["joe", "went", "to", "the", "kitchen"], ["fred", "picked", "up", "the", "milk"],
            ["mary", "went", "to", "the", "garden"]]
    # an unseen word is neither a connective nor an end: it stays in the statement
    assert model.split("bilbo went to the kitchen".split()) == [["bilbo", "went", "to", "the", "kitchen"]]


def test_simulator_word_sequences_come_back_as_their_statements():
    """Table 3's input: lines of the simulated world joined with the paper's connectives. The
    segmenter must give back exactly the statements, without the connectives between them, so
    that memories hold the same words as in the sentence-level setting (Table 5)."""
    torch.set_num_threads(1)

    def lines(seed):
        rng = random.Random(seed)
        stories = generate(setting_config("actor", difficulty=1), 600, 200, rng)
        return [line for story in stories for line in join_word_sequence(story, rng) if isinstance(line, Statement)]

    model = train_segmenter([known_statements(line.text, line.clauses) for line in lines(0)],
                            SegmenterConfig(dim=20, epochs=10))
    test = lines(1)
    right = sum(model.split(stream_words(line.text)) == [stream_words(c) for c in line.clauses] for line in test)
    assert right >= 0.99 * len(test)


def test_untrained_segmenter_does_not_know_where_statements_end():
    rng = random.Random(1)
    model = Segmenter(flat(p for _ in range(50) for p in stream(rng)), SegmenterConfig(dim=20))
    parts = [stream(rng) for _ in range(50)]
    right = sum(model.split(flat(ps)) == [p for _, p in ps] for ps in parts)
    assert right < 25


def test_word_sequence_labels_each_clause_with_its_own_segment():
    """bench/simworld.py matches the labelled clauses of a line to its segments in order: a line
    that says the same thing twice labels each clause with its own slot, not both the first."""
    import importlib.util
    import sys
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_simworld", Path(__file__).parents[1] / "bench" / "simworld.py")
    simworld = sys.modules.setdefault("bench_simworld", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(simworld)

    class Cut:  # stands in for a trained segmenter: cuts at every ", then"
        def split(self, words):
            return [part.split() for part in " ".join(words).rstrip(" .").split(" , then ")]

    clauses = ("Joe went to the office", "Joe went to the kitchen", "Joe went to the office")
    story = [Statement(c + ".", (), (c,)) for c in clauses]
    story.append(Question("where", "Joe", "Where is Joe?", "office", (3,), "Joe is in the office"))
    joined = Statement(", then ".join(clauses) + ".", (), clauses)
    parsed = simworld.word_sequence([(story, [joined])], simworld.SegmentedInput(Cut()))[0]
    assert [s.tokens for s in parsed.memory] == [tuple(c.lower().split()) for c in clauses]
    assert parsed.questions[0][2] == (2,)  # the third clause's own slot, not slot 0
