"""Training: the margin ranking loss of §3.1 (eq. 6-8, appendix C's time terms) over labelled supports."""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace

import torch
from tqdm.auto import tqdm

from memnet.batch import Example, collate
from memnet.dataset import ParsedStory, build_vocabulary, make_examples
from memnet.evaluate import evaluate
from memnet.model import MemNN, ModelConfig


FIT_CHUNK = 20   # stories `fits` answers at a time
RESTART_STRIDE = 1000   # restart r of seed s trains from seed s + 1000 r (restart 0 is seed s itself)
ERROR_SAMPLE = 2000   # training stories (at most) on which restarts are compared
COMPOSE_LR = 0.001   # torch's default for Adam
OPTIMIZERS = {"adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad, "sgd": torch.optim.SGD}
CONTINUED = ("lr", "epochs", "seed", "fit_check", "restarts", "average")   # the settings a continued training (`train(init=...)`) takes from `config`


@dataclass
class TrainLog:
    epoch_losses: list[float]   # one per epoch run (fewer than config.epochs when `fit_check` stopped early)
    seconds: float
    examples: int
    training_errors: list[float] = field(default_factory=list)   # per restart run (`config.restarts` > 1)
    restart: int = 0   # the restart kept

    def restarts(self) -> dict:
        """What a checkpoint records of `restarts` (none without): the run kept and each run's training error."""
        return {"restart": self.restart, "training_errors": self.training_errors} if self.training_errors else {}

    def restarts_said(self) -> str:
        """The same as a clause for a progress line: ", restart 1 kept (training errors 0.018, 0.005)"."""
        if not self.training_errors:
            return ""
        return f", restart {self.restart} kept (training errors {', '.join(f'{e:.3f}' for e in self.training_errors)})"


def shuffled_batches(examples: list[Example], size: int, rng: random.Random) -> list[list[Example]]:
    """Random batches of questions with similar memory sizes, so that little time goes on padding
    when short and long stories are trained together (a joint model)."""
    rng.shuffle(examples)
    window = size * 50
    batches = []
    for start in range(0, len(examples), window):
        part = sorted(examples[start : start + window], key=lambda e: e.n_memories)
        batches += [part[i : i + size] for i in range(0, len(part), size)]
    rng.shuffle(batches)
    return batches


def optimizers(model: MemNN, config: ModelConfig) -> list[torch.optim.Optimizer]:
    """The optimizer of `config` over the model's weights: one over the sparse embedding tables and
    one, fused (a single pass over each tensor), over the dense maps. Fused steps take no sparse
    gradients; the update is the same."""
    kind = OPTIMIZERS[config.optimizer]
    sparse = [p for m in model.modules() if isinstance(m, torch.nn.Embedding) and m.sparse for p in m.parameters()]
    mlp = [*model.C_R.parameters(), model.D_R] if config.compose else []
    dense = [p for p in model.parameters() if all(p is not q for q in sparse + mlp)]
    # the compose MLP steps with Adam at its usual lr: Adagrad's first steps move every weight by
    # lr, which suits sparse word rows, not a dense layer (task 17, R without word dropout: 65% with Adagrad, 87% with Adam)
    extra = [torch.optim.Adam(mlp, lr=COMPOSE_LR)] if mlp else []
    return [kind(group, lr=config.lr, **({"fused": True} if fused else {}))
            for group, fused in ((sparse, False), (dense, True)) if group] + extra


class WeightMean:
    """Stochastic weight averaging (Izmailov et al. 2018, arXiv 1803.05407) over one epoch: the mean of
    up to `snapshots` copies of every weight, taken after evenly spaced steps of its `n_steps` (the
    last step among them; one per step when the epoch has fewer). The mean is what training keeps:
    `fit_check` tests it (and stops with it), and the last epoch's replaces the weights at the end.
    The end of a joint run then depends less on its last few batches, which move a task such as
    bAbI 7 by several points from one draw to the next. `snapshots` 0 keeps the last weights; below
    0 raises ValueError."""

    def __init__(self, model: MemNN, n_steps: int, snapshots: int):
        check_average(snapshots)
        self.model = model
        self.at = {(n_steps * (i + 1)) // snapshots - 1 for i in range(snapshots)} if snapshots else set()
        self.total: list[torch.Tensor] | None = None
        self.count = 0

    def step(self, step: int) -> None:
        """Adds the weights as they are after training step `step` (0-based) if it is a snapshot's."""
        if step not in self.at:
            return
        with torch.no_grad():
            weights = [p.detach() for p in self.model.parameters()]
            self.total = [w.clone() for w in weights] if self.total is None else [t.add_(w) for t, w in zip(self.total, weights)]
        self.count += 1

    def apply(self) -> list[torch.Tensor] | None:
        """Sets the weights to the mean of the snapshots taken, and returns a copy of the weights it
        replaced, for `restore` (None, and the weights unchanged, if no snapshot was taken)."""
        if not self.count:
            return None
        with torch.no_grad():
            replaced = [p.detach().clone() for p in self.model.parameters()]
            for p, total in zip(self.model.parameters(), self.total):
                p.copy_(total / self.count)
        return replaced

    def restore(self, replaced: list[torch.Tensor] | None) -> None:
        """Puts back the weights `apply` replaced (nothing to do for None)."""
        if replaced is None:
            return
        with torch.no_grad():
            for p, weights in zip(self.model.parameters(), replaced):
                p.copy_(weights)


def fits(model: MemNN, stories: list[ParsedStory]) -> bool:
    """Whether the model answers every training question and finds every labelled support: later
    epochs would only widen margins (on bAbI 1k they moved test accuracy by at most 0.4 points)."""
    for first in range(0, len(stories), FIT_CHUNK):   # stop at the first chunk with a miss: a model that
        score = evaluate(model, stories[first : first + FIT_CHUNK])   # does not fit yet usually misses early
        if score.accuracy < 1.0 or score.support_accuracy < 1.0:
            return False
    return True


def check_average(average: int, name: str = "average") -> None:
    """Raises ValueError, naming the setting as `name`, unless `average` (snapshots) is at least 0."""
    if average < 0:
        raise ValueError(f"{name} must be at least 0 (got {average}): 0 keeps the last weights")


def check_restarts(restarts: int, continuing: bool, name: str = "restarts") -> None:
    """Raises ValueError, naming the setting as `name`, unless `restarts` is at least 1, and 1 when
    `continuing` a checkpoint (the command line checks before it parses any story)."""
    if restarts < 1:
        raise ValueError(f"{name} must be at least 1 (got {restarts}): 1 trains one model")
    if continuing and restarts > 1:
        raise ValueError(f"{name} must be 1 when continuing a checkpoint (got {restarts}): the restarts are fresh models")


def train(stories: list[ParsedStory], config: ModelConfig, progress: bool = True,
          init: MemNN | None = None) -> tuple[MemNN, TrainLog]:
    """Fit a fresh model on parsed stories, or continue training `init` (a loaded checkpoint, changed in
    place): its vocabulary and settings stay, `config` gives only the settings in CONTINUED,
    and the optimizer starts afresh (checkpoints keep no optimizer state). A word the checkpoint's
    vocabulary lacks stays unseen (§3.5). The same stories, config and seed give the same weights.

    With `config.restarts` R > 1 (fresh models only), trains up to R models, restart r from seed
    `seed + RESTART_STRIDE * r`, and keeps the one with the lowest training error (the share of wrong
    answers, supports not counted, to the questions of up to ERROR_SAMPLE training stories drawn by
    the seed), as MemN2N did against its high variance between random starts (arXiv 1503.08895 §4.2);
    it stops early once a run answers every sampled question right. The model's `config.seed` stays
    the seed given (with `restarts` it reproduces the model); the log says which restart was kept
    (its weights come from seed + RESTART_STRIDE * `log.restart`). Raises ValueError for restarts
    below 1, or above 1 with `init`. The log's `epoch_losses` are the kept run's; its `seconds` cover
    every run and its scoring."""
    check_restarts(config.restarts, init is not None)
    if config.restarts == 1:
        return _fit(stories, config, progress, init)
    start = time.perf_counter()
    sample = random.Random(config.seed).sample(stories, min(len(stories), ERROR_SAMPLE))
    best, errors = None, []
    for restart in range(config.restarts):
        model, log = _fit(stories, replace(config, seed=config.seed + RESTART_STRIDE * restart), progress, None)
        errors.append(1.0 - evaluate(model, sample).accuracy)
        if best is None or errors[-1] < errors[best[0]]:
            best = (restart, model, log)
        if errors[-1] == 0.0:
            break
    restart, model, log = best
    model.config = replace(model.config, seed=config.seed)   # the checkpoint names the seed that reproduces it
    return model, replace(log, seconds=time.perf_counter() - start, training_errors=errors, restart=restart)


def _fit(stories: list[ParsedStory], config: ModelConfig, progress: bool, init: MemNN | None) -> tuple[MemNN, TrainLog]:
    """One training run of `train` (a fresh model, or `init` continued)."""
    torch.manual_seed(config.seed)
    if init is None:
        model = MemNN(config, build_vocabulary(stories, config.min_count, config.set_answers))
    else:
        model = init
        model.config = replace(init.config, **{name: getattr(config, name) for name in CONTINUED})
        model.requires_grad_(True)
        model.train()
    config = model.config
    examples = make_examples(stories, model.vocab)
    if not examples:
        raise ValueError("no questions to train on")
    steppers = optimizers(model, config)
    torch.sparse.check_sparse_tensor_invariants.disable()  # Adagrad's sparse steps warn unless this is set explicitly
    generator = torch.Generator().manual_seed(config.seed)
    order = random.Random(config.seed)
    losses = []
    start = time.perf_counter()
    bar = tqdm(total=config.epochs * len(examples), desc="train", unit="q", disable=not progress, leave=False)
    mean = WeightMean(model, 0, 0)   # each epoch starts its own; the last one's is kept
    for epoch in range(config.epochs):
        epoch_loss = 0.0
        batches = shuffled_batches(examples, config.batch_size, order)
        mean = WeightMean(model, len(batches), config.average)
        for step, chunk in enumerate(batches):
            batch = collate(chunk, config.memory_size)
            loss = model.loss(batch, generator)
            for optimizer in steppers:
                optimizer.zero_grad()
            (loss / len(chunk)).backward()
            for optimizer in steppers:
                optimizer.step()
            with torch.no_grad():
                model.U_O.weight[model.layout.null].zero_()
                model.U_R.weight[model.layout.null].zero_()
            epoch_loss += loss.item()
            mean.step(step)
            bar.update(len(chunk))
        losses.append(epoch_loss / len(examples))
        bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.3f}")
        if config.fit_check and (epoch + 1) % config.fit_check == 0 and epoch + 1 < config.epochs:
            live = mean.apply()   # the weights training would keep are the ones to test
            if fits(model, stories):
                break
            mean.restore(live)    # training goes on from where the steps left it, not from the mean
    else:
        mean.apply()
    bar.close()
    model.eval()
    return model, TrainLog(losses, time.perf_counter() - start, len(examples))
