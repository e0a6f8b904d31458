"""Prepare a photo folder into a cached training dataset (`colorcore.data.prepared` reads it back).

A prepared dataset is a folder holding `manifest.json` (written last, a `Manifest`) and, per split
("train", "test"), three uint8 `.npy` arrays (rgb, edge, saliency: see `colorcore.data.prepared`).
The choices and their defaults are in `colorcore.data.settings`. Each photo gives its centre square
resized to S x S (see `imageio.to_square`) and, with `crops_per_photo` N > 0, N more samples: random squares at several scales (a side of
`CROP_MIN_SCALE` to 1 times the photo's shorter side), half of them mirrored, all from one decode of
the photo at the smallest sufficient reduction. Edges come from each sample's BT.601 luma, saliency
from its colour image. Photos, never crops, are split into train and test: every sample of a photo
lands in the same split (the manifest's `files` names each sample's photo, `photos` lists them once).

`prepare` builds the folder next to its destination under a hidden temporary name
(`.NAME.partial-*`, holding the id of the process building it) and renames it into place only when
complete, so a cancelled or crashed run never leaves a folder that looks prepared; one left behind by a
killed process is removed by the next `prepare` into the same destination. Every array file is
allocated in full before it is written (never sparse: a memory-mapped write to a full disk would
otherwise kill the process with SIGBUS), so a lack of disk space is a `DatasetError` that says so, with
nothing left behind. The folder gets the permissions `mkdir` would give it (0777 minus the umask).
This module imports no torch, so `colorcore prepare` starts fast.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence

import cv2
import numpy as np
from numpy.lib.format import open_memmap

from colorcore.core.advice import ON, Advice, advice_of
from colorcore.core.atomic import UMASK, atomic_write_bytes, fsync_dir
from colorcore.inference.batch import is_output_name
from colorcore.core.events import EndEvent, ErrorEvent, ProgressEvent, StopFlag, emit
from colorcore.data.guidance import storage_maps
from colorcore.data.imageio import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    ImageReadError,
    list_images,
    luma,
    read_image,
    to_square,
)
from colorcore.core.provenance import collect_provenance
from colorcore.data.prepared import (
    ARRAY_KINDS,
    MANIFEST_NAME,
    SPLITS,
    DatasetError,
    Manifest,
    SkippedFile,
    array_name,
    is_prepared_dataset,
)
from colorcore.data.prepared import PreparedDataset, SplitArrays, load_prepared  # noqa: F401 (see below)
from colorcore.data.settings import (
    CANNY_MAX,
    CROP_MIN_SCALE,
    DEFAULT_CROPS_PER_PHOTO,
    DEFAULT_SALIENCY,
    DEFAULT_SEED,
    DEFAULT_SIZE,
    DEFAULT_TEST_FRACTION,
    MAX_CROPS_PER_PHOTO,
    MIN_SIZE,
    SALIENCY_METHODS,
)

# `colorcore.dataset`, 0.1's name of this module, still imports as it (colorcore.MOVED_MODULES) and held
# the reading names too: `PreparedDataset`, `SplitArrays` and `load_prepared` are imported above so that
# `from colorcore.dataset import load_prepared` works until 0.3; new code imports them from
# colorcore.data.prepared.
# Worker threads run in parallel: OpenCV and Pillow release Python's GIL while decoding and
# filtering, and threads start instantly (worker processes cost a second or more each to start,
# more than the whole job on a typical folder once the reduced JPEG decode is used).
DEFAULT_MAX_WORKERS = 8
TASKS_IN_FLIGHT_PER_WORKER = 3
PAUSE_POLL_S = 0.2
PARTIAL_INFIX = ".partial-"  # staging folders: f".{name}{PARTIAL_INFIX}{random}"
OWNER_FILE = ".owner-pid"  # inside a staging folder: the id of the process building it
NO_SPACE_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


@dataclass
class PrepareResult:
    """What `prepare` did: counts, skipped files with reasons, time, and whether it was cancelled."""

    out: Path
    n_train: int
    n_test: int
    skipped: list[SkippedFile] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False


def prepare(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    size: int = DEFAULT_SIZE,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    seed: int = DEFAULT_SEED,
    saliency: str = DEFAULT_SALIENCY,
    canny_low: float | None = None,
    canny_high: float | None = None,
    workers: int | None = None,
    callbacks: Sequence[object] = (),
    stop: StopFlag | None = None,
    overwrite: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    crops_per_photo: int = DEFAULT_CROPS_PER_PHOTO,
) -> PrepareResult:
    """Prepare every photo under `src` (recursive) into the dataset folder `out`.

    Each photo gives 1 + `crops_per_photo` samples (its centre square, then random crops seeded by
    `seed` and the photo's name); the split is by photo.

    Unreadable photos are skipped and listed (never fatal). The train/test split is deterministic
    for a given seed and set of readable files. `workers=None` uses one worker thread per core
    (up to 8), `workers=1` the calling thread. Emits `ProgressEvent`s and an `EndEvent`; `stop`
    cancels (nothing is written). Raises ValueError for bad parameters and DatasetError for an
    unusable `src` or `out`.
    """
    started = time.perf_counter()
    _check_parameters(size, test_fraction, saliency, canny_low, canny_high, workers)
    if not isinstance(crops_per_photo, int) or not 0 <= crops_per_photo <= MAX_CROPS_PER_PHOTO:
        raise ValueError(f"crops per photo must be an integer in 0..{MAX_CROPS_PER_PHOTO}, got {crops_per_photo!r}")
    source, target = Path(src), Path(out)
    _check_source(source)
    _check_destination(source, target, overwrite)
    candidates = list_images(source)
    if not candidates:
        raise DatasetError(
            f"{source}: no images found (looked recursively for {', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    names = [p.relative_to(source).as_posix() for p in candidates]
    total = len(candidates)
    emit(callbacks, "on_progress", ProgressEvent(0, total, f"found {total} photos in {source}"))
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in remove_stale_partials(target):
        emit(callbacks, "on_progress", ProgressEvent(0, total, f"removed {stale.name}, left by an interrupted prepare"))
    staging: Path | None = None
    try:
        staging = _make_staging(target)
        result = _prepare_into(
            staging, source, target, candidates, names, size, test_fraction, seed, saliency,
            canny_low, canny_high, workers, callbacks, stop, overwrite, max_pixels, started, crops_per_photo,
        )
    except OSError as exc:
        if exc.errno not in NO_SPACE_ERRNOS:
            raise
        needed = _bytes_needed(total * (1 + crops_per_photo), size)
        error = DatasetError(f"{target.parent}: not enough free disk space to prepare {target.name} "
                             f"(it needs about {_megabytes(needed)}, {_megabytes(_free_bytes(target.parent))} "
                             "free); free some space or choose a folder on another disk")
        emit(callbacks, "on_error", ErrorEvent(str(error), "Free some space or choose a folder on another disk.",
                                               error))
        emit(callbacks, "on_end", EndEvent("failed", {"error": str(error)}))
        raise error from None
    except Exception as exc:
        emit(callbacks, "on_error", ErrorEvent(str(exc), exception=exc, advice=advice_of(exc)))
        emit(callbacks, "on_end", EndEvent("failed", {"error": str(exc)}))
        raise
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    status = "stopped" if result.cancelled else "finished"
    emit(callbacks, "on_end", EndEvent(status, {
        "out": str(result.out), "n_train": result.n_train, "n_test": result.n_test,
        "skipped": len(result.skipped), "seconds": result.seconds,
    }))
    return result


def split_names(names: Sequence[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Deterministic seeded split of file names into (train, test), each in the input order.

    Files are ranked by a seeded hash of their name, so a file keeps its split when others are
    added or removed (mostly); the test count is round(n * test_fraction), and at least one file
    goes to each split when n >= 2 and 0 < test_fraction.
    """
    n = len(names)
    n_test = int(math.floor(n * test_fraction + 0.5))
    if test_fraction > 0 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    elif n < 2:
        n_test = 0
    ranked = sorted(names, key=lambda name: hashlib.sha256(f"{seed}\0{name}".encode()).hexdigest())
    test = set(ranked[:n_test])
    return [nm for nm in names if nm not in test], [nm for nm in names if nm in test]


# ---------------------------------------------------------------------------------------------
# preparation internals


def _check_parameters(
    size: int, test_fraction: float, saliency: str, canny_low: float | None,
    canny_high: float | None, workers: int | None,
) -> None:
    if not isinstance(size, int) or size < MIN_SIZE:
        raise ValueError(f"size must be an integer of at least {MIN_SIZE}, got {size!r}")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test fraction must be in [0, 1), got {test_fraction}")
    if saliency not in SALIENCY_METHODS:
        raise ValueError(f"unknown saliency method {saliency!r}: choose one of {', '.join(SALIENCY_METHODS)}")
    for name, value in (("canny low", canny_low), ("canny high", canny_high)):
        if value is not None and not 0 <= value <= CANNY_MAX:
            raise ValueError(f"{name} threshold must be in 0..{CANNY_MAX}, got {value}")
    if canny_low is not None and canny_high is not None and canny_low > canny_high:
        raise ValueError(f"canny low ({canny_low}) must not exceed canny high ({canny_high})")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")


def _make_staging(target: Path) -> Path:
    """A new hidden staging folder beside `target`, with the permissions `mkdir` gives (not mkdtemp's
    0700) and this process's id inside (see `remove_stale_partials`)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{PARTIAL_INFIX}", dir=target.parent))
    try:
        os.chmod(staging, 0o777 & ~UMASK)
        (staging / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging


def _partials(target: Path) -> list[Path]:
    return sorted(target.parent.glob(f".{target.name}{PARTIAL_INFIX}*"))


def _owner(partial: Path) -> int | None:
    try:
        return int((partial / OWNER_FILE).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (assumed so where that cannot be asked)."""
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(target: Path) -> list[Path]:
    """Remove the staging folders of `target` whose process is gone (a prepare killed before it could
    clean up); those of a prepare still running are left alone. Returns the folders removed."""
    removed = []
    for partial in _partials(target):
        owner = _owner(partial)
        if partial.is_dir() and owner is not None and owner != os.getpid() and not _process_alive(owner):
            shutil.rmtree(partial, ignore_errors=True)
            removed.append(partial)
    return removed


def _bytes_needed(rows: int, size: int) -> int:
    """Disk space a preparation of `rows` samples uses at its peak (every array twice: all, then split)."""
    return 2 * rows * size * size * (3 + 1 + 1)


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0


def _megabytes(nbytes: int) -> str:
    return f"{nbytes / 1e6:.1f} MB"


def _allocated_memmap(path: Path, shape: tuple[int, ...]) -> np.memmap:
    """A new uint8 .npy memmap of `shape` whose blocks are all allocated on disk: OSError (ENOSPC) now
    when they do not fit, instead of SIGBUS at the first write to a page the disk cannot hold."""
    array = open_memmap(path, "w+", np.uint8, shape)
    length = path.stat().st_size
    with open(path, "rb+") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, length)
        except AttributeError:  # no posix_fallocate (Windows, macOS): write the zeros out
            _write_zeros(handle, array.offset, length)
        except OSError as exc:
            if exc.errno in NO_SPACE_ERRNOS:
                raise
            _write_zeros(handle, array.offset, length)  # a file system without fallocate
    return array


