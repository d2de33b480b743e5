"""The scorer: answers compared as the dataset means them (lists as sets in task 8, paths as sequences)."""
from memnet.data.babi import Question, Story
from memnet.dataset import parse_stories
from memnet.evaluate import evaluate, same_answer
from memnet.features import answer_form
from memnet.input.sentence import SimpleInput


def test_list_and_path_answers_written_with_spaces_score_as_the_comma_form():
    assert same_answer("apple,football", "apple football")
    assert same_answer("apple,football", "apple, football")
    assert same_answer("s,s", "s s")
    assert same_answer("Kitchen", "kitchen ")
    assert same_answer("apple,football", answer_form("apple football"))  # as parse_stories hands it over
    assert same_answer("new_york", "New York") and same_answer("living_room,apple", "living room, apple")
    assert not same_answer("apple", "apple football")


def test_lists_are_sets_only_where_the_task_says_so():
    assert same_answer("football,apple", "apple football", sets=True)      # task 8: what someone carries
    assert not same_answer("football,apple", "apple football")             # task 19: a path's order matters
    assert not same_answer("n,w", "w,n") and same_answer("n,w", "n w")
    assert not same_answer("apple,apple", "apple", sets=True)


def test_evaluate_scores_with_same_answer(task1_model):
    story = Story(["Mary went to the garden.", "John went to the hallway."],
                  [Question("Where is Mary?", "garden", (0,), 2), Question("Where is John?", "Hallway ", (1,), 2)])
    assert evaluate(task1_model, parse_stories([story], SimpleInput())).accuracy == 1.0
    story.questions[1] = Question("Where is John?", "garden", (1,), 2)
    assert evaluate(task1_model, parse_stories([story], SimpleInput())).accuracy == 0.5
