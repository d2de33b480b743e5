"""The simulated world: constraints, supporting facts, difficulty limits, file format."""
import argparse
import json
import random

import pytest
from hypothesis import given, settings, strategies as st

from memnet.data.babi import load_tasks
from memnet.data.world import (
    JOINERS, SETTINGS, Event, Question, Reader, Statement, World, WorldConfig, join_word_sequence,
    add_simulate_arguments, babi_lines, generate, run_simulate, setting_config, write_split,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)
setting_names = st.sampled_from(sorted(SETTINGS))


def check_constraints(world: World, event: Event) -> None:
    """The appendix A rules, written independently of `World.valid_events`."""
    here = world.room(event.actor)
    if event.verb == "go":
        assert event.target in world.config.rooms and event.target != here, "went where already is"
        return
    assert here is not None, "acted before being anywhere"
    if event.verb in ("get", "get_from"):
        assert world.holder[event.target] is None, "got what someone holds"
        assert world.object_room(event.target) == here, "got something from another room"
    if event.verb in ("drop", "put", "give"):
        assert world.holder[event.target] == event.actor, "let go of what one doesn't have"
    if event.verb == "give":
        assert event.other != event.actor and world.room(event.other) == here
    if event.verb == "put":
        assert world.container_room[event.other] == here


@settings(max_examples=60, deadline=None)
@given(seed=seeds, setting=setting_names, actors=st.integers(1, 6), rooms=st.integers(2, 7), objects=st.integers(1, 5))
def test_actors_never_break_the_constraints(seed, setting, actors, rooms, objects):
    config = setting_config(setting, actors=tuple(f"a{i}" for i in range(actors)),
                            rooms=tuple(f"r{i}" for i in range(rooms)), objects=tuple(f"o{i}" for i in range(objects)))
    rng = random.Random(seed)
    world = World(config, rng)
    for _ in range(150):
        event = world.random_event(rng)
        assert event.verb in config.actions
        check_constraints(world, event)
        world.apply(event)
        held = [o for o in config.objects if world.holder[o] is not None]
        assert all(world.room(world.holder[o]) is not None for o in held)


def test_apply_refuses_what_the_constraints_forbid():
    world = World(WorldConfig(), random.Random(0))
    world.apply(Event("go", "Joe", "kitchen"))
    with pytest.raises(ValueError):
        world.apply(Event("go", "Joe", "kitchen"))
    with pytest.raises(ValueError):
        world.apply(Event("drop", "Joe", "milk"))


def questions_with_context(stories):
    """(story, line id, question) for every question."""
    for story in stories:
        for i, line in enumerate(story, 1):
            if isinstance(line, Question):
                yield story, i, line


@settings(max_examples=40, deadline=None)
@given(seed=seeds, setting=setting_names, difficulty=st.sampled_from([1, 2, 5]))
def test_supporting_facts_alone_determine_the_answer(seed, setting, difficulty):
    config = setting_config(setting, difficulty=difficulty, story_length=25)
    stories = generate(config, 60, 30, random.Random(seed))
    for story, i, q in questions_with_context(stories):
        assert q.support and all(s < i and isinstance(story[s - 1], Statement) for s in q.support)
        replay = Reader()
        for s in sorted(q.support):
            for event in story[s - 1].events:
                replay.read(event, s)
        assert replay.answer(q.kind, q.entity) == (q.answer, q.support)


@settings(max_examples=40, deadline=None)
@given(seed=seeds, setting=setting_names, difficulty=st.sampled_from([1, 3, 5]))
def test_asked_entity_was_mentioned_within_the_difficulty_limit(seed, setting, difficulty):
    config = setting_config(setting, difficulty=difficulty)
    for story, i, q in questions_with_context(generate(config, 80, 40, random.Random(seed))):
        statements = [line for line in story[:i - 1] if isinstance(line, Statement)]
        back = next(n for n, line in enumerate(reversed(statements), 1)
                    if any(q.entity in e.mentions() for e in line.events))
        assert back <= difficulty


def test_question_kinds_follow_the_setting():
    for name, (actions, kinds) in SETTINGS.items():
        stories = generate(setting_config(name), 300, 150, random.Random(1))
        asked = {q.kind for _, _, q in questions_with_context(stories)}
        assert asked == set(kinds), name
        said = {e.verb for s in stories for line in s if isinstance(line, Statement) for e in line.events}
        assert said <= set(actions)


