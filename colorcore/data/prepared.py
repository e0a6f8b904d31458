"""Reading a prepared dataset: its typed `Manifest` and its memory-mapped split arrays.

A prepared dataset is a folder holding `manifest.json` (written last, see `Manifest`) and, per split
("train", "test"), three `.npy` arrays: `<split>_rgb.npy` (N, S, S, 3), `<split>_edge.npy` (N, S, S) in
{0, 255} and `<split>_saliency.npy` (N, S, S) in 0..255, all uint8 (colorcore.core.tensors' storage
convention). `colorcore.data.prepare` writes it. This module imports neither torch nor cv2.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from colorcore.core.advice import AdvisedError
from colorcore.data.settings import CANNY_MAX, CANNY_SIGMA, CROP_MIN_SCALE, MIN_SIZE

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
SPLITS = ("train", "test")
ARRAY_KINDS = ("rgb", "edge", "saliency")
# what a manifest says in words (for people reading the file; the fields above say it for programs)
GRAY_TEXT = "BT.601 luma"
RESIZE_TEXT = "centre crop to square, then cv2.INTER_AREA"
CANNY_AUTO_TEXT = f"median rule, sigma {CANNY_SIGMA}, for any threshold given as null"
SPLIT_BY = "photo"


class DatasetError(AdvisedError):
    """A source or prepared-dataset folder is unusable; the message names the folder and why."""


@dataclass(frozen=True)
class SkippedFile:
    """A photo left out of a dataset: its path relative to the source folder, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Manifest:
    """What `manifest.json` records: how a dataset was prepared and which photo each sample is.

    `files[split]` names each sample's photo in array order (a photo with crops appears 1 +
    `crops_per_photo` times), `photos[split]` each photo once; `splits[split]` counts samples.
    Canny thresholds of None were derived from each sample's median. `provenance` holds the versions
    and git commit that made it (`colorcore.core.provenance`).
    """

    size: int
    saliency: str
    canny_low: float | None
    canny_high: float | None
    test_fraction: float
    seed: int
    source: str
    splits: dict[str, int]
    files: dict[str, tuple[str, ...]]
    photos: dict[str, tuple[str, ...]]
    skipped: tuple[SkippedFile, ...] = ()
    crops_per_photo: int = 0
    created: str = ""
    seconds: float = 0.0
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def canny_auto(self) -> bool:
        """True when some Canny threshold was derived from each sample's median."""
        return self.canny_low is None or self.canny_high is None

    @property
    def canny_description(self) -> str:
        """The Canny setting in words: "auto (image median)" or "low 50, high 150"."""
        low, high = self.canny_low, self.canny_high
        if low is None and high is None:
            return "auto (image median)"
        return f"low {'auto' if low is None else f'{low:g}'}, high {'auto' if high is None else f'{high:g}'}"

    @property
    def source_folder(self) -> Path | None:
        """The folder the photos were read from (None when the manifest does not say)."""
        return Path(self.source) if self.source else None

    @classmethod
    def from_dict(cls, data: Any, source: str | os.PathLike[str]) -> "Manifest":
        """The manifest read from `data` (parsed JSON); DatasetError naming the file `source` and the
        first problem when it is not a prepared-dataset manifest of this version."""
        where = str(source)
        if not isinstance(data, dict) or "format_version" not in data:
            raise DatasetError(f"{where}: not a prepared-dataset manifest")
        version = data["format_version"]
        if version != FORMAT_VERSION:
            raise DatasetError(f"{where}: dataset format version {version} is not supported (expected "
                               f"{FORMAT_VERSION}); prepare it again with this version")
        missing = [key for key in ("size", "splits", "files", "skipped") if key not in data]
        if missing:
            raise DatasetError(f"{where}: lacks {', '.join(missing)}")
        reader = _Fields(data, where)
        size = reader.integer("size", minimum=MIN_SIZE)
        counts, files = reader.mapping("splits"), reader.mapping("files")
        splits: dict[str, int] = {}
        for name in SPLITS:
            count, names = counts.get(name), files.get(name)
            if (not isinstance(count, int) or isinstance(count, bool) or not _strings(names)
                    or len(names) != count):
                raise DatasetError(f"{where}: split {name!r} is inconsistent")
            splits[name] = count
        sample_files = {name: tuple(files[name]) for name in SPLITS}
        photos = reader.mapping("photos") if "photos" in data else {
            name: list(dict.fromkeys(sample_files[name])) for name in SPLITS}  # before crops: one sample a photo
        if not all(_strings(photos.get(name)) for name in SPLITS):
            raise DatasetError(f"{where}: photos is not a list of file names per split")
        canny = reader.mapping("canny") if "canny" in data else {}
        provenance = {key: data[key] for key in ("versions", "git_commit") if key in data}
        return cls(
            size=size, saliency=reader.text("saliency", ""),
            canny_low=_threshold(canny.get("low"), where, "low"), canny_high=_threshold(canny.get("high"), where, "high"),
            test_fraction=reader.number("test_fraction", 0.0), seed=reader.integer("seed", default=0),
            source=reader.text("source", ""), splits=splits, files=sample_files,
            photos={name: tuple(photos[name]) for name in SPLITS}, skipped=_skipped(data["skipped"], where),
            crops_per_photo=reader.integer("crops_per_photo", default=0, minimum=0),
            created=reader.text("created", ""), seconds=reader.number("seconds", 0.0), provenance=provenance,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able form written to `manifest.json` (what `from_dict` reads back)."""
        crops = (f"per photo: the centre square, then {self.crops_per_photo} random squares (side "
                 f"{CROP_MIN_SCALE:g} to 1 times the shorter side, log-uniform; mirrored with probability 1/2)"
                 if self.crops_per_photo else "none")
        return {
            "format_version": FORMAT_VERSION,
            "size": self.size,
            "saliency": self.saliency,
            "canny": {"low": self.canny_low, "high": self.canny_high, "auto": CANNY_AUTO_TEXT},
            "gray": GRAY_TEXT,
            "resize": RESIZE_TEXT,
            "crops_per_photo": self.crops_per_photo,
            "crops": crops,
            "split_by": SPLIT_BY,
            "test_fraction": self.test_fraction,
            "seed": self.seed,
            "source": self.source,
            "splits": dict(self.splits),
            "photos": {name: list(self.photos[name]) for name in SPLITS},
            "files": {name: list(self.files[name]) for name in SPLITS},
            "arrays": {name: {kind: array_name(name, kind) for kind in ARRAY_KINDS} for name in SPLITS},
            "skipped": [{"path": item.path, "reason": item.reason} for item in self.skipped],
            "created": self.created,
            "seconds": self.seconds,
            **self.provenance,
        }


@dataclass
class SplitArrays:
    """One split's uint8 arrays (memory-mapped): rgb (N, S, S, 3), edge and saliency (N, S, S)."""

    rgb: np.ndarray
    edge: np.ndarray
    saliency: np.ndarray

    def __len__(self) -> int:
        return int(self.rgb.shape[0])


class PreparedDataset:
    """A prepared dataset folder: its manifest and its memory-mapped split arrays."""

    def __init__(self, path: Path, manifest: Manifest, splits: dict[str, SplitArrays]) -> None:
        self.path = path
        self.manifest = manifest
        self._splits = splits

    @property
    def size(self) -> int:
        """Side length S of the square images."""
        return self.manifest.size

    def split(self, name: str) -> SplitArrays:
        """The arrays of split `name` ("train" or "test")."""
        if name not in self._splits:
            raise DatasetError(f"{self.path}: no split {name!r} (have {', '.join(self._splits)})")
        return self._splits[name]

    def files(self, name: str) -> list[str]:
        """Source files of split `name`, relative to the source folder, in array order."""
        self.split(name)
        return list(self.manifest.files[name])

    def source_paths(self, name: str) -> list[Path]:
        """Absolute source paths of split `name` (they may have moved since preparation)."""
        root = Path(self.manifest.source)
        return [root / relative for relative in self.files(name)]

    def tensors(
        self, name: str, device: "torch.device | str" = "cpu"
    ) -> tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]:
        """Split `name` as uint8 torch tensors (rgb, edge, saliency) on `device`."""
        import torch

        arrays = self.split(name)
        return tuple(  # type: ignore[return-value]
            torch.from_numpy(np.array(a, dtype=np.uint8, copy=True)).to(device)
            for a in (arrays.rgb, arrays.edge, arrays.saliency)
        )

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={len(arrays)}" for name, arrays in self._splits.items())
        return f"PreparedDataset({str(self.path)!r}, size={self.size}, {counts})"


