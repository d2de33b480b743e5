"""Issue 12's "inputs that fail today", on the bundled model: each through the API
(`MemoryNetwork.load()` -> tell -> ask) and one of each kind through the app's chat handler."""
import pytest

from memnet.features import answer_form
from memnet.network import MemoryNetwork

UNRELATED = "John went to the kitchen. Brian is a lion. Greg is green."
MORE_UNRELATED = UNRELATED + " Mary went to the garden. Lily is a frog. Bernhard is yellow. Sheep are afraid of mice."
KETTLE = ("Anika picked up the kettle. Anika went to the lobby. Anika travelled to the greenhouse. "
          "Anika dropped the kettle. Yusuf went to the lobby.")

INES = "My sister Ines drove to the station this morning. She picked up a parcel there. Later Ines went to the bakery."

# Not yet answered right by the bundled model (bench/results/conversations.md has the whole picture):
# strict, so a retrained model that gets one right fails here until it is moved back among the passing.
NOT_YET = "not met by the bundled model yet (issue 12)"


def not_yet(*case):
    return pytest.param(*case, marks=pytest.mark.xfail(strict=True, reason=NOT_YET))


CASES = [
    # unrelated statements in the same memory
    (UNRELATED, "Where is John?", "kitchen"),
    (MORE_UNRELATED, "Where is John?", "kitchen"),
    not_yet(MORE_UNRELATED, "What is Lily?", "frog"),
    # ... and other people's doings after the facts asked about (O's word hashing, `word_hashing`)
    ("Sandra travelled to the bedroom. Then she moved to the hallway. Bernhard is a lion. Bernhard is green.",
     "Where is Sandra?", "hallway"),
    ("Mary travelled to the hallway. Afterwards she went to the bathroom. Lily travelled to the cinema. Jason went "
     "to the park. Lily is a frog. Jason is white. Bernhard is a lion. Bernhard is green.", "Where is Mary?", "bathroom"),
    # words never seen in training
    (KETTLE, "Where was the kettle before the greenhouse?", "lobby"),
    (KETTLE, "Where is Anika?", "greenhouse"),
    not_yet("Wolfgang went to the observatory. Wolfgang went to the cellar.", "Is Wolfgang in the observatory?", "no"),
    ("Yusuf took the stapler. Yusuf took the kettle. Yusuf dropped the stapler.", "What is Yusuf carrying?", "kettle"),
    ("Ravi is in the garage. Ravi is holding the torch.", "Where is Ravi?", "garage"),
    ("Ravi is in the garage. Ravi is holding the torch.", "Where is the torch?", "garage"),
    # everyday phrasing
    ("John is in the kitchen.", "Where is John?", "kitchen"),
    ("Mary's in the garden.", "Where is Mary?", "garden"),
    ("John and Mary went to the kitchen. They picked up the milk.", "Where is Mary?", "kitchen"),
    ("John went to the kitchen. John did not go to the garden.", "Where is John?", "kitchen"),
    ("John picked up the apple, the milk and the football.", "What is John carrying?", "apple,milk,football"),
    not_yet("John picked up the apple, the milk and the football. John dropped the milk.", "What is John carrying?",
     "apple,football"),
    ("Sam went to the gym. Afterwards Sam went home.", "Where is Sam?", "home"),
    ("Mary moved to New York.", "Where is Mary?", "New York"),
    ("John went to the living room.", "Where is John?", "living room"),
    ("Will went to the garden. May went to the kitchen. Will picked up the apple.", "Where is the apple?", "garden"),
    # questions the memory cannot answer
    ("John went to the kitchen.", "Where is Mary?", "unknown"),
    ("John went to the kitchen.", "Where is the piano?", "unknown"),
]