def _write_zeros(handle: Any, start: int, end: int, chunk: int = 1 << 20) -> None:
    """Write zeros over bytes start..end of an open file (its data after the .npy header)."""
    handle.seek(start)
    zeros = bytes(chunk)
    while start < end:
        start += handle.write(zeros[:end - start])
    handle.flush()


def _check_source(source: Path) -> None:
    if not source.exists():
        raise DatasetError(f"{source}: source folder not found")
    if not source.is_dir():
        raise DatasetError(f"{source}: not a folder (give a folder of photos)")


def _check_destination(source: Path, target: Path, overwrite: bool) -> None:
    resolved_source, resolved_target = source.resolve(), target.resolve()
    if resolved_source == resolved_target or resolved_target in resolved_source.parents:
        raise DatasetError(f"{target}: the output folder must not be the source folder or contain it")
    if not target.exists():
        return
    if not target.is_dir():
        raise DatasetError(f"{target}: exists and is not a folder")
    if not any(target.iterdir()):
        return
    if not is_prepared_dataset(target):
        raise DatasetError(
            f"{target}: folder exists, is not empty and is not a prepared dataset; "
            "choose a new or empty folder"
        )
    if not overwrite:
        raise DatasetError(f"{target}: already holds a prepared dataset", [Advice("overwrite", ON)])


