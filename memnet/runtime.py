"""Process settings for a shared 2-core, offline machine: few threads, no hub downloads, no telemetry."""
import os

import torch


def configure(threads: int | None = None) -> None:
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    torch.set_num_threads(threads or 1)  # the models are small: more threads only add contention
