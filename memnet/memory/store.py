"""Persistence of a large memory: slot text in SQLite, array columns in safetensors beside it.

A folder holds `slots.sqlite` (one row per live slot, plus the clock and settings) and
`columns.safetensors` (write times, messages, usage and word keys). Loading reads the arrays
in one go and the text in one query, so a million slots load in seconds.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from memnet.memory.slots import FREE, Memory, MemoryFormatError

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
