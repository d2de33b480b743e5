import pytest

from memnet.data.babi import BabiFormatError, load_tasks, parse_task_range, read_stories
from tests.helpers import BABI_EN, REPO

QUIRKS = REPO / "tests" / "fixtures" / "quirks_test.txt"


def test_reader_handles_the_format_quirks():
    first, second = read_stories(QUIRKS)
    assert first.statements == ["Mary moved to the bathroom.", "John went to the hallway.", "Daniel picked up the apple."]
    where, carrying = first.questions
    assert (where.text, where.answer, where.supports, where.n_statements) == ("Where is Mary?", "bathroom", (0,), 2)
    assert (carrying.answer, carrying.supports, carrying.n_statements) == ("apple,football", (2,), 3)
    path, nothing = second.questions
    assert path.answer == "n,w" and path.supports == (0,)
    assert nothing.answer == "nothing" and nothing.supports == ()


@pytest.mark.parametrize("content, message", [
    ("1 John went home.\n3 Where is John?\thome\t1\n", "out of order"),
    ("1 John went home.\n2 Where is John?\thome\t5\n", "supporting fact '5'"),
    ("John went home.\n", "expected '<number> <text>'"),
    ("1 Where is John?\t\t1\n", "question line"),
])
def test_malformed_files_name_file_and_line(tmp_path, content, message):
    bad = tmp_path / "bad_test.txt"
    bad.write_text(content)
    with pytest.raises(BabiFormatError, match=message) as error:
        read_stories(bad)
    assert str(bad) in str(error.value)


def test_missing_paths_are_clear_errors(tmp_path):
    with pytest.raises(BabiFormatError, match="no such"):
        load_tasks(tmp_path / "nowhere")
    with pytest.raises(BabiFormatError, match="no .txt"):
        load_tasks(tmp_path)


def test_official_tasks_pair_train_and_test():
    tasks = load_tasks(BABI_EN, {1, 19})
    assert [t.number for t in tasks] == [1, 19]
    assert all(len(t.train) and len(t.test) for t in tasks)
    assert sum(len(s.questions) for s in tasks[0].test) == 1000


def test_any_file_becomes_a_test_task():
    (task,) = load_tasks(QUIRKS)
    assert task.name == "quirks_test" and len(task.test) == 2 and not task.train


def test_task_ranges():
    assert parse_task_range("1-3,7") == {1, 2, 3, 7}
    with pytest.raises(ValueError):
        parse_task_range("one")


def test_a_byte_order_mark_is_no_part_of_the_first_line(tmp_path):
    path = tmp_path / "bom_test.txt"
    path.write_text("1 John travelled to the hallway.\n2 Where is John?\thallway\t1\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    (story,) = read_stories(path)
    assert story.statements == ["John travelled to the hallway."] and story.questions[0].supports == (0,)


def test_v1_2_en_valid_names_pair_train_valid_and_test(tmp_path):
    story = "1 Mary went to the kitchen.\n2 Where is Mary?\tkitchen\t1\n"
    for name, copies in [("qa1_train.txt", 3), ("qa1_valid.txt", 2), ("qa1_test.txt", 1), ("qa2_test.txt", 1)]:
        (tmp_path / name).write_text(story * copies)
    (task,) = load_tasks(tmp_path, {1})
    assert (task.name, task.number) == ("qa1", 1)
    assert (len(task.train), len(task.valid), len(task.test)) == (3, 2, 1)
    assert [t.name for t in load_tasks(tmp_path)] == ["qa1", "qa2"]


def test_a_dialog_babi_file_is_a_clear_error(tmp_path):
    dialog = tmp_path / "dialog-babi-task1-API-calls-tst.txt"
    dialog.write_text("1 hi\thello what can i help you with today\n2 can you book a table\ti'm on it\n")
    with pytest.raises(BabiFormatError, match="dialog bAbI") as error:
        read_stories(dialog)
    assert str(error.value).startswith(f"{dialog}:1: ") and "\n" not in str(error.value)


def test_task_8_answers_are_sets_and_task_19_answers_are_sequences():
    assert [t.answers_are_sets for t in load_tasks(BABI_EN, {8, 19})] == [True, False]
