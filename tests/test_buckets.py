"""Candidate strategies of H (paper §3.3): each finds the supports; buckets follow the memory."""
import random

import numpy as np
import pytest

from memnet.buckets import ClusterHash, DenseIndex, WordHash
from memnet.dataset import parse_stories
from memnet.features import token_key
from memnet.memory import Memory
from memnet.recall import Recall
from memnet.sentence import Sentence, SimpleInput


@pytest.fixture(scope="module")
def stories(task1):
    return parse_stories(task1.test[:10], SimpleInput())


@pytest.mark.parametrize("name", ["word", "cluster", "dense"])
def test_each_strategy_finds_the_labelled_supports(name, stories, task1_model):
    found = total = 0
    for story in stories:
        memory = Memory()
        memory.write(story.memory)
        strategy = {"word": lambda: WordHash(memory),
                    "cluster": lambda: ClusterHash(memory, task1_model, clusters=10),
                    "dense": lambda: DenseIndex(memory, top=4)}[name]()
        recall = Recall(task1_model, memory, strategy)
        for question, n, supports, answer in story.questions:
            if n != len(story.memory):
                continue   # ask each story's last questions, over its whole memory
            result = recall.ask(question.tokens, question.text, touch=False)
            found += result.supports[:1] == list(supports) and result.answer == answer
            total += 1
            assert result.scored < 2 * len(memory) or name != "dense"
    assert total >= 10 and found / total >= 0.9


def brute_force_buckets(memory: Memory, words) -> dict:
    return {w: {p for p in range(memory.size) if w in memory.tokens[p]} for w in words}


def test_buckets_stay_consistent_after_writes_forgetting_and_undo(task1_model):
    rng = random.Random(0)
    names, rooms = ["mary", "john", "sandra", "daniel"], ["kitchen", "office", "garden", "hallway", "bathroom"]
    cluster = ClusterHash(Memory(), task1_model, clusters=5)
    memory = Memory(capacity=40, word_class=cluster.word_class)
    word, clusters = WordHash(memory), ClusterHash(memory, task1_model, clusters=5)
    for step in range(300):
        if step % 17 == 16:
            memory.undo()
        else:
            words = (rng.choice(names), "went", "to", rng.choice(rooms))
            memory.write([Sentence(" ".join(words), " ".join(words), words)] * rng.randint(1, 3))
        if step % 25 == 0:
            vocabulary = names + rooms + ["went", "to"]
            expected = brute_force_buckets(memory, vocabulary)
            for w in vocabulary:
                (rows,) = word.index.postings(np.array([token_key(w)]))
                assert set(rows.tolist()) == expected[w]
                term = clusters.term_of_keys(np.array([[token_key(w)]]))[0]
                (rows,) = clusters.index.postings(term)
                members = [v for v in vocabulary if clusters.term_of_keys(np.array([[token_key(v)]]))[0, 0] == term[0]]
                assert set(rows.tolist()) == set().union(*(expected[v] for v in members))
    assert len(memory) <= 40
