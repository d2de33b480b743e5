"""Stories through I into training examples: the support labels after coreference (`resolved_supports`)."""
import pytest

from memnet.data.babi import Question, Story, load_tasks
from memnet.dataset import parse_stories
from tests.helpers import BABI_EN


def story(lines: list[str], question: str, answer: str, supports: tuple[int, ...]) -> Story:
    return Story(statements=lines, questions=[Question(question, answer, supports, len(lines))])


@pytest.mark.parametrize("lines,question,answer,labelled,kept", [
    # the first line only named whom "he" / "they" meant: once resolved, the second line says it all
    (["Daniel moved to the office.", "Afterwards he moved to the hallway."], "Where is Daniel?", "hallway", (0, 1), (1,)),
    (["Daniel and Sandra went to the kitchen.", "Then they went to the garden."], "Where is Sandra?", "garden", (0, 1), (1,)),
    # the referent's line holds the answer: kept
    (["John and Mary went to the kitchen.", "They picked up the milk."], "Where is the milk?", "kitchen", (1, 0), (1, 0)),
    # the referent's line alone holds a word of the question ("milk"): kept
    (["John picked up the milk.", "Then he went to the kitchen."], "Where is the milk?", "kitchen", (0, 1), (0, 1)),
    # "there" resolved in both lines: the pick-up line is not where "there" was named, and is needed
    (["John went to the office.", "John got the apple there.", "John put down the apple there."],
     "What is John carrying?", "nothing", (1, 2), (1, 2)),
])
def test_supports_that_only_named_a_referent_are_left_out(spacy_input, lines, question, answer, labelled, kept):
    (parsed,) = parse_stories([story(lines, question, answer, labelled)], spacy_input)
    assert parsed.questions[0][2] == kept, [m.resolved for m in parsed.memory]


def test_without_coreference_the_labels_stay(spacy_input):
    """The simple I resolves nothing, so bAbI's labels are kept as written; on task 11 the spaCy I
    leaves one support per question, the resolved line that holds the answer."""
    from memnet.input.sentence import SimpleInput

    (task,) = load_tasks(BABI_EN, {11})
    stories = task.test[:10]
    labelled = [q.supports for s in stories for q in s.questions]
    simple = [q[2] for p in parse_stories(stories, SimpleInput()) for q in p.questions]
    assert simple == labelled and all(len(s) == 2 for s in labelled)
    for parsed in parse_stories(stories, spacy_input):
        for _, _, supports, answer in parsed.questions:
            assert len(supports) == 1 and answer in parsed.memory[supports[0]].tokens