def test_grammar_uses_the_synonyms_and_sentence_answers_name_the_room():
    stories = generate(setting_config("actor+object"), 2000, 500, random.Random(3))
    text = " ".join(line.text for s in stories for line in s)
    for phrase in ("picked up", "grabbed", "took", "discarded", "put down", "travelled to", "went back to"):
        assert phrase in text
    for _, _, q in questions_with_context(stories):
        assert q.answer in q.sentence.split(" ") or q.answer + "." in q.sentence


def test_word_sequence_joins_statements_and_remaps_support():
    config = setting_config("actor+object")
    story = generate(config, 20, 10, random.Random(5))[0]
    joined = join_word_sequence(story, random.Random(6))
    questions = [line for line in story if isinstance(line, Question)]
    assert [q.answer for q in questions] == [line.answer for line in joined if isinstance(line, Question)]
    clauses = [c for line in joined if isinstance(line, Statement) for c in line.clauses]
    assert clauses == [line.clauses[0] for line in story if isinstance(line, Statement)]
    for q, jq in zip(questions, (line for line in joined if isinstance(line, Question))):
        wanted = {story[s - 1].clauses[0] for s in q.support}
        got = {c for s in jq.support for c in joined[s - 1].clauses}
        assert wanted <= got
    assert any(j.strip(" ,.;") in line.text for line in joined for j in JOINERS if j.strip(" ,.;"))


def test_simulate_cli_writes_babi_files_deterministically(tmp_path):
    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    argv = ["--statements", "50", "--questions", "20", "--seed", "7", "--sentence-answers", "--word-sequence"]
    for out in ("a", "b"):
        assert run_simulate(parser.parse_args(["--out", str(tmp_path / out)] + argv)) == 0
    stem = "qa0_simworld-actor-object-d5-words"
    for name in ("_train.txt", "_test.txt", "_train.answers.jsonl", "_test.segments.jsonl"):
        assert (tmp_path / "a" / (stem + name)).read_text() == (tmp_path / "b" / (stem + name)).read_text()
    (task,) = load_tasks(tmp_path / "a")
    assert task.name == stem and sum(len(s.questions) for s in task.train) == 20 and task.test
    lines = (tmp_path / "a" / f"{stem}_train.txt").read_text().splitlines()
    questions = [line.split("\t") for line in lines if "\t" in line]
    assert len(questions) == 20 and all(len(q) == 3 and q[2].split() for q in questions)
    assert lines[0].startswith("1 ")
    answers = [json.loads(line) for line in (tmp_path / "a" / f"{stem}_train.answers.jsonl").read_text().splitlines()]
    assert [a["answer"] for a in answers] == [q[1] for q in questions]
    assert (tmp_path / "a" / f"{stem}_train.txt").read_text() != (tmp_path / "a" / f"{stem}_test.txt").read_text()


def test_other_name_lists_make_a_world_of_unseen_words():
    config = setting_config("actor+object", actors=("Bilbo", "Frodo"), she=(), rooms=("Shire", "cave", "Mount-Doom"),
                            objects=("ring",))
    lines = [l for s in generate(config, 40, 20, random.Random(0)) for l in babi_lines(s)]
    assert any("Bilbo" in l for l in lines) and not any("Joe" in l or "kitchen" in l for l in lines)


def test_a_small_model_learns_the_world_in_seconds(tmp_path):
    """Through the bAbI files and the core: k=2 +time on a small simulated set."""
    import torch

    from memnet.data.babi import read_stories
    from memnet.dataset import parse_stories
    from memnet.evaluate import evaluate
    from memnet.model import ModelConfig
    from memnet.input.sentence import SimpleInput
    from memnet.train import train

    torch.set_num_threads(1)
    rng = random.Random(0)
    config = setting_config("actor+object", difficulty=5)
    for split, statements, questions in (("train", 3000, 1500), ("test", 1000, 300)):
        write_split(generate(config, statements, questions, rng), tmp_path, split, False, False)
    train_set, test_set = (parse_stories(read_stories(tmp_path / f"{s}.txt"), SimpleInput()) for s in ("train", "test"))
    model, _ = train(train_set, ModelConfig(hops=2, time=True, unseen_context=False, epochs=15), progress=False)
    score = evaluate(model, test_set)
    assert score.accuracy > 0.9, score
