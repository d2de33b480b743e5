"""Fixtures for the app tests: a small checkpoint (the core's task 1 model), a fresh store, a running app.

Import the fixtures you use into the test module; they never touch the bundled model.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from app import ui
from app.handlers import Context
from app.sessions import Catalogue
from memnet import checkpoint
from memnet.memory.store import SQLiteStore
from tests.helpers import REPO

ASSETS = REPO / "assets"


def make_context(model_dir: Path, data_dir: Path, label: str | None = None, **limits) -> Context:
    return Context(SQLiteStore(data_dir), Catalogue(ASSETS, model_dir, label), ASSETS / "examples", **limits)


@pytest.fixture(scope="session")
def app_model_dir(task1_model, tmp_path_factory) -> Path:
    return checkpoint.save(task1_model, tmp_path_factory.mktemp("app-model"))


@pytest.fixture
def context(app_model_dir, tmp_path) -> Context:
    return make_context(app_model_dir, tmp_path / "data")


def launch(context: Context, port: int | None = None):
    """The app on 127.0.0.1 (`port`, or a free one), in this process; returns (demo, url)."""
    demo = ui.build(context)
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                            **ui.serve_options("127.0.0.1"))
    return demo, url


@pytest.fixture(scope="module")
def app_url(app_model_dir, tmp_path_factory):
    # labelled, so the tour's pictures show a name rather than a temporary path
    demo, url = launch(make_context(app_model_dir, tmp_path_factory.mktemp("app-data"), "test model (bAbI task 1)"))
    yield url
    demo.close()