def _prepare_into(
    staging: Path, source: Path, target: Path, candidates: list[Path], names: list[str], size: int,
    test_fraction: float, seed: int, saliency: str, canny_low: float | None,
    canny_high: float | None, workers: int | None, callbacks: Sequence[object],
    stop: StopFlag | None, overwrite: bool, max_pixels: int, started: float, crops_per_photo: int,
) -> PrepareResult:
    total = len(candidates)
    per_photo = 1 + crops_per_photo
    rows_total = total * per_photo
    every = {
        "rgb": _allocated_memmap(staging / "all_rgb.npy", (rows_total, size, size, 3)),
        "edge": _allocated_memmap(staging / "all_edge.npy", (rows_total, size, size)),
        "saliency": _allocated_memmap(staging / "all_saliency.npy", (rows_total, size, size)),
    }
    readable = np.zeros(total, bool)
    reasons: dict[int, str] = {}
    settings = (size, saliency, canny_low, canny_high, max_pixels, crops_per_photo, seed)
    tasks = [(i, str(p), names[i]) for i, p in enumerate(candidates)]
    done = 0
    with contextlib.closing(_process_all(tasks, settings, workers, stop)) as results:
        for index, maps, reason in results:
            if maps is None:
                reasons[index] = reason or "unknown error"
            else:
                rows = slice(index * per_photo, (index + 1) * per_photo)
                every["rgb"][rows], every["edge"][rows], every["saliency"][rows] = maps
                readable[index] = True
            done += 1
            emit(callbacks, "on_progress", ProgressEvent(done, total, names[index]))
            if stop is not None and stop.stop_requested:
                break
    cancelled = stop is not None and stop.stop_requested
    skipped = [SkippedFile(names[i], reasons[i]) for i in sorted(reasons)]
    if cancelled:
        return PrepareResult(target, 0, 0, skipped, time.perf_counter() - started, cancelled=True)
    good = [i for i in range(total) if readable[i]]
    if not good:
        first = skipped[0]
        raise DatasetError(
            f"{source}: none of the {total} image files could be read "
            f"(first: {first.path}: {first.reason})"
        )
    index_of = {names[i]: i for i in good}
    train_names, test_names = split_names([names[i] for i in good], test_fraction, seed)
    for split, members in (("train", train_names), ("test", test_names)):
        rows = np.array([index_of[nm] * per_photo + k for nm in members for k in range(per_photo)], dtype=np.int64)
        for kind, source_array in every.items():
            _write_rows(staging / array_name(split, kind), source_array, rows)
    del every
    for kind in ARRAY_KINDS:
        (staging / f"all_{kind}.npy").unlink()
    seconds = time.perf_counter() - started
    manifest = _manifest(source, size, saliency, canny_low, canny_high, test_fraction, seed,
                         {"train": train_names, "test": test_names}, skipped, seconds, crops_per_photo)
    atomic_write_bytes(staging / MANIFEST_NAME, json.dumps(manifest.to_dict(), indent=1).encode("utf-8"))
    (staging / OWNER_FILE).unlink()
    fsync_dir(staging)
    _install(staging, target, overwrite)
    return PrepareResult(target, len(train_names) * per_photo, len(test_names) * per_photo, skipped, seconds)


