"""Persistence of memories: a conversation log (`ConversationStore`) and whole-memory snapshots.

The log keeps many conversations and is the one source of truth for them: each turn appends
its slots, its chat lines and I's coreference state in one transaction, under a per-conversation
version, so any number of readers (tabs, processes, a restart) see every committed turn and
writers to one conversation are serialised. `SQLiteStore` is the embedded default.

Snapshots (`save` / `load`): a folder holds `slots.sqlite` (one row per live slot, plus the
clock and settings) and `columns.safetensors` (write times, messages, usage and word keys).
Loading reads the arrays in one go and the text in one query, so a million slots load in seconds.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from memnet.memory.slots import FREE, Memory, MemoryFormatError, Slot

FORMAT = "memnet-store/1"
SEPARATOR = "\x1f"   # between tokens (tokens never contain it)


def save(memory: Memory, path: str | Path) -> Path:
    """Write the memory into the folder `path` (replacing a previous save there)."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    database = path / "slots.sqlite"
    database.unlink(missing_ok=True)
    save_file(memory.columns(), str(path / "columns.safetensors"))
    live = np.flatnonzero(memory.time[: memory.size] != FREE).tolist()
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value)")
        db.execute("CREATE TABLE slots (position INTEGER PRIMARY KEY, text TEXT NOT NULL, resolved TEXT, tokens TEXT NOT NULL)")
        meta = {"format": FORMAT, "clock": memory.clock, "messages": memory.messages,
                "capacity": memory.capacity, "size": memory.size}
        db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        db.executemany("INSERT INTO slots VALUES (?, ?, ?, ?)", (
            (p, memory.text[p], None if memory.resolved[p] == memory.text[p] else memory.resolved[p],
             SEPARATOR.join(memory.tokens[p])) for p in live))
    db.close()
    return path


def load(path: str | Path, word_class=None) -> Memory:
    """Read a memory saved by `save`; `word_class` as for `Memory` (supersession frames)."""
    path = Path(path)
    database, arrays = path / "slots.sqlite", path / "columns.safetensors"
    if not database.is_file() or not arrays.is_file():
        raise MemoryFormatError(f"{path}: not a saved memory (needs slots.sqlite and columns.safetensors)")
    try:
        columns = load_file(str(arrays))
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            meta = dict(db.execute("SELECT name, value FROM meta"))
            rows = db.execute("SELECT position, text, resolved, tokens FROM slots ORDER BY position").fetchall()
        db.close()
    except (SafetensorError, OSError, ValueError, sqlite3.DatabaseError) as error:
        raise MemoryFormatError(f"{path}: damaged memory ({error})") from None
    if meta.get("format") != FORMAT or set(Memory.COLUMNS) - set(columns):
        raise MemoryFormatError(f"{path}: not a {FORMAT} memory")
    size = int(meta["size"])
    text, resolved, tokens = [""] * size, [""] * size, [()] * size
    for position, typed, stored, words in rows:
        text[position], resolved[position] = typed, typed if stored is None else stored
        tokens[position] = tuple(words.split(SEPARATOR)) if words else ()
    if len(rows) != int(np.count_nonzero(columns["time"] != FREE)):
        raise MemoryFormatError(f"{path}: slot text and columns disagree")
    return Memory.from_columns(columns, text, resolved, tokens, int(meta["clock"]), int(meta["messages"]),
                               meta["capacity"], word_class)


# ---- the conversation log ------------------------------------------------------------------
class Conflict(Exception):
    """Another writer changed the conversation since the caller read it: read it again and retry."""


class StoreError(OSError):
    """The store cannot be read (the data file is damaged or gone); the message says what SQLite said."""


class StoreFull(StoreError):
    """The store cannot take a write (disk full, read-only); what was committed can still be read."""


