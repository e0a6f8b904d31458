"""CIFAR-10 on disk: safe reading of the python batch files and a stratified, seeded subset.

The files are the ones torchvision's `CIFAR10` uses (`<root>/cifar-10-batches-py/data_batch_1..5`,
`test_batch`, `batches.meta`). They are pickles, so they are read with `SafeUnpickler`, which only
rebuilds plain builtins and numpy arrays and refuses anything else: a tampered file stays data.
By default the official md5 checksums (torchvision's list) are checked first; `verify=False` reads
files in the same format that are not the official ones (synthetic data in tests, re-encoded copies).
"""

from __future__ import annotations

import codecs
import hashlib
import importlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from colorcore.core.advice import OFF, ON, Advice, AdvisedError

CIFAR_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
NUM_CLASSES = 10
IMAGE_SIDE = 32
IMAGE_BYTES = 3 * IMAGE_SIDE * IMAGE_SIDE
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
DEFAULT_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


class CifarError(AdvisedError, ValueError):
    """CIFAR-10 files are missing, corrupt, not in the expected format, or unsafe to read."""


def _numpy_global(*candidates: str) -> Callable[[], Any]:
    """Resolver for a numpy function that moved between numpy 1 (numpy.core) and 2 (numpy._core)."""

    def resolve() -> Any:
        for dotted in candidates:
            module, _, name = dotted.rpartition(".")
            try:
                return getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                continue
        raise CifarError(f"this numpy has none of {', '.join(candidates)}")

    return resolve


_RECONSTRUCT = _numpy_global("numpy._core.multiarray._reconstruct", "numpy.core.multiarray._reconstruct")
_FROMBUFFER = _numpy_global("numpy._core.numeric._frombuffer", "numpy.core.numeric._frombuffer")

# (module, name) -> resolver: the only globals a CIFAR-10 batch pickle may reference. Python 2
# pickles (the official files) name numpy.core; numpy 2 writes numpy._core; Python 3 protocol-2
# pickles of bytes go through _codecs.encode.
ALLOWED_GLOBALS: dict[tuple[str, str], Callable[[], Any]] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy._core.numeric", "_frombuffer"): _FROMBUFFER,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("_codecs", "encode"): lambda: codecs.encode,
}


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler that rebuilds only plain builtins and numpy arrays; any other global is refused."""

    def find_class(self, module: str, name: str) -> Any:
        resolver = ALLOWED_GLOBALS.get((module, name))
        if resolver is None:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name} (a CIFAR-10 batch holds only arrays, lists and strings)"
            )
        return resolver()


def safe_unpickle(data: bytes) -> Any:
    """Unpickle `data` with `SafeUnpickler` (Python 2 strings decoded as latin-1, like torchvision)."""
    return SafeUnpickler(io.BytesIO(data), encoding="latin1").load()


def _plain_keys(obj: dict) -> dict[str, Any]:
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _load_dict(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CifarError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        obj = safe_unpickle(raw)
    except pickle.UnpicklingError as exc:
        raise CifarError(f"{path}: not a safe CIFAR-10 batch file: {exc}") from exc
    except Exception as exc:  # truncated or garbage bytes raise many different types
        raise CifarError(f"{path}: not a CIFAR-10 batch file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise CifarError(f"{path}: not a CIFAR-10 batch file (holds a {type(obj).__name__}, not a dict)")
    return _plain_keys(obj)


def read_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (images uint8 (N, 32, 32, 3) RGB, labels int64 (N,)); CifarError if invalid."""
    path = Path(path)
    entry = _load_dict(path)
    data = entry.get("data")
    labels = entry.get("labels", entry.get("fine_labels"))
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != IMAGE_BYTES:
        shape = getattr(data, "shape", None)
        raise CifarError(f"{path}: 'data' must be a uint8 array of shape (N, {IMAGE_BYTES}), got {shape}")
    try:
        label_array = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise CifarError(f"{path}: 'labels' is not a list of integers") from exc
    if label_array.shape[0] != data.shape[0]:
        raise CifarError(f"{path}: {data.shape[0]} images but {label_array.shape[0]} labels")
    if label_array.size and (label_array.min() < 0 or label_array.max() >= NUM_CLASSES):
        raise CifarError(f"{path}: labels must be in 0..{NUM_CLASSES - 1}")
    images = data.reshape(-1, 3, IMAGE_SIDE, IMAGE_SIDE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), label_array


def read_class_names(path: str | Path) -> tuple[str, ...]:
    """Class names from `batches.meta` (the standard names when the file does not list ten)."""
    names = _load_dict(Path(path)).get("label_names")
    if isinstance(names, list) and len(names) == NUM_CLASSES:
        return tuple(n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names)
    return DEFAULT_CLASS_NAMES


