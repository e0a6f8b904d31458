"""`TrainConfig`: every setting of a training run, saved as config.json in the run folder.

Its own module so that readers of run folders can use it without importing the Trainer. Importing it
imports no torch (the command line and the Training tab read its defaults before the engine is
loaded); building one imports the models for its `ModelConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from colorcore.models.base import ModelConfig


def _default_model() -> "ModelConfig":
    from colorcore.models.base import ModelConfig

    return ModelConfig()


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved as config.json in the run folder.

    `amp` and `channels_last` mean "use when this device supports it" (detected, never assumed).
    `batch_size` is per process under torchrun. `eval_subset` test images are scored after every
    epoch; `sample_count` of them form the sample grid. `log_interval_s` rate-limits step events and
    metrics.csv rows (0 logs every step). `min_epoch_interval_s` rate-limits the end-of-epoch work
    (validation, samples, checkpoints) for datasets whose epochs last a few steps: it runs at an epoch
    end only when that many seconds have passed since it last ran (0, the default, runs it after every
    epoch; the last epoch and a stop always get it). `resume` continues from the run's checkpoints/last.pt.
    `max_steps`, when given, is the stopping rule: training runs that many steps in total, through as
    many epochs as it takes (`epochs` then does not cap it). `epochs` None: the model's preset's (the
    paper's count where it states one: scgan 100, zhang 200; ours otherwise). `init` starts a new run's generator from a
    model ("starter", a run folder, .pt or .safetensors): its architecture (model, width, ResNet path)
    replaces `model`'s, the optimisation settings stay `model`'s. `compile` compiles the networks' forward
    with torch.compile where it runs (`precision.compile_unavailable_reason`), else a notice says why and
    training runs eagerly; measured with benchmarks/bench_train.py --compile. A run with `init` fine-tunes:
    the learning rates its preset gives are scaled by `presets.FINETUNE_LR_SCALE` (rates set in `model`
    are used as they are) and the starting model is scored on the held-out images before the first step.
    `keep_best`: every validation whose PSNR beats the run's best so far is kept as checkpoints/best.pt,
    and the model file is exported from it (False: from the last checkpoint).
    """

    data: str
    run_dir: str
    model: ModelConfig = field(default_factory=_default_model)
    epochs: int | None = None
    batch_size: int = 64
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    seed: int = 0
    deterministic: bool = False
    max_steps: int | None = None
    keep_checkpoints: int = 3
    eval_subset: int = 256
    sample_count: int = 8
    log_interval_s: float = 1.0
    min_epoch_interval_s: float = 0.0
    resume: bool = False
    init: str | None = None
    compile: bool = False
    keep_best: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.model, dict):  # from JSON
            from colorcore.models.base import ModelConfig

            object.__setattr__(self, "model", ModelConfig.from_dict(self.model))
        checks = {
            "epochs": self.epochs is None or self.epochs >= 1, "batch_size": self.batch_size >= 1,
            "keep_checkpoints": self.keep_checkpoints >= 0, "eval_subset": self.eval_subset >= 0,
            "sample_count": self.sample_count >= 0, "log_interval_s": self.log_interval_s >= 0,
            "min_epoch_interval_s": self.min_epoch_interval_s >= 0,
            "max_steps": self.max_steps is None or self.max_steps >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"invalid training setting(s): {', '.join(f'{n}={getattr(self, n)!r}' for n in bad)}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (the model config nested under "model")."""
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "model": self.model.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Inverse of `to_dict`; unknown keys (versions, device...) are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
