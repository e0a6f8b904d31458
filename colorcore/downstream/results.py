"""The CIFAR-10 experiment's output folder: one owner for what `run_downstream` writes and what the
command line, the GUI and any other tool read back. No torch import.

    config.json                    settings, fingerprint, versions, device, encoder provenance, data identity
    runs.json                      {"fingerprint", "runs": [one RunRecord per finished (configuration, seed)]}
    curves/<config>_seed<k>.csv    per epoch: CURVE_COLUMNS
    results.csv, results.md        the table (colorcore.downstream.tables)

`ResultsFolder.load(folder)` reads the three; each record type has `from_dict` (DownstreamError naming
the file and the problem) and `to_dict`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from colorcore.core.advice import ON, OTHER, Advice
from colorcore.downstream.settings import SCRATCH, DownstreamError, DownstreamSettings

CONFIG_JSON = "config.json"
RUNS_JSON = "runs.json"
RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"
CURVES_DIR = "curves"
CURVE_COLUMNS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")
PROVENANCE_KEYS = ("versions", "git_commit", "device")
# an output folder whose results cannot be resumed: choose another one, or discard what it holds
OUT_FOLDER_ADVICE = (Advice("out", OTHER), Advice("overwrite", ON))


@dataclass(frozen=True)
class RunRecord:
    """One finished (configuration, seed) run: accuracies in percent at the best validation epoch (train:
    that epoch's running accuracy), the test accuracy of its weights, and how long it ran."""

    config: str
    seed: int
    train_acc: float
    val_acc: float
    test_acc: float
    train_loss: float = math.nan
    val_loss: float = math.nan
    test_loss: float = math.nan
    epochs: int = 0
    best_epoch: int = 0
    seconds: float = 0.0
    device: str = ""

    def accuracy(self, split: str) -> float:
        """The accuracy of split "train", "val" or "test" (percent)."""
        return float(getattr(self, f"{split}_acc"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form stored in runs.json."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike[str]) -> "RunRecord":
        """A run read from runs.json; DownstreamError naming `source` when a field is missing or mistyped."""
        if not isinstance(data, dict):
            raise DownstreamError(f"{source}: a run is not an object: {data!r}")
        missing = [name for name in ("config", "seed", "train_acc", "val_acc", "test_acc") if name not in data]
        if missing:
            raise DownstreamError(f"{source}: a run lacks {', '.join(missing)}")
        values: dict[str, Any] = {}
        for name, kind in cls.__annotations__.items():
            if name not in data:
                continue
            value = data[name]
            wanted = {"str": str, "int": int, "float": (int, float)}[kind]
            if isinstance(value, bool) or not isinstance(value, wanted):
                raise DownstreamError(f"{source}: run field {name} must be {kind}, got {value!r}")
            values[name] = float(value) if kind == "float" else value
        return cls(**values)


@dataclass(frozen=True)
class RunsState:
    """runs.json: the fingerprint of the settings, encoder and data the runs were made with, and the runs."""

    fingerprint: dict[str, Any]
    runs: tuple[RunRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form written to runs.json."""
        return {"fingerprint": self.fingerprint, "runs": [run.to_dict() for run in self.runs]}

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike[str]) -> "RunsState":
        """The state read from runs.json; DownstreamError naming `source` when it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("fingerprint"), dict) or not isinstance(
                data.get("runs"), list):
            raise DownstreamError(f"{source}: not a downstream state file", OUT_FOLDER_ADVICE)
        return cls(dict(data["fingerprint"]), tuple(RunRecord.from_dict(run, source) for run in data["runs"]))

    @classmethod
    def load(cls, path: Path) -> "RunsState | None":
        """The state in `path` (None when there is no such file); DownstreamError when it is unreadable."""
        if not path.is_file():
            return None
        return cls.from_dict(_read_json(path, "delete it", OUT_FOLDER_ADVICE), path)


@dataclass(frozen=True)
class ExperimentConfig:
    """config.json: the settings and fingerprint of the experiment, where its encoder and data came from,
    and the versions and device that ran it (`provenance`)."""

    settings: DownstreamSettings
    fingerprint: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    paper_table: str = ""

    @property
    def encoder_path(self) -> str:
        """The encoder as it was given (run folder, checkpoint, model file; "" when not recorded)."""
        return str(self.encoder.get("path") or "")

    @property
    def cifar_root(self) -> Path | None:
        """The folder holding cifar-10-batches-py, as given to the run (None when not recorded)."""
        folder = self.data.get("cifar_folder")
        return Path(folder).parent if folder else None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form written to config.json."""
        return {"settings": self.settings.to_dict(), "fingerprint": self.fingerprint, **self.provenance,
                "encoder": self.encoder, "data": self.data, "paper_table": self.paper_table}

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike[str]) -> "ExperimentConfig":
        """The configuration read from config.json; DownstreamError naming `source` when it is not one."""
        if not isinstance(data, dict) or "settings" not in data:
            raise DownstreamError(f"{source}: not a downstream config.json (no settings)")
        parts = {}
        for key in ("fingerprint", "encoder", "data"):
            value = data.get(key, {})
            if not isinstance(value, dict):
                raise DownstreamError(f"{source}: {key} must be an object, got {value!r}")
            parts[key] = value
        return cls(settings=DownstreamSettings.from_dict(data["settings"], source), **parts,
                   provenance={key: data[key] for key in PROVENANCE_KEYS if key in data},
                   paper_table=str(data.get("paper_table", "")))


@dataclass(frozen=True)
class CurvePoint:
    """One epoch of a run's curves (losses, accuracies in percent, seconds since the run started)."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float

    @classmethod
    def from_dict(cls, row: dict[str, Any], source: str | os.PathLike[str]) -> "CurvePoint":
        """A point from a curves CSV row (text cells); DownstreamError naming `source` when a cell is bad."""
        try:
            return cls(int(float(row["epoch"])), *(float(row[name]) for name in CURVE_COLUMNS[1:]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DownstreamError(f"{source}: a curve row is damaged ({exc!r}: {row!r})") from None


@dataclass(frozen=True)
class ResultsFolder:
    """What an experiment wrote to `folder`: its configuration, its finished runs and their curves
    (`curves[(config, seed)]`). A curves file that cannot be read leaves that run without a curve and is
    named in `curve_problems`: the table comes from runs.json."""

    folder: Path
    config: ExperimentConfig
    runs: tuple[RunRecord, ...]
    curves: dict[tuple[str, int], tuple[CurvePoint, ...]]
    curve_problems: tuple[str, ...] = ()

    @property
    def settings(self) -> DownstreamSettings:
        """The settings the runs were made with."""
        return self.config.settings

    @staticmethod
    def exists(folder: str | os.PathLike[str]) -> bool:
        """Whether `folder` holds an experiment's runs.json."""
        return (Path(folder).expanduser() / RUNS_JSON).is_file()

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> "ResultsFolder":
        """Read config.json, runs.json and the curves of `folder`; DownstreamError naming the file when
        config.json or runs.json is missing or damaged."""
        out = Path(folder).expanduser()
        config_path = out / CONFIG_JSON
        if not config_path.is_file():
            raise DownstreamError(f"{out}: no experiment results here (no {CONFIG_JSON})")
        config = ExperimentConfig.from_dict(_read_json(config_path, "run the experiment again"), config_path)
        state = RunsState.load(out / RUNS_JSON)
        if state is None:
            raise DownstreamError(f"{out}: no experiment results here (no {RUNS_JSON})")
        curves: dict[tuple[str, int], tuple[CurvePoint, ...]] = {}
        problems = []
        for run in state.runs:
            path = curves_path(out, run.config, run.seed)
            try:
                curves[(run.config, run.seed)] = read_curve(path)
            except DownstreamError as exc:
                problems.append(str(exc))
        return cls(out, config, state.runs, curves, tuple(problems))


def curves_path(out_dir: Path, config: str, seed: int) -> Path:
    """Where the per-epoch curves of one (configuration, seed) run go."""
    stem = SCRATCH if config == SCRATCH else f"block{config}"
    return out_dir / CURVES_DIR / f"{stem}_seed{seed}.csv"


def curves_csv(curves: Sequence[dict[str, float]]) -> str:
    """Per-epoch curves as CSV text (CURVE_COLUMNS)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CURVE_COLUMNS)
    for point in curves:
        writer.writerow([point["epoch"], *(f"{point[c]:.6g}" for c in CURVE_COLUMNS[1:])])
    return buffer.getvalue()


def read_curve(path: Path) -> tuple[CurvePoint, ...]:
    """The points of one curves CSV; DownstreamError naming the file when it is missing or damaged."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DownstreamError(f"{path}: cannot read the curve ({exc})") from None
    return tuple(CurvePoint.from_dict(row, path) for row in rows)


def _read_json(path: Path, remedy: str, advice: Sequence[Advice] = ()) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DownstreamError(f"{path}: unreadable ({exc}); {remedy}", advice) from exc
