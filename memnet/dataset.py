"""bAbI-format stories turned into `Example`s by the input map I, the way the live app does it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from tqdm.auto import tqdm

from memnet.batch import Encoded, Example
from memnet.data.babi import Story
from memnet.features import Vocabulary, answer_form
from memnet.input.sentence import InputMap, Sentence


@dataclass
class ParsedStory:
    """A story after I: its memory slots, and for each question its sentence and labels."""

    memory: list[Sentence]
    questions: list[tuple[Sentence, int, tuple[int, ...], str]]  # (question, n_memories, support slots, answer_form)
    sets: bool = False   # its list answers are sets (bAbI 8's "apple,milk"), not sequences (19's "n,w")


def parse_stories(stories: Sequence[Story], input_map: InputMap, progress: bool = False, desc: str = "I",
                  sets: bool = False) -> list[ParsedStory]:
    """Run every statement and question through I, keeping the support labels aligned. `sets`: the
    stories' list answers are sets (`Task.answers_are_sets`), which R with `set_answers` answers
    item by item.

    A statement line may become several slots (clause splitting): a label naming that line
    then names all of its slots.
    """
    parsed = []
    for story in tqdm(stories, desc=desc, disable=not progress, leave=False):
        discourse = input_map.new_discourse()
        per_line = input_map.pipe(story.statements, discourse)
        memory: list[Sentence] = []
        line_slots: list[list[int]] = []
        for sentences in per_line:
            line_slots.append(list(range(len(memory), len(memory) + len(sentences))))
            memory.extend(sentences)
        end_of_line = [slots[-1] + 1 if slots else 0 for slots in line_slots]
        questions = []
        for question in story.questions:
            sentences = input_map(question.text, discourse) or [Sentence(question.text, question.text, (), True)]
            n_memories = max(end_of_line[: question.n_statements], default=0)
            supports = tuple(slot for line in question.supports for slot in line_slots[line])
            questions.append((sentences[0], n_memories, supports, answer_form(question.answer)))
        parsed.append(ParsedStory(memory, questions, sets))
    return parsed


def build_vocabulary(stories: Iterable[ParsedStory], min_count: int = 1, set_answers: bool = False) -> Vocabulary:
    """W of the training stories (see `Vocabulary.build` for `min_count`). With `set_answers`, a list
    answer of stories whose lists are sets adds its item words, not a phrase."""
    stories = list(stories)
    tokens = [s.tokens for story in stories for s in story.memory]
    tokens += [q.tokens for story in stories for q, *_ in story.questions]
    answers = [item for story in stories for *_, answer in story.questions
               for item in (answer.split(",") if set_answers and story.sets else [answer])]
    return Vocabulary.build(tokens, answers, min_count)


def make_examples(stories: Iterable[ParsedStory], vocab: Vocabulary) -> list[Example]:
    examples = []
    for story in stories:
        memory = Encoded.of(vocab, story.memory)
        for question, n_memories, supports, answer in story.questions:
            examples.append(Example(memory, n_memories, Encoded.of(vocab, [question]), supports, answer, story.sets))
    return examples
