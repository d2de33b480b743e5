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


def parse_stories(stories: Sequence[Story], input_map: InputMap, progress: bool = False, desc: str = "I") -> list[ParsedStory]:
    """Run every statement and question through I, keeping the support labels aligned.

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
            questions.append((sentences[0], n_memories, resolved_supports(memory, sentences[0], supports, answer), answer))
        parsed.append(ParsedStory(memory, questions))
    return parsed


def build_vocabulary(stories: Iterable[ParsedStory], min_count: int = 1) -> Vocabulary:
    """W of the training stories (see `Vocabulary.build` for `min_count`)."""
    stories = list(stories)
    tokens = [s.tokens for story in stories for s in story.memory]
    tokens += [q.tokens for story in stories for q, *_ in story.questions]
    answers = [answer for story in stories for *_, answer in story.questions]
    return Vocabulary.build(tokens, answers, min_count)


def make_examples(stories: Iterable[ParsedStory], vocab: Vocabulary) -> list[Example]:
    examples = []
    for story in stories:
        memory = Encoded.of(vocab, story.memory)
        for question, n_memories, supports, answer in story.questions:
            examples.append(Example(memory, n_memories, Encoded.of(vocab, [question]), supports, answer))
    return examples


def resolved_supports(memory: Sequence[Sentence], question: Sentence, supports: tuple[int, ...],
                      answer: str) -> tuple[int, ...]:
    """The labelled supports less those that only named whom a later support's pronoun meant.

    bAbI's coreference tasks label "Daniel moved to the office" as the first support of "Where is
    Daniel?" beside "Afterwards he moved to the hallway": the raw second line names no one. Once I
    has resolved it ("Afterwards Daniel moved to the hallway"), the first line adds nothing, and
    keeping it teaches O's first hop to pass over a fact that opens with "afterwards" or "then"
    for the older one (which then loses "Then Sam went home" in a conversation). A support j is
    left out when a later support was rewritten by I with words all typed in j (j is where the
    pronoun's referent was named), j holds no word of the answer, and every word j shares with the
    question the rewritten support holds too. "They picked up the milk" keeps "John and Mary went to
    the kitchen" for "Where is the milk?" (the answer is there), and "Then he went to the kitchen"
    keeps "John picked up the milk" (it alone holds "milk").
    """
    answer_words = set(answer.split(","))
    dropped = set()
    for later in supports:
        sentence = memory[later]
        inserted = set(simple_tokens(sentence.resolved)) - set(simple_tokens(sentence.text)) - {"and"}
        if not inserted:
            continue
        for earlier in supports:
            words = set(memory[earlier].tokens)
            if (earlier < later and inserted <= set(simple_tokens(memory[earlier].text)) and not answer_words & words
                    and words & set(question.tokens) <= set(sentence.tokens)):
                dropped.add(earlier)
    return tuple(s for s in supports if s not in dropped) or supports