@dataclass(frozen=True)
class Cifar10:
    """The whole dataset in memory: uint8 RGB images (N, 32, 32, 3) and int64 labels."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: tuple[str, ...]
    folder: Path


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes (read in 1 MiB chunks), e.g. "md5" or "sha256"."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def official_md5() -> dict[str, str]:
    """File name -> official md5, from torchvision's CIFAR10 class."""
    from torchvision.datasets import CIFAR10

    return {name: md5 for name, md5 in (*CIFAR10.train_list, *CIFAR10.test_list)} | {
        CIFAR10.meta["filename"]: CIFAR10.meta["md5"]
    }


def download_cifar10(root: str | Path) -> None:
    """Download and extract the official archive into `root` with torchvision (md5-checked)."""
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    try:
        download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5)
    except Exception as exc:  # URLError, OSError, checksum mismatch
        raise CifarError(
            f"could not download CIFAR-10 into {root} ({type(exc).__name__}: {exc}). Without internet, "
            f"download cifar-10-python.tar.gz from {CIFAR_URL} elsewhere and extract it so that "
            f"{Path(root) / CIFAR_FOLDER} exists."
        ) from exc


def _missing_message(folder: Path) -> str:
    return (
        f"CIFAR-10 not found: {folder} must hold {', '.join(TRAIN_BATCHES)}, {TEST_BATCH} "
        f"(and {META_FILE}). Download cifar-10-python.tar.gz (python version) from {CIFAR_URL} and "
        f"extract it into {folder.parent}, or let the experiment download it."
    )


def load_cifar10(root: str | Path, *, download: bool = False, verify: bool = True) -> Cifar10:
    """Read CIFAR-10 from `root/cifar-10-batches-py` (downloading it first when asked).

    `verify=True` checks each file against the official md5 before reading it; `verify=False`
    accepts any files in the same format. Either way the pickles go through `SafeUnpickler`.
    """
    root = Path(root).expanduser()
    folder = root / CIFAR_FOLDER
    needed = (*TRAIN_BATCHES, TEST_BATCH)
    if download and not all((folder / name).is_file() for name in needed):
        download_cifar10(root)
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise CifarError(_missing_message(folder) + f" Missing: {', '.join(missing)}.", [Advice("download", ON)])
    meta = folder / META_FILE
    if verify:
        expected = official_md5()
        for name in (*needed, META_FILE) if meta.is_file() else needed:
            if file_digest(folder / name, "md5") != expected[name]:
                raise CifarError(
                    f"{folder / name}: md5 does not match the official CIFAR-10 file. Delete the folder and "
                    "download it again, or accept files in the same format that are not the official ones.",
                    [Advice("download", ON), Advice("verify", OFF)],
                )
    parts = [read_batch(folder / name) for name in TRAIN_BATCHES]
    test_images, test_labels = read_batch(folder / TEST_BATCH)
    return Cifar10(
        train_images=np.concatenate([p[0] for p in parts]),
        train_labels=np.concatenate([p[1] for p in parts]),
        test_images=test_images,
        test_labels=test_labels,
        class_names=read_class_names(meta) if meta.is_file() else DEFAULT_CLASS_NAMES,
        folder=folder,
    )


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> list[np.ndarray]:
    """For each class, `per_class` distinct indices of that class drawn with `rng` (in draw order)."""
    chosen = []
    for cls in range(NUM_CLASSES):
        pool = np.flatnonzero(labels == cls)
        if pool.size < per_class:
            raise CifarError(
                f"class {cls} has only {pool.size} images, {per_class} needed for an equal split; "
                "use smaller sizes"
            )
        chosen.append(rng.permutation(pool)[:per_class])
    return chosen


@dataclass(frozen=True)
class SubsetIndices:
    """Indices of the train / validation images (into the training batches) and test images."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def per_class_count(total: int, what: str) -> int:
    """`total` / 10, or a CifarError when `total` cannot be split equally over the ten classes."""
    if total < 0 or total % NUM_CLASSES:
        raise CifarError(f"{what} must be a non-negative multiple of {NUM_CLASSES} (equal per class), got {total}")
    return total // NUM_CLASSES


def stratified_subset(
    train_labels: np.ndarray, test_labels: np.ndarray, *, train_size: int, val_size: int, test_size: int, seed: int
) -> SubsetIndices:
    """Equal-per-class, seeded subset: `train_size` training images (all of them fitted), `val_size`
    validation images drawn from the rest of the training batches (disjoint from the training images),
    and `test_size` images of the test batch.
    """
    n_train = per_class_count(train_size, "the training size")
    n_val = per_class_count(val_size, "the validation size")
    n_test = per_class_count(test_size, "the test size")
    rng = np.random.default_rng(seed)
    labelled = stratified_indices(train_labels, n_train + n_val, rng)
    test = stratified_indices(test_labels, n_test, rng)
    return SubsetIndices(
        train=np.sort(np.concatenate([c[n_val:] for c in labelled])),
        val=np.sort(np.concatenate([c[:n_val] for c in labelled])),
        test=np.sort(np.concatenate(test)),
    )
