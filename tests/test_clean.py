"""The front of I (memnet/input/clean.py): normalising, units and pieces, refusals, nothing dropped."""
from hypothesis import given, settings
from hypothesis import strategies as st

from memnet.input.clean import MAX_CHARS, MAX_WORD, NO_WORDS, normalise, prepare, strip_controls
from memnet.input.sentence import SimpleInput


def kept(text: str) -> list[str]:
    return [u.text for u in prepare(text).units if not u.reason]


def test_a_line_without_a_full_stop_is_a_statement_and_a_wrapped_line_is_not():
    assert normalise("John went to the kitchen\nMary went to the garden\r\nJohn went to the office") == \
        "John went to the kitchen\nMary went to the garden\nJohn went to the office"
    assert normalise("John went to\n  the kitchen.\n\n\nMary slept.") == "John went to the kitchen.\nMary slept."
    assert kept("- John went home\n- Mary slept") == ["- John went home", "- Mary slept"]


def test_normalise_cleans_but_keeps_every_word():
    assert normalise("  “JOHN   WENT\tto the KITCHEN” 😀\x07 ") == "\"JOHN WENT to the KITCHEN\""
    assert kept("MARY WENT HOME.\n“JOHN SLEPT.” Sandra went to the USA.") == ["Mary went home.", '"John slept."', "Sandra went to the USA."]
    assert normalise("‘Mary’ went home…") == "'Mary' went home..."
    assert normalise(b"John went home.") == "John went home."
    assert normalise(None) == ""


def test_html_markup_from_a_pasted_page_is_read_as_its_text():
    """Tags go (a block tag ends a line), entities are read; text that only looks like markup stays."""
    assert normalise("<b>John</b> went to the <i>kitchen</i>.") == "John went to the kitchen."
    assert kept("<p>John went home.</p><p>Mary went to the garden</p><ul><li>Tom slept</li></ul>") == \
        ["John went home.", "Mary went to the garden", "Tom slept"]
    assert normalise('<a href="/x">Mary</a> went<br/>to the park. <!-- note --><script>x = 1 < 2</script>') == \
        "Mary went to the park."   # a <br> inside a statement is a wrapped line
    assert normalise("Tom &amp; Jerry went home.&nbsp;") == "Tom & Jerry went home."
    for text in ["AT&T is big. x < y and y > z.", "I <3 Lisbon.", "Press <Enter> to go on."]:
        assert normalise(text) == text


def test_the_words_of_html_reach_memory_without_their_tags():
    (sentence,) = SimpleInput()("<b>John</b> went to the <i>kitchen</i>.")
    assert sentence.tokens == ("john", "went", "to", "the", "kitchen")


def test_strip_controls_counts_what_it_removed():
    assert strip_controls("Bill went\x07 to the\x00 kitchen.\n") == ("Bill went to the kitchen.", 2)
    assert strip_controls("a\ud800b\u0080c\td") == ("abc\td", 2)
    assert strip_controls(None) == ("", 0)


def test_refusals_name_the_reason():
    prepared = prepare("Mary went to the garden. Der Hund ist in der Küche. " + "x" * 20_000 + ". 🙂🙂. John slept.")
    assert kept("Mary went to the garden. Der Hund ist in der Küche.") == ["Mary went to the garden."]
    reasons = [s.reason for s in prepared.skipped]
    assert reasons == ["not English: memnet only reads English",
                       f"a word of 20,001 characters (the longest I read is {MAX_WORD})", NO_WORDS]
    assert prepared.skipped[1].text == "x" * 20_000 + "."
    assert prepared.pieces() == ["Mary went to the garden. John slept."]


def test_names_that_look_foreign_are_english():
    for text in ("Les went to La Paz.", "Le Mans is in France.", "Jean went to El Paso."):
        assert prepare(text).skipped == [], text
    for text in ("Jean est allé à la cuisine.", "La maison est grande.", "约翰去了厨房。", "Иван пошёл на кухню."):
        assert "English" in prepare(text).skipped[0].reason, text


def test_long_text_becomes_parser_sized_pieces_without_losing_a_sentence():
    text = " ".join(f"Person{i} went to the room{i % 97}." for i in range(5_000))
    pieces = prepare(text).pieces()
    assert len(pieces) > len(text) // MAX_CHARS and all(len(p) <= MAX_CHARS for p in pieces)
    assert " ".join(pieces) == text
    assert len(SimpleInput()(text)) == 5_000


def test_a_long_sentence_without_a_full_stop_is_cut_at_spaces():
    text = "word " * 5_000
    units = prepare(text).units
    assert len(units) == 3 and all(len(u.text) <= MAX_CHARS for u in units)
    assert " ".join(u.text for u in units) == text.strip()


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400) | st.text(alphabet="ab .!?\n\t", max_size=400),
       st.integers(20, 300))
def test_never_drop_any_word(text, max_chars):
    """Units (read or refused) hold every word of the normalised text; pieces every word of the read
    units and none longer than a piece; chunks give back the same units."""
    prepared = prepare(text, max_chars)
    assert " ".join(u.text for u in prepared.units).lower().split() == normalise(text).lower().split()  # calm() may lower a shout
    pieces = prepared.pieces(max_chars)
    assert " ".join(pieces).split() == " ".join(u.text for u in prepared.units if not u.reason).split()
    assert all(len(p) <= max_chars for p in pieces if " " in p)  # a single word may be longer than a tiny max_chars
    for chunk_size in (1, 3):
        again = [u for chunk in prepared.chunks(chunk_size) for u in prepare(chunk, max_chars).units]
        assert [(u.text, u.reason) for u in again] == [(u.text, u.reason) for u in prepared.units]


def test_an_over_long_word_is_refused_alone_and_the_rest_of_its_sentence_is_read():
    units = prepare("John went to the hall. " + "y" * 20_000 + " Where is John? Mary " + "x" * 300 + " went home.").units
    assert [(u.text[:5], u.reason is None) for u in units] == [
        ("John ", True), ("yyyyy", False), ("Where", True), ("Mary", True), ("xxxxx", False), ("went ", True)]
    assert units[1].reason.startswith("a word of 20,000 characters")
