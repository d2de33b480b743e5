"""The spaCy I on everyday phrasing (issue 12): multi-word names and places as one word,
"'s" read as "is", names the tagger takes for modals or runs into an opening adverb, and "they"
after a named pair."""
from memnet.features import answer_form


def tokens(spacy_input, text):
    return [s.tokens for s in spacy_input(text)]


def test_contracted_is_reads_as_is(spacy_input):
    assert tokens(spacy_input, "Mary's in the garden.") == [("mary", "be", "in", "the", "garden")]
    assert tokens(spacy_input, "Mary's in the garden.") == tokens(spacy_input, "Mary is in the garden.")
    assert tokens(spacy_input, "Mary's hungry.")[0][1] == "be"
    # the possessive stays a possessive
    assert tokens(spacy_input, "Mary's apple is red.")[0][:3] == ("mary", "'s", "apple")


def test_multi_word_place_is_one_word(spacy_input):
    assert tokens(spacy_input, "Mary moved to New York.") == [("mary", "move", "to", "new_york")]
    assert tokens(spacy_input, "John went to the living room.") == [("john", "go", "to", "the", "living_room")]
    # asked about, the place is the same word as in memory
    assert tokens(spacy_input, "Is John in the living room?")[0][-1] == "living_room"
    assert tokens(spacy_input, "Is Mary in New York?")[0][-1] == "new_york"
    # a capitalised modifier the tagger calls an adjective is part of the name, whichever way the
    # parser attaches it (compound here, amod in the other two)
    assert tokens(spacy_input, "Then he went to the French Quarter.")[0][-1] == "french_quarter"
    assert tokens(spacy_input, "Oskar went to the French Quarter.")[0][-1] == "french_quarter"
    assert tokens(spacy_input, "Where was Oskar before the French Quarter?")[0][-1] == "french_quarter"


def test_multi_word_name_is_one_word(spacy_input):
    assert tokens(spacy_input, "John Smith went to the kitchen.")[0][0] == "john_smith"


def test_adjectives_and_babi_phrases_stay_apart(spacy_input):
    # the parser calls "red" a compound here; only places and capitalised names are joined
    assert tokens(spacy_input, "The triangle is above the red square.") == [
        ("the", "triangle", "be", "above", "the", "red", "square")]
    assert tokens(spacy_input, "What is the garden east of?") == [("what", "be", "the", "garden", "east", "of")]
    assert tokens(spacy_input, "John picked up the red apple.")[0][-2:] == ("red", "apple")


def test_answer_form_names_multi_word_answers_as_i_does():
    assert answer_form("New York") == answer_form("new york") == answer_form("new_york") == "new_york"
    assert answer_form("Apple, Milk") == "apple,milk"


def test_names_that_are_also_modals_are_people(spacy_input):
    story = "Will went to the garden. May went to the kitchen. Will picked up the apple."
    # the names keep their capital: Φ must not read the person as the modal "will" it learned from bAbI
    assert tokens(spacy_input, story) == [("Will", "go", "to", "the", "garden"), ("May", "go", "to", "the", "kitchen"),
                                          ("Will", "pick", "up", "the", "apple")]
    assert tokens(spacy_input, "Where is Will?") == [("where", "be", "Will")]
    doc = spacy_input.nlp(story)
    assert [t.pos_ for t in doc if t.text in ("Will", "May")] == ["PROPN"] * 3
    assert not any(s.is_question for s in spacy_input(story))
    # a person, so "he" refers back to him and the shared subject of "and took" is his
    discourse = spacy_input.new_discourse()
    spacy_input("Will went to the garden.", discourse)
    assert spacy_input("He picked up the apple.", discourse)[0].resolved == "Will picked up the apple."
    assert [s.resolved for s in spacy_input("May is in the office and Will took the milk.")] == [
        "May is in the office", "Will took the milk."]


def test_an_opening_adverb_is_not_part_of_the_name_after_it(spacy_input):
    # the tagger calls "Afterwards" a proper noun compounded with "Zofia" when the sentence comes alone
    assert spacy_input.nlp("Afterwards Zofia cycled to the swimming pool.")[0].pos_ == "ADV"
    discourse = spacy_input.new_discourse()
    assert spacy_input("Afterwards Zofia cycled to the swimming pool.", discourse)[0].tokens == (
        "afterwards", "zofia", "cycle", "to", "the", "swimming_pool")
    # so the person is "Zofia", and a later "Zofia" is not rewritten to "Afterwards Zofia"
    assert spacy_input("Later Zofia went to the pharmacy.", discourse)[0].resolved == "Later Zofia went to the pharmacy."
    assert spacy_input("She bought aspirin there.", discourse)[0].resolved.startswith("Zofia bought aspirin")
    # a name that opens the sentence with a word that is more than an adverb stays whole
    assert tokens(spacy_input, "New York is big.") == [("new_york", "be", "big")]