@dataclass
class Turn:
    """What one event appends to a conversation. `kind`: "message" (a chat turn or API call),
    "undo", "clear" (forget everything) or "import" (replace the memory with `slots`)."""

    kind: str = "message"
    slots: list[Slot] = field(default_factory=list)   # slots written, in write order
    lines: list[dict] = field(default_factory=list)   # chat lines added ({"role", "content"})
    coref: dict | None = None          # I's discourse state: a patch on the one before (dicts merged key by key; None: no
                                       # change); an import's is the whole state saved with its memory (None: a fresh one)
    answer: dict | None = None         # the answer to highlight, when `sets_answer`
    sets_answer: bool = False
    result: object = None              # what the caller was answered; a retry gets it again
    message_id: str | None = None      # idempotency key, unique per conversation
    clock: int = 0                     # the memory's clock and message counter after the turn
    messages: int = 0
    seq: int = 0                       # position in the log, set by the store


@dataclass
class Conversation:
    """A conversation as the log has it at `version`: the live slots, the chat, the last coreference
    state and highlighted answer, and its settings."""

    key: str
    version: int
    memory: Memory
    chat: list[dict]
    coref: dict | None
    answer: dict | None
    settings: dict


class ConversationStore(Protocol):
    """The one interface the app keeps conversations through.

    `SQLiteStore` is the embedded default. A server database takes its place when several app
    processes on several machines serve one set of users: PostgreSQL maps each method onto one
    transaction (`append` as INSERTs guarded by `UPDATE conversations SET version = version + 1
    WHERE key = %s AND version = %s`, message ids under a unique index), and nothing else changes.
    """

    def version(self, key: str) -> int | None:
        """The conversation's version (0: exists, nothing written), or None if unknown; one cheap read."""

    def load(self, key: str) -> Conversation | None:
        """The conversation as of its latest committed turn, or None if unknown."""

    def find(self, key: str, message_id: str) -> Turn | None:
        """The turn stored under `message_id`, if any (its `result` is what the first call returned)."""

    def append(self, key: str, expected: int, turn: Turn) -> int:
        """Append `turn` if the conversation is still at version `expected` (Conflict otherwise;
        KeyError on a duplicate message id; StoreFull when nothing can be written); returns the new version."""

    def undo(self, key: str, expected: int, note: Callable[[Turn], Turn]) -> tuple[int, Turn | None]:
        """Mark the newest live turn that wrote slots as undone and append `note(that turn)`, in one
        transaction; returns the new version and the undone turn (None: nothing to undo, nothing appended)."""

    def set_settings(self, key: str, expected: int, settings: dict) -> int:
        """Merge `settings` (model, hops) into the conversation's; returns the new version."""

    def answers(self, key: str) -> list[dict]:
        """Every answer the live conversation kept, oldest first (`Answer.to_json` dicts)."""


SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    key TEXT PRIMARY KEY, version INTEGER NOT NULL, settings TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, message_id TEXT,
    lines TEXT NOT NULL, coref TEXT, answer TEXT, sets_answer INTEGER NOT NULL, result TEXT,
    clock INTEGER NOT NULL, messages INTEGER NOT NULL, undone INTEGER NOT NULL DEFAULT 0, at REAL NOT NULL,
    PRIMARY KEY (conversation, seq));
