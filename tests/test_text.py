"""The spaCy I: segmentation, questions, lemmas, messy input, and the InputMap contract."""
import pytest

from memnet.input.sentence import make_input_map
from memnet.input.clean import MAX_CHARS, prepare


def statements(spacy_input, text):
    return [s.text for s in spacy_input(text)]


def test_make_input_map_gives_spacy_input(spacy_input):
    im = make_input_map("spacy")
    assert im.name == "spacy"
    assert im.nlp is spacy_input.nlp  # the pipeline is loaded once and shared


def test_lemmas_match_across_inflections(spacy_input):
    went, goes = spacy_input("John went to the kitchen."), spacy_input("John goes to the kitchen.")
    assert went[0].tokens == goes[0].tokens == ("john", "go", "to", "the", "kitchen")
    assert spacy_input("Wolves are afraid of mice.")[0].tokens == ("wolf", "be", "afraid", "of", "mouse")


def test_hyphenated_place_names_stay_one_token(spacy_input):
    assert spacy_input("Frodo journeyed to Mount-Doom.")[0].tokens[-1] == "mount-doom"
    assert spacy_input("Bilbo travelled to the Grey-havens.")[0].tokens[-1] == "grey-havens"


def test_the_issue_compound_statement_splits_into_four(spacy_input):
    text = "Joe went to the garden then Fred picked up the milk; Joe moved to the bathroom and Fred dropped the milk"
    assert statements(spacy_input, text) == [
        "Joe went to the garden", "Fred picked up the milk", "Joe moved to the bathroom", "Fred dropped the milk"]


@pytest.mark.parametrize("joint", [". ", " and ", " then ", ", then ", "; ", ", later ", ", after that ", ", and then ", ", next "])
def test_paper_connectives_split(spacy_input, joint):
    out = spacy_input(f"Mary went to the kitchen{joint}John dropped the apple.")
    assert [s.tokens for s in out] == [("mary", "go", "to", "the", "kitchen"), ("john", "drop", "the", "apple")]


def test_subject_the_parser_took_for_an_object_is_given_back(spacy_input):
    """spaCy parses "the kitchen and John" as one object; the clause after it still gets John."""
    d = spacy_input.new_discourse()
    out = spacy_input("Sandra moved to the kitchen and John journeyed to the bedroom.", d)
    assert [s.text for s in out] == ["Sandra moved to the kitchen", "John journeyed to the bedroom."]
    assert spacy_input("John dropped the milk there.", d)[0].resolved == "John dropped the milk in the bedroom."


def test_a_paste_of_sentences_becomes_several_memories(spacy_input):
    assert len(spacy_input("Mary went home. John slept! Sandra took the milk.")) == 3


@pytest.mark.parametrize("text", [
    "John went to the kitchen because he was hungry.",
    "John went home when Mary left.",
    "Mary and Daniel went to the bathroom.",
    "John said he was tired.",
])
def test_subordinate_and_noun_conjunctions_stay_whole(spacy_input, text):
    assert len(spacy_input(text)) == 1


@pytest.mark.parametrize("text", [
    "Where is John?", "where is john", "Tell me where John is", "Is John in the kitchen",
    "Did John go to the kitchen", "What is Gertrude afraid of", "John is where?", "who has the milk",
])
def test_questions(spacy_input, text):
    out = spacy_input(text)
    assert len(out) == 1 and out[0].is_question


@pytest.mark.parametrize("text", [
    "John is in the kitchen.", "Where John went, Mary followed.", "There is a ball in the kitchen.",
    "I know where John is.", "Tell Mary to go home.",
])
def test_statements_are_not_questions(spacy_input, text):
    assert not any(s.is_question for s in spacy_input(text))


def test_statement_then_question_in_one_message(spacy_input):
    out = spacy_input("John went to the garden. Where is John?")
    assert [s.is_question for s in out] == [False, True]


@pytest.mark.parametrize("text", [
    "", "   ", None, b"John went home.", "🙂🙂🙂", "\x00\x07\x1b[31m", "x" * 50_000, "word " * 5_000,
    "Jean est allé à la cuisine.", "约翰去了厨房", "\ud800", "🙂 John 👍 went to the 🏠 kitchen 😀",
])
def test_messy_input_never_raises(spacy_input, text):
    out = spacy_input(text)
    assert all(s.tokens and all(t.strip() for t in s.tokens) for s in out)
    prepared = prepare(text)
    if not out and prepared.units:
        assert prepared.skipped  # nothing written: there is a reason saying why


def test_messy_input_gives_a_clean_memory(spacy_input):
    out = spacy_input("  “JOHN   WENT\tto the KITCHEN” 😀\x07 ")
    assert [s.tokens for s in out] == [("john", "go", "to", "the", "kitchen")]
    assert spacy_input("‘Mary’ went home")[0].text == "'Mary' went home"


def test_non_english_is_refused_with_a_message(spacy_input):
    assert spacy_input("Der Hund ist in der Küche.") == []
    assert "English" in prepare("Der Hund ist in der Küche.").skipped[0].reason
    assert prepare("John couldn't find Bill.").skipped == []


def test_foreign_looking_names_are_english(spacy_input):
    """"Les" and "La" are French articles, but here they are names."""
    out = spacy_input("Les went to La Paz.")
    assert [s.text for s in out] == ["Les went to La Paz."]
    assert prepare("Les went to La Paz.").skipped == []


def test_a_long_paste_is_read_whole_in_parser_sized_pieces(spacy_input):
    text = " ".join(f"Person{i} went to the room{i % 97}." for i in range(1_500))
    assert len(text) > 4 * MAX_CHARS
    out = spacy_input(text)
    assert len(out) == 1_500
    assert out[-1].text == "Person1499 went to the room44."


def test_one_statement_per_line_without_full_stops(spacy_input):
    out = spacy_input("John went to the kitchen\nMary went to the garden\r\nJohn went to the office")
    assert [s.text for s in out] == ["John went to the kitchen", "Mary went to the garden", "John went to the office"]
    assert [s.text for s in spacy_input("John went to\nthe kitchen.")] == ["John went to the kitchen."]  # a wrapped line


def test_pipe_keeps_order_and_one_discourse(spacy_input):
    d = spacy_input.new_discourse()
    out = spacy_input.pipe(["Mary went to the bathroom.", "Where is Mary?", "After that she went to the bedroom."], d)
    assert [len(o) for o in out] == [1, 1, 1]
    assert out[2][0].resolved == "After that Mary went to the bedroom."
    assert out[2][0].text == "After that she went to the bedroom."
    again = spacy_input.pipe(["After that she went to the bedroom."], spacy_input.new_discourse())
    assert again[0][0].resolved == "After that she went to the bedroom."  # cache holds no conversation state
