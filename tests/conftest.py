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
