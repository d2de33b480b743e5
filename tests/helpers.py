"""Shared test data: where bAbI lives (../shared beside the repo, as in CI) and tiny trained models."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BABI_EN = REPO.parent / "shared" / "babi" / "en"
TASK1 = "qa1_single-supporting-fact"