def _process_all(
    tasks: list[tuple[int, str, str]], settings: tuple[Any, ...], workers: int | None, stop: StopFlag | None
) -> Iterator[tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray] | None, str | None]]:
    """Results per photo (index, path, name), in completion order, from a pool of worker threads (or this thread)."""
    count = workers or min(os.cpu_count() or 1, DEFAULT_MAX_WORKERS)
    if count == 1:
        for task in tasks:
            _wait_if_paused(stop)
            if stop is not None and stop.stop_requested:
                return
            yield from _process_chunk([task], settings)
        return
    executor = futures.ThreadPoolExecutor(max_workers=count, thread_name_prefix="colorcore-prepare")
    try:
        pending: set[futures.Future[list[Any]]] = set()
        queue = iter(tasks)
        while True:
            _wait_if_paused(stop)
            stopping = stop is not None and stop.stop_requested
            while not stopping and len(pending) < count * TASKS_IN_FLIGHT_PER_WORKER:
                task = next(queue, None)
                if task is None:
                    break
                pending.add(executor.submit(_process_chunk, [task], settings))
            if not pending or stopping:
                return
            finished, pending = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
            for future in finished:
                yield from future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _wait_if_paused(stop: StopFlag | None) -> None:
    while stop is not None and stop.paused and not stop.stop_requested:
        stop.wait_if_paused(PAUSE_POLL_S)


