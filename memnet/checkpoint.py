"""Checkpoints: weights in safetensors, vocabulary and settings in JSON. Never pickle."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from memnet.features import Vocabulary
from memnet.model import MemNN, ModelConfig

FORMAT = "memnet-checkpoint/1"
DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "assets" / "model"


class CheckpointError(ValueError):
    """A checkpoint is missing, of the wrong kind, or damaged."""


def save(model: MemNN, path: str | Path, extra: dict | None = None) -> Path:
    """Write `config.json` and `weights.safetensors` into the folder `path`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, "model": model.config.to_json(), "vocabulary": model.vocab.to_json(), **(extra or {})}
    (path / "config.json").write_text(json.dumps(config, indent=1))
    save_file({name: tensor.detach().contiguous() for name, tensor in model.weights().items()},
              str(path / "weights.safetensors"))
    return path


def load(path: str | Path | None = None) -> MemNN:
    """Load a checkpoint folder (default: the bundled model), checking it matches its config."""
    path = Path(path) if path is not None else DEFAULT_MODEL
    config_file, weights_file = path / "config.json", path / "weights.safetensors"
    if not path.is_dir() or not config_file.is_file() or not weights_file.is_file():
        raise CheckpointError(f"{path}: not a memnet checkpoint (needs config.json and weights.safetensors)")
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{config_file}: not valid JSON ({error})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{config_file}: not a {FORMAT} config")
    try:
        model = MemNN(ModelConfig(**config["model"]), Vocabulary(**config["vocabulary"]))
        tensors = load_file(str(weights_file))
    except (KeyError, TypeError) as error:
        raise CheckpointError(f"{config_file}: incomplete config ({error})") from None
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"{weights_file}: damaged weights ({error})") from None
    for name, weight in model.weights().items():
        if name not in tensors or tensors[name].shape != weight.shape:
            raise CheckpointError(f"{weights_file}: {name} missing or of the wrong shape for this config")
        with torch.no_grad():
            weight.copy_(tensors[name])
    model.eval()
    model.requires_grad_(False)
    return model


SEARCH_SETTINGS = ("word_hashing", "beam")   # how O searches the memory: no weight depends on them


def set_search(path: str | Path, **settings: int) -> dict:
    """Change how a trained model's O searches the memory (`ModelConfig.word_hashing`, `beam`) in the
    checkpoint folder `path`, without touching its weights; returns the settings now saved. Raises
    CheckpointError for a folder that is not a checkpoint or a setting not in `SEARCH_SETTINGS`, and
    ValueError for a word_hashing below 0 or a beam below 1 (the folder is then left as it was)."""
    load(path)   # a checkpoint as it stands, or CheckpointError
    unknown = set(settings) - set(SEARCH_SETTINGS)
    if unknown:
        raise CheckpointError(f"not search settings: {', '.join(sorted(unknown))} (only {', '.join(SEARCH_SETTINGS)})")
    config_file = Path(path) / "config.json"
    config = json.loads(config_file.read_text())
    config["model"].update(settings)
    if any(value < 0 for value in settings.values()) or config["model"]["beam"] < 1:
        raise ValueError(f"word_hashing must be at least 0 and beam at least 1, got {settings}")
    config_file.write_text(json.dumps(config, indent=1))
    return {name: config["model"][name] for name in SEARCH_SETTINGS}

