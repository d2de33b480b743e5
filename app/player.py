"""The story player: a story as a list of steps (statements and questions with their expected
answers), played one step at a time into a conversation, with the model's answers checked.

Plain data and functions; the app's handlers (`app.demo`) feed each step to the chat turn and
record what the model did. A story comes from a bAbI-format file (bundled in assets/stories or
uploaded; answers and supporting facts from the file), a plain-text example (no answers), or
the simulated world of `memnet.data.world` (paper §5.2) drawn fresh from a seed.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from memnet.data import babi, world
from memnet.features import answer_form
from memnet.input.clean import prepare

SETTINGS = ("actor", "actor+object", "actor w/o before")   # the simulated world's settings on offer
SIMULATED_STATEMENTS, SIMULATED_QUESTIONS = 20, 8


@dataclass(frozen=True)
class Step:
    """One line of a story: a statement, or a question with its expected answer and the statements
    (0-based, in the file's order) that support it."""

    text: str
    is_question: bool = False
    expected: str | None = None          # None: the story does not say
    supports: tuple[int, ...] = ()


@dataclass
class Outcome:
    """A question as the player asked it: what the file expects and what the model(s) said."""

    question: str
    expected: str | None
    expected_slots: list[int]            # the slots the expected supporting statements went into
    answer: str
    picked: list[int]                    # the slots O picked, in hop order
    other: str | None = None             # side by side: the second model's answer (None: not compared)
    other_picked: list[int] = field(default_factory=list)
    support_groups: list[list[int]] = field(default_factory=list)   # the slots of each expected support

    @property
    def right(self) -> bool | None:
        return None if self.expected is None else answer_form(self.expected) == self.answer

    @property
    def supports_right(self) -> bool | None:
        """Whether O picked every expected supporting statement (any one of the slots it was stored
        in), the facts the paper trains O to pick (§3.1, fully supervised); None: no supports given."""
        return self._found(self.picked)

    @property
    def other_supports_right(self) -> bool | None:
        return None if self.other is None else self._found(self.other_picked)

    def _found(self, picked: list[int]) -> bool | None:
        return all(set(group) & set(picked) for group in self.support_groups) if self.support_groups else None

    @property
    def other_right(self) -> bool | None:
        return None if self.expected is None or self.other is None else answer_form(self.expected) == self.other


@dataclass
class Play:
    """A story being played: its steps, how far it got, and what happened so far."""

    title: str
    steps: list[Step]
    position: int = 0
    statement_slots: list[list[int]] = field(default_factory=list)   # slots written for each statement so far
    outcomes: list[Outcome] = field(default_factory=list)
    last_slots: list[int] = field(default_factory=list)              # the slots the last step wrote (highlighted)

    @property
    def done(self) -> bool:
        return self.position >= len(self.steps)

    @property
    def next_step(self) -> Step | None:
        return None if self.done else self.steps[self.position]

    def accuracy(self, other: bool = False) -> tuple[int, int]:
        """(right, checked) over the questions answered so far that have an expected answer."""
        marks = [o.other_right if other else o.right for o in self.outcomes]
        marks = [m for m in marks if m is not None]
        return sum(marks), len(marks)

    def restart(self) -> "Play":
        return Play(self.title, self.steps)


def stored(play: Play, slots: list[int]) -> None:
    """The current step, a statement, went into `slots`; move on."""
    step = play.steps[play.position]
    if step.is_question:
        raise ValueError("the current step is a question, not a statement")
    play.statement_slots.append(list(slots))
    play.last_slots = list(slots)
    play.position += 1


def answered(play: Play, answer: str, picked: list[int], other: str | None = None,
             other_picked: list[int] | None = None) -> Outcome:
    """The current step, a question, was answered `answer` with supports `picked` (and, side by
    side, `other` with `other_picked`); records and returns the outcome, and moves on."""
    step = play.steps[play.position]
    if not step.is_question:
        raise ValueError("the current step is a statement, not a question")
    groups = [list(play.statement_slots[line]) for line in step.supports if line < len(play.statement_slots)]
    outcome = Outcome(step.text, step.expected, [s for group in groups for s in group], answer, list(picked), other,
                      list(other_picked or []), groups)
    play.outcomes.append(outcome)
    play.last_slots = []
    play.position += 1
    return outcome


def from_babi(story: babi.Story, title: str) -> Play:
    """A bAbI story's statements and questions in file order."""
    steps: list[Step] = []
    told = 0
    for question in story.questions:
        steps += [Step(text) for text in story.statements[told:question.n_statements]]
        told = max(told, question.n_statements)
        steps.append(Step(question.text, True, question.answer, question.supports))
    steps += [Step(text) for text in story.statements[told:]]
    return Play(title, steps)


def from_text(text: str, title: str) -> Play:
    """Plain text, sentence by sentence; a sentence ending in '?' is a question without an expected answer."""
    sentences = [unit.text for unit in prepare(text).units]   # I's sentences; refused ones are named when played
    if not sentences:
        raise ValueError(f"{title}: no sentences to play")
    return Play(title, [Step(s, s.endswith("?")) for s in sentences])


def read_file(path: str | Path, number: int = 1, title: str | None = None) -> Play:
    """Story `number` (1-based) of a bAbI-format file; a file that is not bAbI format is played as
    plain text. Raises ValueError (a `BabiFormatError` naming the file's name, not its folder, and
    the line) for a bad file or number."""
    path = Path(path)
    title = title or path.stem
    text = path.read_text(encoding="utf-8")
    if not re.match(r"\s*1\s", text):
        return from_text(text, title)
    try:
        stories = babi.read_stories(path)
    except babi.BabiFormatError as error:   # name the file, not where it lies (an upload's temp folder)
        raise babi.BabiFormatError(str(error).replace(str(path), path.name, 1)) from None
    if not 1 <= number <= len(stories):
        raise ValueError(f"{title} has {len(stories)} stor{'y' if len(stories) == 1 else 'ies'}; there is no story {number}")
    return from_babi(stories[number - 1], title if len(stories) == 1 else f"{title}, story {number} of {len(stories)}")


def simulate(seed: int, setting: str = "actor+object", difficulty: int = 5) -> Play:
    """A fresh story of the simulated world (paper §5.2, appendix A): 20 statements and 8 questions,
    the entity asked about mentioned at most `difficulty` statements before. Raises ValueError for
    an unknown setting or a difficulty below 1."""
    if setting not in SETTINGS:
        raise ValueError(f"unknown setting {setting!r}: choose one of {', '.join(SETTINGS)}")
    config = world.setting_config(setting, difficulty=int(difficulty), story_length=SIMULATED_STATEMENTS)
    (story,) = world.generate(config, SIMULATED_STATEMENTS, SIMULATED_QUESTIONS, random.Random(int(seed)))
    statement_of: dict[int, int] = {}    # the story's 1-based line id -> statement number
    steps: list[Step] = []
    for line_id, line in enumerate(story, 1):
        if isinstance(line, world.Question):
            steps.append(Step(line.text, True, line.answer, tuple(statement_of[s] for s in line.support)))
        else:
            statement_of[line_id] = len(statement_of)
            steps.append(Step(line.text))
    return Play(f"simulated world ({setting}, difficulty {difficulty}, seed {seed})", steps)


def bundled(*folders: Path) -> dict[str, Path]:
    """The stories on offer by name: the .txt files of `folders` (bAbI format or plain text)."""
    return {path.stem.replace("-", " "): path for folder in folders for path in sorted(Path(folder).glob("*.txt"))}