def photo_seed(seed: int, name: str) -> int:
    """The crop generator's seed for one photo: depends only on the dataset seed and the photo's name."""
    return int.from_bytes(hashlib.sha256(f"crops\0{seed}\0{name}".encode()).digest()[:8], "little")


def halvings(image: np.ndarray, smallest: int) -> list[np.ndarray]:
    """`image` and its successive halvings (2x2 averages, INTER_AREA) while the shorter side stays at
    least `smallest`: level k is `image` reduced 2**k times."""
    levels = [image]
    while min(levels[-1].shape[:2]) // 2 >= smallest:
        height, width = levels[-1].shape[:2]
        even = levels[-1][:height - height % 2, :width - width % 2]
        levels.append(cv2.resize(even, (width // 2, height // 2), interpolation=cv2.INTER_AREA))
    return levels


def random_crops(image: np.ndarray, size: int, count: int, rng: np.random.Generator,
                 min_scale: float = CROP_MIN_SCALE) -> list[np.ndarray]:
    """`count` random square crops of `image` resized to `size` (INTER_AREA): each side a
    log-uniform share in [min_scale, 1] of the shorter side (at least `size` px), placed uniformly,
    mirrored left-right with probability 1/2.

    Each crop is cut from the halving of `image` (`halvings`) at which it still has at least `size`
    px, so the resize reads at most 4x its output's pixels however large the crop: the same box
    average up to the crop's position being rounded to that level's pixel grid, 2-3x faster
    (`benchmarks/bench_prepare.py --crops-per-photo`)."""
    height, width = image.shape[:2]
    short = min(height, width)
    levels = halvings(image, size)
    crops = []
    for _ in range(count):
        scale = math.exp(rng.uniform(math.log(min_scale), 0.0))
        side = int(min(short, max(size, round(scale * short))))
        top = int(rng.integers(0, height - side + 1))
        left = int(rng.integers(0, width - side + 1))
        level = min(len(levels) - 1, max(0, int(math.floor(math.log2(side / size)))))
        top, left, side = top >> level, left >> level, side >> level
        crop = to_square(levels[level][top:top + side, left:left + side], size)
        crops.append(np.ascontiguousarray(crop[:, ::-1]) if rng.random() < 0.5 else crop)
    return crops


def preview_samples(
    photos: Sequence[tuple[str, np.ndarray]], size: int, canny: tuple[float, float] | None, saliency: str
) -> list[tuple[str, list[np.ndarray]]]:
    """For each (name, decoded RGB photo): [its centre sample, that sample's gray, Canny edges,
    saliency] as uint8, made from that decode exactly as `prepare` makes a photo's first sample (what the Dataset tab
    previews). `canny` None derives the thresholds from each sample's median."""
    low, high = canny if canny is not None else (None, None)
    rows = []
    for name, rgb in photos:
        square = to_square(rgb, size)
        edges, sal = storage_maps(square, saliency=saliency, canny_low=low, canny_high=high)
        rows.append((name, [square, luma(square), edges, sal]))
    return rows


def decode_min_side(size: int, crops_per_photo: int) -> int:
    """The short side a photo is decoded to at least: `size`, or, with random crops, enough that the
    smallest crop (CROP_MIN_SCALE of the short side) still has `size` pixels."""
    return size if not crops_per_photo else math.ceil(size / CROP_MIN_SCALE)


def _process_chunk(
    tasks: list[tuple[int, str, str]], settings: tuple[Any, ...]
) -> list[tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray] | None, str | None]]:
    """Read each photo once and make its samples: (index, (rgb, edge, saliency) stacked | None, reason | None)."""
    size, saliency, canny_low, canny_high, max_pixels, crops_per_photo, seed = settings
    min_side = decode_min_side(size, crops_per_photo)
    results: list[tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray] | None, str | None]] = []
    for index, path, name in tasks:
        if is_output_name(Path(path)):  # colorcore colorize writes its results beside the photos
            results.append((index, None, "a colourised output of colorcore colorize (NAME_colour.EXT), not a photo; "
                                         "rename it to train on it"))
            continue
        try:
            image = read_image(path, max_pixels=max_pixels, min_size=min_side)
            samples = [to_square(image, size)]
            if crops_per_photo:
                samples += random_crops(image, size, crops_per_photo, np.random.default_rng(photo_seed(seed, name)))
            maps = [storage_maps(square, saliency=saliency, canny_low=canny_low, canny_high=canny_high)
                    for square in samples]
            results.append((index, (np.stack(samples), np.stack([m[0] for m in maps]),
                                    np.stack([m[1] for m in maps])), None))
        except ImageReadError as exc:
            results.append((index, None, exc.reason))
        except MemoryError:
            results.append((index, None, "out of memory while reading"))
        except Exception as exc:  # a photo must never stop the whole preparation
            results.append((index, None, f"unexpected error ({type(exc).__name__}: {exc})"))
    return results


