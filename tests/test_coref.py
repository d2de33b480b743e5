"""Coreference on the parse: hand-written cases, and bAbI 11/13 memories that go through resolution."""
import json
from pathlib import Path

import pytest

from memnet.data.babi import read_stories
from memnet.dataset import parse_stories
from memnet.input.spacy_input import SpacyInput
from tests.helpers import BABI_EN

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "coref_cases.jsonl").open()]


def resolve(spacy_input, *messages):
    """The resolved texts of the last message, after the whole conversation."""
    discourse = spacy_input.new_discourse()
    return [[s.resolved for s in spacy_input(m, discourse)] for m in messages][-1]


@pytest.mark.parametrize("case", [
    pytest.param(c, id=c["id"], marks=[pytest.mark.xfail(strict=True, reason=c["note"])] if c["known_failure"] else [])
    for c in CASES])
def test_hand_written_case(spacy_input, case):
    assert resolve(spacy_input, *case["story"])[-1] == case["expect"]


def test_the_set_has_cases_where_recency_alone_is_wrong():
    assert sum("recency" in c["note"] and not c["known_failure"] for c in CASES) >= 3


def test_recency_alone_is_wrong_gender(spacy_input):
    assert resolve(spacy_input, "Sandra went to the garden.", "Daniel went to the office.", "Then she went to the kitchen.") \
        == ["Then Sandra went to the kitchen."]


def test_recency_alone_is_wrong_subject(spacy_input):
    assert resolve(spacy_input, "John met Bill in the kitchen.", "He picked up the apple.") == ["John picked up the apple."]


def test_slot_keeps_typed_and_resolved_text(spacy_input):
    d = spacy_input.new_discourse()
    spacy_input("Daniel and Sandra went to the office.", d)
    [s] = spacy_input("Then they went to the garden.", d)
    assert s.text == "Then they went to the garden."
    assert s.resolved == "Then Daniel and Sandra went to the garden."
    assert s.tokens == ("then", "daniel", "and", "sandra", "go", "to", "the", "garden")


def test_part_of_a_full_name_names_the_same_person(spacy_input):
    d = spacy_input.new_discourse()
    spacy_input("Grandma Imelda flew to Reykjavik.", d)
    [question] = spacy_input("Where is Imelda?", d)
    assert question.tokens == ("where", "be", "grandma_imelda")   # the question names the entity O can match
    [told] = spacy_input("Imelda went to the park.", d)
    assert told.resolved == "Grandma Imelda went to the park." and told.text == "Imelda went to the park."
    assert spacy_input("Where is Imelda?")[0].tokens == ("where", "be", "imelda")   # a fresh conversation knows no full name
    restored = type(d).from_json(json.loads(json.dumps(d.to_json())))
    assert restored.name_parts == d.name_parts


def test_unresolvable_pronoun_is_left_alone(spacy_input):
    [s] = spacy_input("She went to the kitchen.")
    assert s.resolved == s.text and "she" in s.tokens


def test_conversations_do_not_share_state(spacy_input):
    first, second = spacy_input.new_discourse(), spacy_input.new_discourse()
    spacy_input("Mary went to the kitchen.", first)
    spacy_input("Sandra went to the garden.", second)
    assert spacy_input("She took the milk there.", first)[0].resolved == "Mary took the milk in the kitchen."
    assert spacy_input("She took the milk there.", second)[0].resolved == "Sandra took the milk in the garden."


@pytest.mark.parametrize("task", ["qa11_basic-coreference", "qa13_compound-coreference"])
def test_babi_answers_go_through_resolved_memories(spacy_input, task):
    """After resolution the last supporting memory names the person asked about, and the answer."""
    stories = read_stories(BABI_EN / f"{task}_test.txt")[:60]
    checked = right = 0
    for story in parse_stories(stories, spacy_input):
        for question, _, supports, answer in story.questions:
            memory = story.memory[max(supports)]
            if memory.resolved == memory.text:
                continue  # the question rests on a statement with no pronoun
            checked += 1
            person = question.tokens[-1]
            right += person in memory.tokens and answer in memory.tokens
    assert checked >= 60
    assert right / checked >= 0.98


def test_without_coref_the_pronoun_stays(nlp):
    plain = SpacyInput(nlp, coref=False)
    d = plain.new_discourse()
    plain("Mary went to the kitchen.", d)
    [s] = plain("Then she went to the garden.", d)
    assert s.resolved == s.text and s.tokens == ("then", "she", "go", "to", "the", "garden")


def test_registered_component_resolves_within_a_doc(nlp):
    from spacy.language import Language

    from memnet.input.coref import resolve_doc

    assert Language.has_factory("memnet_coref")
    doc = resolve_doc(nlp("Mary and John went home. Then they slept; she woke up."))
    assert doc._.resolved == ("Mary and John went home.", "Then Mary and John slept", "Mary woke up.")