def array_name(split: str, kind: str) -> str:
    """The file name of one split's array of one kind ("train", "rgb" -> "train_rgb.npy")."""
    return f"{split}_{kind}.npy"


def read_manifest(folder: str | os.PathLike[str]) -> Manifest:
    """The manifest of the prepared dataset `folder` (its arrays are not checked: see `load_prepared`);
    DatasetError when the folder is not one, or its manifest is damaged."""
    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: {'not a folder' if root.exists() else 'folder not found'}")
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise DatasetError(f"{root}: not a prepared dataset (no {MANIFEST_NAME}); create one with `colorcore prepare`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: damaged, not readable as JSON ({exc})") from None
    return Manifest.from_dict(data, path)


def is_prepared_dataset(path: str | os.PathLike[str]) -> bool:
    """True when `path` is a folder with a readable prepared-dataset manifest."""
    manifest = Path(path) / MANIFEST_NAME
    try:
        return "format_version" in json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def load_prepared(path: str | os.PathLike[str]) -> PreparedDataset:
    """Open a prepared dataset folder (arrays memory-mapped); DatasetError when it is not one,
    or is incomplete or damaged."""
    root = Path(path)
    manifest = read_manifest(root)
    size = manifest.size
    splits: dict[str, SplitArrays] = {}
    for name in SPLITS:
        count = manifest.splits[name]
        shapes = {"rgb": (count, size, size, 3), "edge": (count, size, size), "saliency": (count, size, size)}
        arrays = {kind: _open_array(root, array_name(name, kind), shapes[kind]) for kind in ARRAY_KINDS}
        splits[name] = SplitArrays(**arrays)
    return PreparedDataset(root, manifest, splits)