# our own: a fact about someone's relative is not a fact about them (I writes the owner out of Φ)
OWN = [
    ("Priya drove to the pharmacy. Then she went to the bakery. Her brother Arjun went to the post office.",
     "Where is Priya?", "bakery"),
    ("Kate went to the living room. Her husband Oliver went to the garage. Kate went to the kitchen.",
     "Where was Kate before the kitchen?", "living room"),
    ("Mary went to the kitchen. Her keys are in the hall.", "Where are the keys?", "hall"),
    # a name the tagger reads as a plural ("Ines" as the plural of "ine") is still one person to O
    ("Ines drove to the station. Later Ines went to the bakery.", "Where is Ines?", "bakery"),
    (INES, "Where is Ines?", "bakery"),
    # ... and hop 2 takes her newer move, though the older shares "station" with the pick-up I rewrote "there" into
    (INES, "Where is the parcel?", "bakery"),
    ("Dolores went to the park. She took the kite. Then she walked to the library.", "Where is Dolores?", "library"),
    ("Dolores went to the park. She took the kite. Then she walked to the library.", "Where is the kite?", "library"),
    # and a numbered place is one word (the bundled "plain english office" example answered "room")
    ("The meeting with the suppliers is in room 4. Omar brought the contracts to the reception. Omar took the "
     "contracts to room 4.", "Where are the contracts?", "room 4"),
]


@pytest.fixture(scope="module")
def net():
    return MemoryNetwork.load()


def same_answer(got: str, expected: str) -> bool:
    """Lists compare as sets: "apple,football" and "football,apple" name the same things."""
    want = answer_form(expected)
    return got == want or ("," in want and set(got.split(",")) == set(want.split(",")))


def case_id(case) -> str:
    story, question, expected = case.values if hasattr(case, "values") else case
    return f"{question} ({expected})"


@pytest.mark.parametrize("story,question,expected", CASES + OWN, ids=[case_id(c) for c in CASES + OWN])
def test_issue_inputs_through_the_api(net, story, question, expected):
    conversation = net.conversation()
    conversation.tell(story)
    answer = conversation.ask(question)
    assert same_answer(answer.answer, expected), (answer.answer, answer.ranking, [h.text for h in answer.hops])


def test_unknown_is_an_abstention_and_answerable_questions_are_not(net):
    conversation = net.conversation()
    conversation.tell("John went to the kitchen.")
    assert conversation.ask("Where is Mary?").abstained
    assert not conversation.ask("Where is John?").abstained


APP_CASES = [(UNRELATED, "Where is John?", "kitchen"), (KETTLE, "Where is Anika?", "greenhouse"),
             ("John went to the kitchen. John did not go to the garden.", "Where is John?", "kitchen"),
             ("Mary moved to New York.", "Where is Mary?", "New York")]   # shown as the facts spell it, not new_york


def test_app_chat_turn_on_the_bundled_model(tmp_path):
    """One input of each kind through app/handlers.chat_turn; "unknown" reads "I don't know"."""
    from app import handlers
    from memnet import checkpoint
    from tests.app_fixtures import make_context

    context = make_context(checkpoint.DEFAULT_MODEL, tmp_path / "data")
    for story, question, expected in APP_CASES:
        session = handlers.open_session(context, None)
        list(handlers.chat_turn(context, session.key, story, None))
        reply = list(handlers.chat_turn(context, session.key, question, None))[-1]
        assert reply.startswith(f"<strong>{expected}</strong>"), reply
    session = handlers.open_session(context, None)
    list(handlers.chat_turn(context, session.key, "John went to the kitchen.", None))
    reply = list(handlers.chat_turn(context, session.key, "Where is Mary?", None))[-1]
    # the bundled model searches with word hashing from hop 1: no memory shares a word with the question,
    # so O picks none and the reply names no fact
    assert reply.startswith("<strong>I don’t know.</strong>") and "the memory does not say" in reply, reply
    assert "looked at" not in reply and "John went to the kitchen." not in reply, reply
    assert session.last_answer.abstained and all(hop.slot is None for hop in session.last_answer.hops)
