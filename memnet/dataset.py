"""bAbI-format stories turned into `Example`s by the input map I, the way the live app does it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from tqdm.auto import tqdm

from memnet.batch import Encoded, Example
from memnet.data.babi import Story
from memnet.features import Vocabulary, answer_form
from memnet.input.sentence import InputMap, Sentence, simple_tokens


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
            answer = answer_form(question.answer)
            questions.append((sentences[0], n_memories, hop_order(memory, sentences[0], supports, answer), answer))
        parsed.append(ParsedStory(memory, questions, sets))
    return parsed


def hop_order(memory: Sequence[Sentence], question: Sentence, supports: tuple[int, ...], answer: str) -> tuple[int, ...]:
    """The labelled supports in the order O's hops are taught to find them: as labelled, but a support
    that only named whom a later support's pronoun meant comes right after that support.

    bAbI's coreference tasks label "Daniel moved to the office" first and "Afterwards he moved to
    the hallway" second for "Where is Daniel?": the raw second line names no one. Once I has
    resolved it ("Afterwards Daniel moved to the hallway"), that order would teach O's first hop to
    pass over the newest fact about Daniel when it opens with "afterwards" or "then", which loses
    "Then Sam went home" in a conversation (task 1 teaches the newest fact first). A support j
    follows the later support when that support was rewritten by I with words all typed in j (j is
    where the pronoun's referent was named), j holds no word of the answer, and every word j shares
    with the question the rewritten support holds too. Both stay labelled: what the supports are
    does not change, only which hop finds which (`evaluate` scores supports as a set).
    """
    answer_words = set(answer.split(","))
    order = list(supports)
    for later in supports:
        sentence = memory[later]
        inserted = set(simple_tokens(sentence.resolved)) - set(simple_tokens(sentence.text)) - {"and"}
        for earlier in supports if inserted else ():
            words = set(memory[earlier].tokens)
            if (earlier < later and order.index(earlier) < order.index(later)
                    and inserted <= set(simple_tokens(memory[earlier].text)) and not answer_words & words
                    and words & set(question.tokens) <= set(sentence.tokens)):
                order.remove(earlier)
                order.insert(order.index(later) + 1, earlier)
    return tuple(order)


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
