"""R that answers in a sentence (appendix F): a GRU reads [x, m_o1, m_o2], another writes.

The word-ranking R of §3.1 can only say "kitchen". Appendix F feeds the question and the
two supporting memories O found to a recurrent decoder, which writes "He is in the kitchen
I believe". Here an encoder GRU reads the three texts joined by a separator, and a decoder
GRU with dot attention over the encoder states writes the answer, so it can copy the room
from whichever memory holds it. Trained with teacher forcing on the gold supporting facts;
at test time it is fed the memories the MemNN's O picked.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch
from torch import nn

from memnet.input.sentence import simple_tokens

PAD, UNK, BOS, EOS, SEP = "<pad>", "<unk>", "<bos>", "<eos>", "<sep>"


@dataclass(frozen=True)
class SentenceExample:
    question: str
    memories: tuple[str, ...]  # m_o1, m_o2 as O found them (or the gold supporting facts)
    sentence: str = ""  # the target answer sentence, for training


def source_tokens(example: SentenceExample) -> list[str]:
    """[x, m_o1, m_o2] as one token sequence, the parts kept apart by a separator."""
    tokens = list(simple_tokens(example.question))
    for memory in example.memories:
        tokens += [SEP, *simple_tokens(memory)]
    return tokens


class SentenceDecoder(nn.Module):
    """GRU encoder-decoder with dot attention; `words` is its own small dictionary."""

    def __init__(self, words: Sequence[str], dim: int = 64):
        super().__init__()
        self.words = list(words)
        self.index = {w: i for i, w in enumerate(self.words)}
        self.embed = nn.Embedding(len(self.words), dim, padding_idx=0)
        self.encoder = nn.GRU(dim, dim, batch_first=True)
        self.decoder = nn.GRU(dim, dim, batch_first=True)
        self.out = nn.Linear(2 * dim, len(self.words))

    @classmethod
    def for_examples(cls, examples: Iterable[SentenceExample], dim: int = 64) -> "SentenceDecoder":
        vocab: dict[str, None] = {}
        for e in examples:
            vocab.update(dict.fromkeys(source_tokens(e) + list(simple_tokens(e.sentence))))
        return cls([PAD, UNK, BOS, EOS, SEP, *sorted(set(vocab) - {SEP})], dim)

    def ids(self, token_lists: Sequence[Sequence[str]]) -> torch.Tensor:
        width = max(len(t) for t in token_lists)
        rows = [[self.index.get(t, 1) for t in tokens] + [0] * (width - len(tokens)) for tokens in token_lists]
        return torch.tensor(rows, dtype=torch.long)

    def _step(self, inputs: torch.Tensor, state: torch.Tensor, memory: torch.Tensor, src: torch.Tensor):
        """Decode `inputs` (B, T) from `state`; attention over the encoder `memory` (B, S, dim)."""
        hidden, state = self.decoder(self.embed(inputs), state)
        attention = torch.bmm(hidden, memory.transpose(1, 2)).masked_fill((src == 0)[:, None, :], -1e9)
        context = torch.bmm(attention.softmax(-1), memory)
        return self.out(torch.cat([hidden, context], -1)), state

    def _encode(self, src: torch.Tensor):
        memory, state = self.encoder(self.embed(src))
        return memory, state

    def loss(self, src: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Teacher-forced cross-entropy; `target` rows are <bos> ... <eos> padded."""
        memory, state = self._encode(src)
        logits, _ = self._step(target[:, :-1], state, memory, src)
        return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target[:, 1:].reshape(-1),
                                           ignore_index=0)

    @torch.no_grad()
    def generate(self, examples: Sequence[SentenceExample], max_len: int = 16) -> list[str]:
        """Greedy decoding: one sentence per example."""
        src = self.ids([source_tokens(e) for e in examples])
        memory, state = self._encode(src)
        word = torch.full((len(examples), 1), self.index[BOS])
        out: list[list[str]] = [[] for _ in examples]
        done = [False] * len(examples)
        for _ in range(max_len):
            logits, state = self._step(word, state, memory, src)
            word = logits.argmax(-1)
            for b, w in enumerate(word[:, 0].tolist()):
                done[b] = done[b] or self.words[w] == EOS
                if not done[b]:
                    out[b].append(self.words[w])
            if all(done):
                break
        return [" ".join(tokens) for tokens in out]


def train_decoder(examples: Sequence[SentenceExample], epochs: int = 10, dim: int = 64, lr: float = 0.003,
                  batch_size: int = 32, seed: int = 0) -> SentenceDecoder:
    """Fit a `SentenceDecoder` to (question, supporting facts) -> answer sentence, with Adam."""
    torch.manual_seed(seed)
    model = SentenceDecoder.for_examples(examples, dim)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    order = list(range(len(examples)))
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = [examples[i] for i in order[start:start + batch_size]]
            src = model.ids([source_tokens(e) for e in batch])
            target = model.ids([[BOS, *simple_tokens(e.sentence), EOS] for e in batch])
            optimiser.zero_grad()
            model.loss(src, target).backward()
            optimiser.step()
    return model


def sentence_correct(sentence: str, answer: str, subject: str, pronoun: str, rooms: Iterable[str],
                     names: Iterable[str]) -> bool:
    """Table 6's metric: the right location must be there; a subject, if any, must be the right one.

    `names` are all actors and objects of the world; `pronoun` is the subject's ("he", "she", "it").
    """
    tokens = set(simple_tokens(sentence))
    if simple_tokens(answer)[0] not in tokens or any(r.lower() in tokens for r in rooms if r != answer):
        return False
    wrong_names = {n.lower() for n in names if n != subject}
    wrong_pronouns = {"he", "she", "it"} - {pronoun}
    return not tokens & (wrong_names | wrong_pronouns)
