"""Per-session conversation handles and their SQLite persistence.

A `Session` pairs one conversation's memory with the shared, read-only model weights. The
UI keeps it in `gr.State` (one per browser tab or API client) and only its key in the
browser, so a reload or a restart finds the same memory and chat in the `Store`.
"""
from __future__ import annotations

import contextlib
import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from memnet import Answer, Memory, MemoryNetwork
from memnet.checkpoint import DEFAULT_MODEL

APP_NAME = "memnet"


def default_data_dir() -> Path:
    """Where sessions live unless --data-dir says otherwise (e.g. ~/.local/share/memnet)."""
    return Path(platformdirs.user_data_dir(APP_NAME))


class Catalogue:
    """The checkpoints a user may pick, by label: those under assets/ plus --model."""

    def __init__(self, assets: Path, extra: Path | None = None):
        found = sorted(p.parent for p in Path(assets).rglob("config.json") if (p.parent / "weights.safetensors").is_file())
        self.paths = {self._label(p, assets): p for p in found}
        if extra is not None:
            self.paths = {str(extra): Path(extra), **self.paths}
        if not self.paths:
            raise FileNotFoundError(f"no model checkpoint under {assets}: train one (scripts/train_default.sh) or pass --model")
        bundled = [label for label, p in self.paths.items() if p.resolve() == DEFAULT_MODEL.resolve()]
        self.default = str(extra) if extra is not None else (bundled or list(self.paths))[0]
        self._loaded: dict[str, MemoryNetwork] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _label(path: Path, assets: Path) -> str:
        return str(Path(assets.name) / path.relative_to(assets))

    @property
    def labels(self) -> list[str]:
        return list(self.paths)

    def open(self, label: str | None) -> MemoryNetwork:
        """A conversation with an empty memory on `label`'s weights and input map (loaded once, then shared)."""
        label = self.label_of(label)
        with self._lock:
            if label not in self._loaded:
                self._loaded[label] = MemoryNetwork.load(self.paths[label])
        return self._loaded[label].conversation()

    def label_of(self, label: str | None) -> str:
        return label if label in self.paths else self.default


@dataclass
class Session:
    """One conversation: its memory (inside `net`), the chat as displayed, and its settings."""

    key: str
    net: MemoryNetwork
    model: str
    chat: list[dict] = field(default_factory=list)    # gr.Chatbot messages, user text already escaped
    turns: list[int] = field(default_factory=list)    # memory writes made by each chat turn, for undo
    hops: int | None = None                           # None: the model's own k
    last_answer: Answer | None = None                 # highlighted in the memory panel
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one turn at a time


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, memory TEXT NOT NULL, chat TEXT NOT NULL,
    turns TEXT NOT NULL, hops INTEGER, answer TEXT, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """Sessions in one SQLite file. `save` returns only after the transaction is committed."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "sessions.sqlite3"
        with self._transaction() as db:
            db.executescript(_SCHEMA)
        with self._transaction() as db:
            db.execute("PRAGMA journal_mode=WAL")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection per call (handlers run on many threads), committed on success, always closed."""
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:
                yield db
        finally:
            db.close()

    def secret(self) -> str:
        """A per-installation key for gr.BrowserState, so browser sessions survive a restart."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('browser_secret', ?)", (secrets.token_urlsafe(24),))
            return db.execute("SELECT value FROM meta WHERE name = 'browser_secret'").fetchone()[0]

    def save(self, session: Session) -> None:
        answer = json.dumps(session.last_answer.to_json()) if session.last_answer else None
        row = (session.key, session.model, json.dumps(session.net.memory_store.to_json()), json.dumps(session.chat),
               json.dumps(session.turns), session.hops, answer, time.time())
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def open(self, key: str | None, catalogue: Catalogue) -> Session:
        """The saved session `key`, or a new empty one (under a fresh key when `key` is unknown or None)."""
        with self._transaction() as db:
            row = db.execute("SELECT model, memory, chat, turns, hops, answer FROM sessions WHERE key = ?", (key,)).fetchone() if key else None
        if row is None:
            label = catalogue.default
            return Session(key or secrets.token_urlsafe(16), catalogue.open(label), label)
        model, memory, chat, turns, hops, answer = row
        label = catalogue.label_of(model)
        net = catalogue.open(label)
        net = MemoryNetwork(net.model, memory=Memory.from_json(json.loads(memory)), input_map=net.input_map)
        last = Answer.from_json(json.loads(answer)) if answer else None
        return Session(key, net, label, json.loads(chat), json.loads(turns), hops, last)