def test_a_capitalised_noun_without_a_determiner_is_a_name(spacy_input):
    # the tagger calls both common nouns; a name is a person to coreference, a common noun a thing
    doc = spacy_input.nlp("Zofia met Tomasz at the library.")
    assert [t.pos_ for t in doc if t.text in ("Zofia", "Tomasz")] == ["PROPN", "PROPN"]
    # a word English has, opening the sentence, is left to the tagger
    assert spacy_input.nlp("Apples are red.")[0].pos_ == "NOUN"


def test_a_name_the_tagger_reads_as_a_plural_is_one_person(spacy_input):
    # the tagger reads "Ines" opening a sentence as the plural of "ine", and "Later Ines" as a plural
    # name: the same person was two words to O, and "she" could not mean her
    discourse = spacy_input.new_discourse()
    told = [s for text in ("My sister Ines drove to the station.", "She picked up a parcel there.",
                           "Later Ines went to the bakery.") for s in spacy_input(text, discourse)]
    assert [s.tokens[:3] for s in told] == [("my", "sister", "ines"), ("ines", "pick", "up"), ("later", "ines", "go")]
    assert told[1].resolved == "Ines picked up a parcel in the station."
    assert tokens(spacy_input, "Dolores went to the park.") == [("dolores", "go", "to", "the", "park")]
    # plurals stay plurals, and "they": words the lists have, words they lack that are no name, names that are words
    assert tokens(spacy_input, "Apples are red. Mice are afraid of cats.") == [("apple", "be", "red"), ("mouse", "be", "afraid", "of", "cat")]
    assert spacy_input("Americans went home. They were tired.")[1].resolved == "Americans were tired."
    assert [s.tokens[0] for s in spacy_input("Coworkers went to the kitchen. Apps are on the phone. Ants are small.")] == [
        "coworker", "app", "ant"]
    assert spacy_input("Coworkers went to the kitchen. They took the cake.")[1].resolved == "Coworkers took the cake."


def test_modals_stay_modals(spacy_input):
    assert spacy_input("Will you go to the park?")[0].is_question
    doc = spacy_input.nlp("Where will Sumit go?")
    assert doc[1].pos_ == "AUX"
    assert tokens(spacy_input, "Where will Sumit go?") == [("where", "will", "sumit", "go")]


def test_they_after_a_named_pair(spacy_input):
    out = spacy_input("John and Mary went to the kitchen. They picked up the milk.")
    assert out[1].resolved == "John and Mary picked up the milk."
    assert out[1].tokens == ("john", "and", "mary", "pick", "up", "the", "milk")


def test_an_and_list_of_objects_is_one_memory_per_object(spacy_input):
    assert tokens(spacy_input, "John picked up the apple, the milk and the football.") == [
        ("john", "pick", "up", "the", "apple"), ("john", "pick", "up", "the", "milk"),
        ("john", "pick", "up", "the", "football")]
    assert tokens(spacy_input, "They dropped the red pen and the coffee mug.")[-1][-2:] == ("coffee", "mug")
    # a list that is not the clause's object, or a question, stays whole
    assert len(tokens(spacy_input, "Julie is either in the school or the bedroom.")) == 1
    assert len(tokens(spacy_input, "Is John carrying the apple and the milk?")) == 1
    assert len(tokens(spacy_input, "John took the apple and the milk to the kitchen.")) == 1


def test_the_owner_of_a_subject_is_written_out_but_not_a_feature(spacy_input):
    """"Her brother Arjun went to the post office" is a fact about Arjun: the resolved text names
    Priya, Φ's words do not, so O does not take it for a fact about Priya."""
    *_, brother = spacy_input("Priya drove to the pharmacy. Her brother Arjun went to the post office.")
    assert brother.resolved == "Priya's brother Arjun went to the post office."
    assert brother.tokens == ("brother", "arjun", "go", "to", "the", "post_office")
    *_, keys = spacy_input("Mary went to the kitchen. Her keys are in the hall.")
    assert "mary" not in keys.tokens and keys.resolved == "Mary's keys are in the hall."
    # an owner outside the subject stays a feature: "Tom left his keys" is about Tom's keys
    (left,) = spacy_input("Tom left his keys at home.")
    assert left.tokens[:4] == ("tom", "leave", "tom", "key")


def test_a_numbered_place_is_one_word(spacy_input):
    """"room 4" as one word, as "living room" is, so R can answer it whole (it answered "room")."""
    assert tokens(spacy_input, "Omar took the contracts to room 4.") == [("omar", "take", "the", "contract", "to", "room_4")]
    assert tokens(spacy_input, "Is Omar in room 4?")[0][-1] == "room_4"
    assert tokens(spacy_input, "The train leaves from platform 9.")[0][-1] == "platform_9"
    assert tokens(spacy_input, "John bought 3 apples.") == [("john", "buy", "3", "apple")]
    assert tokens(spacy_input, "Mary went to the office at 5.")[0][-2:] == ("at", "5")


def test_a_title_with_or_without_its_full_stop_is_the_same_name(spacy_input):
    assert tokens(spacy_input, "Mrs. Patel went to gate 7.") == [("mrs_patel", "go", "to", "gate_7")]
    assert tokens(spacy_input, "Where is Mrs Patel?")[0][-1] == tokens(spacy_input, "Where is Mrs. Patel?")[0][-1] == "mrs_patel"