# ---------------------------------------------------------------------------------------------
# internals


class _Fields:
    """Typed reads of a manifest's optional fields, each a DatasetError naming the file when mistyped."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self._data, self._where = data, where

    def _wrong(self, key: str, wanted: str) -> DatasetError:
        return DatasetError(f"{self._where}: {key} must be {wanted}, got {self._data[key]!r}")

    def integer(self, key: str, default: int | None = None, minimum: int | None = None) -> int:
        value = self._data.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or (minimum is not None and value < minimum):
            raise self._wrong(key, "an integer" + (f" of at least {minimum}" if minimum is not None else ""))
        return value

    def number(self, key: str, default: float) -> float:
        value = self._data.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise self._wrong(key, "a number")
        return float(value)

    def text(self, key: str, default: str) -> str:
        value = self._data.get(key, default)
        if not isinstance(value, str):
            raise self._wrong(key, "text")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self._data[key]
        if not isinstance(value, dict):
            raise self._wrong(key, "an object")
        return value


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _threshold(value: Any, where: str, name: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= CANNY_MAX:
        raise DatasetError(f"{where}: canny {name} must be null or a number in 0..{CANNY_MAX}, got {value!r}")
    return float(value)


def _skipped(value: Any, where: str) -> tuple[SkippedFile, ...]:
    if not isinstance(value, list) or not all(
            isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("reason"), str)
            for item in value):
        raise DatasetError(f"{where}: skipped must be a list of {{path, reason}}")
    return tuple(SkippedFile(item["path"], item["reason"]) for item in value)


def _open_array(root: Path, filename: str, shape: tuple[int, ...]) -> np.ndarray:
    path = root / filename
    if not path.is_file():
        raise DatasetError(f"{root}: incomplete dataset, {filename} is missing")
    try:
        array = np.load(path, mmap_mode="r" if shape[0] else None, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{root}: {filename} is damaged ({exc})") from None
    if array.shape != shape or array.dtype != np.uint8:
        raise DatasetError(
            f"{root}: {filename} has shape {array.shape} {array.dtype}, expected {shape} uint8"
        )
    return array
