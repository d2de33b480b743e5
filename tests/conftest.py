"""Session-wide fixtures: one small model trained on a slice of bAbI task 1, shared by the core tests."""
from __future__ import annotations

import pytest
import torch

from memnet.data.babi import load_tasks
from memnet.dataset import parse_stories
from memnet.model import ModelConfig
from memnet.input.sentence import SimpleInput
from memnet.train import train
from tests.helpers import BABI_EN

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def task1():
    (task,) = load_tasks(BABI_EN, {1})
    return task


@pytest.fixture(scope="session")
def task1_model(task1):
    """Trained in seconds on 100 stories (500 questions) of task 1."""
    model, _ = train(parse_stories(task1.train[:100], SimpleInput()), ModelConfig(epochs=5, seed=1), progress=False)
    return model


@pytest.fixture(scope="session")
def nlp():
    """The shared spaCy pipeline of the spaCy I, loaded once per test session."""
    from memnet.input.spacy_input import load_nlp

    return load_nlp()


@pytest.fixture(scope="session")
def spacy_input(nlp):
    from memnet.input.spacy_input import SpacyInput

    return SpacyInput(nlp)


def fill(folder) -> None:
    """Write zeros into `folder` until its file system has no space left."""
    with open(f"{folder}/filler", "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * 65536)
                filler.flush()
        except OSError:
            pass


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB file system (tmpfs) at tmp_path/disk, unmounted afterwards; `fill(path)` fills it.
    Skipped only where mounting is not permitted (tests not run as root, a container without
    CAP_SYS_ADMIN)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"a real full disk needs a tmpfs mount, which is not permitted here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