CREATE UNIQUE INDEX IF NOT EXISTS turns_by_message ON turns (conversation, message_id) WHERE message_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS turn_slots (
    conversation TEXT NOT NULL, seq INTEGER NOT NULL, position INTEGER NOT NULL, time INTEGER NOT NULL,
    message INTEGER NOT NULL, text TEXT NOT NULL, resolved TEXT, tokens TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS turn_slots_by_turn ON turn_slots (conversation, seq);
"""
LOG_FILE = "sessions.sqlite3"
CHUNK_ROWS = 2_000    # slot rows per transaction of a large turn (an import): what another writer may wait for
STAGED = "staged"     # the kind of a large turn while its rows are written; readers skip it


def patch_state(state: dict | None, patch: dict | None) -> dict | None:
    """`state` with `patch` applied: a dict value merged key by key, any other value replaced."""
    if patch is None or state is None:
        return state if patch is None else patch
    return {**state, **{k: {**state[k], **v} if isinstance(v, dict) and isinstance(state.get(k), dict) else v
                        for k, v in patch.items()}}


def _full(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return "full" in text or "readonly" in text or "disk i/o" in text or "unable to open" in text


class SQLiteStore:
    """The conversation log in one SQLite file in `folder`, readable and writable by the owner only.

    Writers take SQLite's write lock first (BEGIN IMMEDIATE), check the conversation's version and
    append, so two processes on one folder serialise their turns and neither overwrites the other.
    The file uses a rollback journal (journal_mode=DELETE), not WAL: a WAL reader needs the
    `-shm` index, which SQLite re-grows whenever a first connection opens, so on a full disk every
    read failed; with a rollback journal a read needs only the data file, so on a full disk (and
    when the app starts on one) reading keeps working and only writes are refused (StoreFull).
    The cost of a commit is measured in bench/results/load.md.
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        created = not self.folder.exists()
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if created:
            self.folder.chmod(0o700)   # our data folder: the conversations are the owner's alone
        elif self.folder.stat().st_mode & 0o077:
            # a folder someone else chose (--data-dir ~): left as it is; the files in it are the owner's alone
            logging.getLogger(__name__).warning("%s can be listed by other users (mode %o); the conversation files in it "
                                                "are readable by their owner only", self.folder, self.folder.stat().st_mode & 0o777)
        self.path = self.folder / LOG_FILE
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))   # before SQLite: it copies this mode to its journal
        except OSError as error:
            raise StoreFull(f"cannot create {self.path}: {error.strerror}") from None
        for path in self.folder.glob(LOG_FILE + "*"):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
        with self._read() as db:
            ready = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'turn_slots'").fetchone()[0]
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
        if not ready:
            with self._write() as db:
                for statement in SCHEMA.split(";")[:-1]:   # not executescript: it commits first
                    db.execute(statement)
        if mode != "delete":   # a file written in WAL mode by an earlier version (needs a writable disk once)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=DELETE")

    # ---- connections -------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per call (handlers run on many threads), always closed; SQLite's failures
        as StoreFull (nothing can be written) or StoreError (the file cannot be read)."""
        try:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            try:
                yield db
            finally:
                db.close()
        except sqlite3.OperationalError as error:
            raise (StoreFull if _full(error) else StoreError)(f"{self.path}: {error}") from None
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: {error}") from None

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One consistent snapshot (a read transaction)."""
        with self._connect() as db:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("ROLLBACK")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock from its start; committed on success.
        Its page cache holds a large import (64 MB), so readers are shut out only while it commits."""
        with self._connect() as db:
            db.execute("PRAGMA cache_size = -65536")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
            try:
                db.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise

    @staticmethod
    def _check(db: sqlite3.Connection, key: str, expected: int) -> int:
        row = db.execute("SELECT version FROM conversations WHERE key = ?", (key,)).fetchone()
        found = row[0] if row else 0
        if found != expected:
            raise Conflict(f"conversation {key[:6]}… is at version {found}, not {expected}")
        if row is None:
            db.execute("INSERT INTO conversations VALUES (?, 0, '{}', ?)", (key, time.time()))
        db.execute("UPDATE conversations SET version = version + 1 WHERE key = ?", (key,))
        return expected + 1

    # ---- ConversationStore ---------------------------------------------------------------
    def version(self, key: str) -> int | None:
        with self._read() as db:
            row = db.execute("SELECT version FROM conversations WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def load(self, key: str) -> Conversation | None:
        with self._read() as db:
            row = db.execute("SELECT version, settings FROM conversations WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            version, settings = row
            turns = db.execute("SELECT seq, kind, lines, coref, answer, sets_answer, clock, messages, undone FROM turns "
                               "WHERE conversation = ? ORDER BY seq", (key,)).fetchall()
            cleared = max((t[0] for t in turns if t[1] == "clear"), default=-1)
            reset = max((t[0] for t in turns if t[1] in ("clear", "import")), default=-1)
            slots = db.execute("SELECT s.position, s.time, s.text, s.resolved, s.tokens, s.message FROM turn_slots s "
                               "JOIN turns t ON t.conversation = s.conversation AND t.seq = s.seq "
                               "WHERE s.conversation = ? AND s.seq >= ? AND t.undone = 0 ORDER BY s.time",
                               (key, reset), ).fetchall()
        live = [t for t in turns if not t[8] and t[0] >= cleared]
        newest = {}   # position -> the latest slot written there (H may overwrite a position)
        for position, stamp, text, resolved, tokens, message in slots:
            newest[position] = Slot(position, stamp, text, text if resolved is None else resolved,
                                    tuple(tokens.split(SEPARATOR)) if tokens else (), message)
        done = [t for t in turns if t[1] != STAGED]
        clock, messages = (done[-1][6], done[-1][7]) if done else (0, 0)
        coref = None
        for t in live:
            if t[0] >= reset:   # a clear or an import starts I's coreference state afresh, as it does the memory
                coref = patch_state(coref, None if t[3] is None else json.loads(t[3]))
        answer = next((json.loads(t[4]) for t in reversed(live) if t[5] and t[0] >= reset), None)
        chat = [line for t in live for line in json.loads(t[2])]
        return Conversation(key, version, Memory(newest.values(), clock, messages), chat, coref, answer, json.loads(settings))

    def find(self, key: str, message_id: str) -> Turn | None:
        with self._read() as db:
            row = db.execute("SELECT seq, kind, result FROM turns WHERE conversation = ? AND message_id = ?",
                             (key, message_id)).fetchone()
        if row is None:
            return None
        return Turn(row[1], result=None if row[2] is None else json.loads(row[2]), message_id=message_id, seq=row[0])

    def _insert(self, db: sqlite3.Connection, key: str, turn: Turn) -> None:
        turn.seq = db.execute("SELECT coalesce(max(seq), -1) + 1 FROM turns WHERE conversation = ?", (key,)).fetchone()[0]
        try:
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)", (
                key, turn.seq, turn.kind, turn.message_id, json.dumps(turn.lines),
                None if turn.coref is None else json.dumps(turn.coref),
                None if turn.answer is None else json.dumps(turn.answer), int(turn.sets_answer),
                None if turn.result is None else json.dumps(turn.result), turn.clock, turn.messages, time.time()))
        except sqlite3.IntegrityError:
            raise KeyError(f"message id {turn.message_id!r} is already stored") from None
        self._insert_slots(db, key, turn.seq, turn.slots)

    @staticmethod
    def _insert_slots(db: sqlite3.Connection, key: str, seq: int, slots: list[Slot]) -> None:
        db.executemany("INSERT INTO turn_slots VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
            (key, seq, s.index, s.time, s.message, s.text, None if s.resolved == s.text else s.resolved,
             SEPARATOR.join(s.tokens)) for s in slots))

    def append(self, key: str, expected: int, turn: Turn) -> int:
        if len(turn.slots) > CHUNK_ROWS:
            return self._append_staged(key, expected, turn)
        with self._write() as db:
            version = self._check(db, key, expected)
            self._insert(db, key, turn)
        return version

    def _append_staged(self, key: str, expected: int, turn: Turn) -> int:
        """A turn of many slots (an import): its rows are written CHUNK_ROWS at a time, each in a
        short transaction, under a turn no reader counts (kind STAGED); one last short transaction
        checks the version and makes the turn real. So other writers (a neighbour recording its
        question) wait for one chunk, not for the whole import; if anything fails, the staged rows go."""
        with self._write() as db:
            found = db.execute("SELECT version FROM conversations WHERE key = ?", (key,)).fetchone()
            if (found[0] if found else 0) != expected:
                raise Conflict(f"conversation {key[:6]}… is at version {found[0] if found else 0}, not {expected}")
            self._insert(db, key, Turn(STAGED, lines=turn.lines, coref=turn.coref, answer=turn.answer,
                                       sets_answer=turn.sets_answer, result=turn.result, clock=turn.clock,
                                       messages=turn.messages))
            seq = db.execute("SELECT max(seq) FROM turns WHERE conversation = ?", (key,)).fetchone()[0]
            db.execute("UPDATE turns SET undone = 1 WHERE conversation = ? AND seq = ?", (key, seq))
        try:
            for first in range(0, len(turn.slots), CHUNK_ROWS):
                with self._write() as db:
                    self._insert_slots(db, key, seq, turn.slots[first:first + CHUNK_ROWS])
            with self._write() as db:
                version = self._check(db, key, expected)
                try:
                    db.execute("UPDATE turns SET kind = ?, message_id = ?, undone = 0 WHERE conversation = ? AND seq = ?",
                               (turn.kind, turn.message_id, key, seq))
                except sqlite3.IntegrityError:
                    raise KeyError(f"message id {turn.message_id!r} is already stored") from None
        except BaseException:
            with contextlib.suppress(StoreError), self._write() as db:
                db.execute("DELETE FROM turn_slots WHERE conversation = ? AND seq = ?", (key, seq))
                db.execute("DELETE FROM turns WHERE conversation = ? AND seq = ? AND kind = ?", (key, seq, STAGED))
            raise
        turn.seq = seq
        return version

    def undo(self, key: str, expected: int, note: Callable[[Turn], Turn]) -> tuple[int, Turn | None]:
        with self._write() as db:
            reset = db.execute("SELECT coalesce(max(seq), -1) FROM turns WHERE conversation = ? AND kind IN ('clear', 'import')",
                               (key,)).fetchone()[0]
            row = db.execute("SELECT t.seq, t.lines FROM turns t WHERE t.conversation = ? AND t.seq > ? AND t.undone = 0 "
                             "AND t.kind = 'message' AND EXISTS (SELECT 1 FROM turn_slots s WHERE s.conversation = t.conversation "
                             "AND s.seq = t.seq) ORDER BY t.seq DESC LIMIT 1", (key, reset)).fetchone()
            if row is None:
                return expected, None
            version = self._check(db, key, expected)
            slots = db.execute("SELECT position, time, text, resolved, tokens, message FROM turn_slots "
                               "WHERE conversation = ? AND seq = ? ORDER BY time", (key, row[0])).fetchall()
            undone = Turn("message", [Slot(p, t, x, x if r is None else r, tuple(k.split(SEPARATOR)) if k else (), m)
                                      for p, t, x, r, k, m in slots], json.loads(row[1]), seq=row[0])
            db.execute("UPDATE turns SET undone = 1 WHERE conversation = ? AND seq = ?", (key, row[0]))
            self._insert(db, key, note(undone))
        return version, undone

    def set_settings(self, key: str, expected: int, settings: dict) -> int:
        with self._write() as db:
            version = self._check(db, key, expected)
            current = json.loads(db.execute("SELECT settings FROM conversations WHERE key = ?", (key,)).fetchone()[0])
            db.execute("UPDATE conversations SET settings = ? WHERE key = ?", (json.dumps({**current, **settings}), key))
        return version

    def answers(self, key: str) -> list[dict]:
        """Every answer the live conversation kept (one per turn that answered), oldest first, as
        `Answer.to_json` dicts: what a download of the conversation shows."""
        with self._read() as db:
            turns = db.execute("SELECT seq, kind, answer, sets_answer, undone FROM turns WHERE conversation = ? ORDER BY seq",
                               (key,)).fetchall()
        cleared = max((t[0] for t in turns if t[1] in ("clear", "import")), default=-1)
        return [json.loads(t[2]) for t in turns if t[0] > cleared and t[3] and t[2] and not t[4]]