def _write_rows(path: Path, source: np.ndarray, rows: np.ndarray) -> None:
    shape = (len(rows),) + source.shape[1:]
    if len(rows) == 0:
        np.save(path, np.zeros(shape, np.uint8))
        return
    target = _allocated_memmap(path, shape)
    step = 1024
    for start in range(0, len(rows), step):
        target[start:start + step] = source[rows[start:start + step]]
    target.flush()
    del target
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def _manifest(
    source: Path, size: int, saliency: str, canny_low: float | None, canny_high: float | None,
    test_fraction: float, seed: int, photos: dict[str, list[str]], skipped: list[SkippedFile],
    seconds: float, crops_per_photo: int,
) -> Manifest:
    per_photo = 1 + crops_per_photo
    return Manifest(
        size=size, saliency=saliency, canny_low=canny_low, canny_high=canny_high, test_fraction=test_fraction,
        seed=seed, source=str(source.resolve()),
        splits={name: len(photos[name]) * per_photo for name in SPLITS},
        files={name: tuple(nm for nm in photos[name] for _ in range(per_photo)) for name in SPLITS},
        photos={name: tuple(photos[name]) for name in SPLITS}, skipped=tuple(skipped),
        crops_per_photo=crops_per_photo, created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        seconds=round(seconds, 3), provenance=collect_provenance(),
    )


def _install(staging: Path, target: Path, overwrite: bool) -> None:
    """Move the finished staging folder to `target` (replacing an old dataset when allowed)."""
    if target.exists():
        _check_destination(staging, target, overwrite)
        if not any(target.iterdir()):
            target.rmdir()
        else:
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
            return
    os.replace(staging, target)
    fsync_dir(target.parent)
