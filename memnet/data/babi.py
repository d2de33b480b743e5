"""Reader for the bAbI format (Weston et al. 2015, arXiv 1502.05698).

A file is a run of stories; line numbers restart at 1 for each story. A statement line is
``<id> <text>``; a question line is ``<id> <question>\\t<answer>\\t<support ids>``. Supporting
ids point at earlier lines of the same story. An answer that is a list (task 8) or a path
(task 19) is written "apple,football" or "n,w" (how answers written otherwise are scored is
`memnet.evaluate.same_answer`'s). A byte-order mark at the start of a file is ignored. Files are named
like v1.0-1.1's ``qa1_single-supporting-fact_train.txt`` or v1.2 en-valid's ``qa1_train.txt``,
``qa1_valid.txt``, ``qa1_test.txt``. Every problem is reported as a `BabiFormatError` naming the
file and line, so a user with a broken file (or a dialog-bAbI file) knows where to look.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

TASK_FILE = re.compile(r"^(qa(\d+)(?:_[\w-]+?)?)_(train|valid|test)\.txt$")
SET_ANSWER_TASKS = frozenset({8})  # "lists/sets": what someone carries, in no order (task 19's paths keep theirs)


class BabiFormatError(ValueError):
    """A bAbI file is missing or malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Question:
    text: str
    answer: str                 # as the dataset writes it: "kitchen", "apple,football", "n,w"
    supports: tuple[int, ...]   # indices into the story's statements, in the dataset's order
    n_statements: int           # statements written before the question (its memory)


@dataclass
class Story:
    statements: list[str] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


@dataclass
class Task:
    name: str                   # file stem without _train/_valid/_test, e.g. "qa1_single-supporting-fact" or "qa1"
    train: list[Story] = field(default_factory=list)
    test: list[Story] = field(default_factory=list)
    valid: list[Story] = field(default_factory=list)

    @property
    def number(self) -> int | None:
        match = TASK_FILE.match(self.name + "_test.txt")
        return int(match.group(2)) if match else None

    @property
    def answers_are_sets(self) -> bool:
        """Whether a list answer is a set (task 8: order does not matter) rather than a sequence."""
        return self.number in SET_ANSWER_TASKS


def read_stories(path: str | Path) -> list[Story]:
    """Parse one bAbI-format file into stories."""
    path = Path(path)
    if not path.is_file():
        raise BabiFormatError(f"{path}: no such bAbI file")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # -sig: a byte-order mark is no part of line 1
    except UnicodeDecodeError as error:
        raise BabiFormatError(f"{path}: not UTF-8 text ({error})") from None
    stories: list[Story] = []
    line_to_statement: dict[int, int] = {}
    expected = 1
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        where = f"{path}:{lineno}"
        head, _, rest = raw.strip().partition(" ")
        if not head.isdigit() or not rest.strip():
            raise BabiFormatError(f"{where}: expected '<number> <text>', got {raw!r}")
        number = int(head)
        if number == 1:
            stories.append(Story())
            line_to_statement = {}
        elif not stories or number != expected:
            raise BabiFormatError(f"{where}: line number {number} out of order (expected {expected} or 1)")
        expected = number + 1
        story = stories[-1]
        if "\t" not in rest:
            line_to_statement[number] = len(story.statements)
            story.statements.append(rest.strip())
            continue
        fields = rest.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise BabiFormatError(f"{where}: a question line needs '<question>\\t<answer>[\\t<support ids>]'")
        if is_dialog_turn(fields):
            raise BabiFormatError(f"{where}: this looks like dialog bAbI (a user turn, a tab, the bot's reply), "
                                  f"not a bAbI question line; memnet reads the question-answering tasks")
        supports = []
        for token in (fields[2].split() if len(fields) > 2 else []):
            if not token.isdigit() or int(token) not in line_to_statement:
                raise BabiFormatError(f"{where}: supporting fact {token!r} is not an earlier statement of this story")
            supports.append(line_to_statement[int(token)])
        story.questions.append(
            Question(fields[0].strip(), fields[1].strip(), tuple(supports), len(story.statements))
        )
    if not stories:
        raise BabiFormatError(f"{path}: no stories found")
    return stories


def is_dialog_turn(fields: list[str]) -> bool:
    """A dialog-bAbI turn: no supporting facts, a user turn that is no question, a reply of several words."""
    no_supports = len(fields) < 3 or not fields[2].strip()
    user, reply = fields[0].strip(), fields[1].strip()
    return no_supports and not user.endswith("?") and len(reply.split()) > 2 and "," not in reply


def load_tasks(path: str | Path, tasks: set[int] | None = None) -> list[Task]:
    """All tasks under a directory (or one file), paired by name into train, valid and test.

    Files named like the official ones (``qa3_..._train.txt``, or v1.2's ``qa3_valid.txt``) are
    grouped by task; any other ``*.txt`` file becomes a test-only task of its own name, so
    `eval` works on any bAbI-format file. `tasks` keeps only the official task numbers listed.
    """
    path = Path(path)
    if not path.exists():
        raise BabiFormatError(f"{path}: no such file or directory")
    files = [path] if path.is_file() else sorted(path.glob("*.txt"))
    if not files:
        raise BabiFormatError(f"{path}: no .txt bAbI files found")
    by_name: dict[str, Task] = {}
    for file in files:
        match = TASK_FILE.match(file.name)
        name, split = (match.group(1), match.group(3)) if match else (file.stem, "test")
        if tasks is not None and (match is None or int(match.group(2)) not in tasks):
            continue
        task = by_name.setdefault(name, Task(name))
        setattr(task, split, read_stories(file))
    if not by_name:
        raise BabiFormatError(f"{path}: none of the requested tasks {sorted(tasks or [])} found")
    return sorted(by_name.values(), key=lambda t: (t.number or 10**6, t.name))


def parse_task_range(spec: str) -> set[int] | None:
    """'1-20', '1,2,5', '3' -> task numbers; 'all' -> None (no filter)."""
    if spec.strip().lower() == "all":
        return None
    numbers: set[int] = set()
    for part in spec.split(","):
        part = part.strip()
        try:
            if "-" in part:
                low, high = (int(x) for x in part.split("-", 1))
                numbers.update(range(low, high + 1))
            else:
                numbers.add(int(part))
        except ValueError:
            raise ValueError(f"bad task list {spec!r}: use forms like '1-20' or '1,2,5'") from None
    return numbers
