"""Colourise photos and videos one after another: the loop behind `colorcore colorize` and the
Colourise tab, and the one output-naming policy both use.

Outputs are named by `output_path`: NAME<suffix>.EXT (`OUTPUT_SUFFIX` unless the caller asks for
another suffix), NAME<suffix>_N.EXT for a numbered one. A photo keeps its format wherever it can be
written (JPEG, PNG, WebP, BMP, TIFF, its extension's case kept), other JPEG names become .jpg and the
rest .png; a video keeps its container. `colorize_many` runs a list of `BatchItem`s: one `ItemEvent`
per change of an item (`on_item`), a file's own progress (`on_item_progress`, a video's frames), the
files done (`on_progress`); a stop is honoured between files and inside a video; a file that fails, for
any reason, is reported with its name and the reason and the rest go on (an unexpected error's
traceback goes to the `colorcore.inference.batch` logger); an existing file is never replaced unless `overwrite`
is given, also when another process writes the same output meanwhile (an output is published with an
exclusive link, not a check then a rename); folders the batch made and left empty are removed.

Light at import (no numpy, no torch: the CLI's parser and the GUI's queue name outputs with it); the
engine is imported when a batch runs.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Sequence

from colorcore.core.advice import ON, OTHER, Advice
from colorcore.core.events import EndEvent, ItemEvent, ProgressEvent, StopFlag, emit, should_stop
from colorcore.inference.hints import hints_path_for, save_edits

if TYPE_CHECKING:
    import numpy as np

    from colorcore.inference.colour_control import ColourControls
    from colorcore.models.base import ColorModel

OUTPUT_SUFFIX = "_colour"
CLAIM_INFIX = ".claim"  # a hidden file in the output folder holds an output until it is published
_log = logging.getLogger(__name__)
FORMATS = ("same", "png", "jpg")  # a photo's output format: its own where it can be written, or PNG, or JPEG
FALLBACK_EXTENSION = ".png"
DEFAULT_QUALITY = 95


@dataclass(frozen=True)
class BatchItem:
    """One photo or video to colourise into `target`, with its colour `controls` (None: the model's
    colours); `save_hints` writes the controls' hints beside the output (NAME.hints.json, with the
    reference photos' paths and the saturation: `colour_control.saved_edits`), so that they come back
    when the result is edited again."""

    source: Path
    target: Path
    controls: ColourControls | None = None
    save_hints: bool = False


@dataclass(frozen=True)
class BatchResult:
    """How a batch ended: `status` "finished" or "stopped", and how many items were done or failed."""

    status: str
    done: int
    failed: int


def is_output_name(path: Path, suffix: str = OUTPUT_SUFFIX) -> bool:
    """True when `path` is named as an output of `output_path` with `suffix`: NAME<suffix>.EXT or
    NAME<suffix>_N.EXT (how folder searches of `colorize` and `prepare` leave earlier results out)."""
    return bool(suffix) and re.search(re.escape(suffix) + r"(_[0-9]+)?$", path.stem) is not None


def resolved(path: Path) -> Path:
    """`path` made absolute with its links followed; as it is (absolute) when a link loops."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: Python < 3.13's "Symlink loop"
        return path.absolute()


def link_problem(path: Path) -> str | None:
    """Why the symbolic link `path` leads to no file (a loop, or a missing target), or None."""
    if not path.is_symlink():
        return None
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{path}: symbolic link loop (the link leads back to itself), skipped"
        try:
            target = os.readlink(path)
        except OSError:
            target = "its target"
        return f"{path}: broken symbolic link ({target} does not exist), skipped"
    return None


def find_inputs(paths: Sequence[Path], *, skip_suffix: str = OUTPUT_SUFFIX
                ) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """The photos and videos named by `paths`, for the CLI and the Colourise tab alike.

    Returns ([(file, the folder it was found in, or None for a file named directly)], one problem per
    bad path). Folders are searched recursively, leaving out earlier outputs (`is_output_name` with
    `skip_suffix`) and hidden files; a file named twice, directly or through folders, comes once; a
    missing path, an empty folder, a symbolic link that loops or leads nowhere and a file that is
    neither a photo nor a video are problems that name the path.
    """
    from colorcore.data.imageio import IMAGE_EXTENSIONS, list_images
    from colorcore.inference.video import VIDEO_SUFFIXES, is_video, list_videos

    found: list[tuple[Path, Path | None]] = []
    problems: list[str] = []
    seen: set[Path] = set()

    def add(file: Path, root: Path | None) -> None:
        problem = link_problem(file)
        if problem is not None:
            problems.append(problem)
        elif resolved(file) not in seen:
            seen.add(resolved(file))
            found.append((file, root))

    for path in map(Path, paths):
        if path.is_dir():
            inside = [Path(p) for p in sorted([*list_images(path), *list_videos(path)])
                      if not is_output_name(Path(p), skip_suffix)]
            if not inside:
                problems.append(f"{path}: no photos or videos in this folder")
            for file in inside:
                add(file, path)
        elif link_problem(path) is not None:
            problems.append(str(link_problem(path)))
        elif not path.exists():
            problems.append(f"{path}: no such file or folder")
        elif path.suffix.lower() in IMAGE_EXTENSIONS or is_video(path):
            add(path, None)
        else:
            known = ", ".join(sorted(IMAGE_EXTENSIONS | set(VIDEO_SUFFIXES)))
            problems.append(f"{path}: not a photo or video (expected one of {known})")
    return found, problems


def output_extension(source: Path, fmt: str = "same") -> str:
    """The output extension of `source` under `fmt` ("same", "png" or "jpg"); a video keeps its own."""
    from colorcore.inference.colorize import JPEG_SUFFIXES
    from colorcore.data.imageio import WRITE_FORMATS
    from colorcore.inference.video import is_video

    if is_video(source):
        return source.suffix
    if fmt == "png":
        return ".png"
    if fmt == "jpg":
        return ".jpg"
    suffix = source.suffix.lower()
    if suffix in WRITE_FORMATS:
        return source.suffix
    return ".jpg" if suffix in JPEG_SUFFIXES else FALLBACK_EXTENSION


def output_path(source: Path, folder: Path, *, suffix: str = OUTPUT_SUFFIX, fmt: str = "same",
                number: int = 1) -> Path:
    """Where the colourised `source` goes in `folder`: NAME<suffix>.EXT, or NAME<suffix>_N.EXT for
    `number` N > 1 (the naming policy of every output)."""
    numbered = f"_{number}" if number > 1 else ""
    return folder / f"{source.stem}{suffix}{numbered}{output_extension(source, fmt)}"


def unused_output_path(source: Path, folder: Path, taken: Collection[Path] = ()) -> Path:
    """The first of NAME_colour.EXT, NAME_colour_2.EXT, ... in `folder` that is not in `taken` and
    is no file yet, nor has a hints file."""
    number = 1
    candidate = output_path(source, folder)
    while candidate in taken or candidate.exists() or hints_path_for(candidate).exists():
        number += 1
        candidate = output_path(source, folder, number=number)
    return candidate


def latest_hints_file(source: Path, folder: Path) -> Path | None:
    """The hints file of the latest earlier result of `source` in `folder` (NAME_colour[_N].EXT with
    NAME_colour[_N].hints.json beside it), or None."""
    found, number = None, 1
    candidate = output_path(source, folder)
    while candidate.exists() or hints_path_for(candidate).exists():
        if candidate.is_file() and hints_path_for(candidate).is_file():
            found = hints_path_for(candidate)
        number += 1
        candidate = output_path(source, folder, number=number)
    return found


@dataclass(frozen=True)
class Refusal:
    """Why an item must not run: `reason` names the file and the problem, `advice` which settings
    would let it run."""

    reason: str
    advice: tuple[Advice, ...] = ()


def refusal(item: BatchItem, written: Collection[Path], overwrite: bool) -> Refusal | None:
    """Why `item` must not run (its output would replace a file, or an output `written` earlier in
    this batch, given resolved), or None."""
    target = resolved(item.target)
    if target in written:
        return Refusal(f"{item.source}: its output {item.target} would replace another photo's output from this run")
    if overwrite:
        return None
    if target == resolved(item.source):
        return Refusal(f"{item.source}: the output would replace the input",
                       (Advice("suffix", OTHER), Advice("out", OTHER), Advice("overwrite", ON)))
    if item.target.exists() or item.target.is_symlink():
        return output_exists(item)
    return None


def output_exists(item: BatchItem, note: str = "") -> Refusal:
    """The refusal of an item whose output file exists (`note` says more)."""
    return Refusal(f"{item.source}: output {item.target} exists{note}", (Advice("overwrite", ON),))


class _OutputTaken(Exception):
    """The output appeared (another process wrote it) while this batch was working on it."""


def _claim_path(target: Path) -> Path:
    """A new hidden, empty file beside `target` (same extension) to write the output into first."""
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f"{CLAIM_INFIX}{target.suffix}", dir=target.parent)
    os.close(fd)
    return Path(name)


def _publish(written: Path, target: Path) -> None:
    """Give the finished file `written` the name `target` unless a file has that name by now (then
    `_OutputTaken`): an exclusive hard link, or where the file system has none, an exclusive create
    then an atomic replace. `written` is gone afterwards in every case."""
    from colorcore.core.atomic import fsync_dir

    try:
        try:
            os.link(written, target)
        except FileExistsError:
            raise _OutputTaken from None
        except OSError:  # no hard links here (FAT, exFAT, some network shares)
            try:
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
            except FileExistsError:
                raise _OutputTaken from None
            os.replace(written, target)
    finally:
        written.unlink(missing_ok=True)
    fsync_dir(target.parent)


def _make_folder(folder: Path, made: list[Path]) -> None:
    """`folder` and its missing parents created; the ones created are added to `made`, outermost first."""
    missing = []
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    folder.mkdir(parents=True, exist_ok=True)
    made.extend(reversed(missing))


def _remove_empty(made: list[Path]) -> None:
    """Remove the folders of `made` (innermost first) that are still empty."""
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): it stays
            pass


def downscaled(image: np.ndarray, long_side: int) -> np.ndarray:
    """`image` (gray, RGB or RGBA uint8) as RGB, downscaled so that its longest side is <= `long_side`."""
    import numpy as np

    from colorcore.data.imageio import shrink_to_long_side

    rgb = image[:, :, :3] if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)
    return shrink_to_long_side(np.ascontiguousarray(rgb), long_side)


def gray_preview(image: np.ndarray, long_side: int) -> np.ndarray:
    """The gray image the model colourises (BT.601 luma), downscaled, as RGB."""
    import numpy as np

    from colorcore.data.imageio import luma

    return np.repeat(luma(downscaled(image, long_side))[:, :, None], 3, axis=2)


def result_previews(source: Path, target: Path, long_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Before (gray input) / after (colourised) previews of a colourised photo, read from its files;
    of a video, its middle frame. Raises ImageReadError or VideoError naming the file."""
    from colorcore.inference.video import is_video

    if is_video(source):
        from colorcore.inference.video import probe_video, read_video_frame

        middle = probe_video(source).duration_s / 2
        return (gray_preview(read_video_frame(source, middle), long_side),
                downscaled(read_video_frame(target, middle), long_side))
    from colorcore.data.imageio import read_image

    return gray_preview(read_image(source), long_side), downscaled(read_image(target), long_side)


class _VideoRelay:
    """One video's engine callback inside a batch: its frames' progress goes on as `on_item_progress`
    and its `FrameEvent`s as `on_frame` (downscaled to `long_side` if given); its own `on_end` stays
    here (the batch ends once)."""

    def __init__(self, callbacks: Sequence[object], long_side: int | None) -> None:
        self._callbacks = callbacks
        self._long_side = long_side

    def on_progress(self, event: ProgressEvent) -> None:
        emit(self._callbacks, "on_item_progress", event)

    def on_frame(self, event: object) -> None:
        if self._long_side is not None:
            event = replace(event, gray=gray_preview(event.gray, self._long_side),
                            colour=downscaled(event.colour, self._long_side))
        emit(self._callbacks, "on_frame", event)


def colorize_many(
    items: Sequence[BatchItem],
    model: ColorModel,
    callbacks: Sequence[object] = (),
    stop: StopFlag | None = None,
    *,
    guided: bool = True,
    inference_size: int | None = None,
    fit: str = "squash",
    quality: int = DEFAULT_QUALITY,
    temporal: bool = True,
    overwrite: bool = False,
    preview_long_side: int | None = None,
) -> BatchResult:
    """Colourise `items` one by one with `model` (photos at full resolution, videos frame by frame).

    Per item: `on_item(ItemEvent)` "started", then "done" (its message, when not empty, a note for the
    user: an animated or multi-page file of which only the first frame was colourised), "failed" (the
    message names the file and the reason; any exception fails only its file: an unexpected one's
    traceback is logged to the `colorcore.inference.batch` logger) or "stopped" (a video stopped part-way:
    nothing written), then `on_progress` (items finished of all); a video's frames as
    `on_item_progress` and `on_frame`. At the end `on_end(EndEvent)`. `stop` is checked (a pause
    waited out) before each item and each video frame. An existing file is never replaced unless
    `overwrite` (see `refusal`), not even one another process writes meanwhile (each output is written
    to a hidden file beside it, then published under its name only if that name is still free); two
    items never write the same output. Folders made for outputs and left empty are removed.
    `preview_long_side` (if set) puts previews of that size in each done item's event and downscales
    the video frames. `quality` is a JPEG output's; `temporal` carries a video's colour from frame to
    frame.
    """
    from colorcore.inference.colorize import colorize_file
    from colorcore.inference.colour_control import saved_edits
    from colorcore.data.imageio import ImageReadError, count_frames
    from colorcore.inference.video import VideoError, colorize_video, is_video

    written: set[Path] = set()
    made: list[Path] = []
    done = failed = 0
    stopped = False
    try:
        for index, item in enumerate(items):
            if should_stop(stop):
                stopped = True
                break
            emit(callbacks, "on_item", ItemEvent(index, ItemEvent.STARTED, item.source, item.target))
            refused = refusal(item, written, overwrite)
            message, advice = (refused.reason, refused.advice) if refused is not None else (None, ())
            previews = (None, None)
            note = ""
            claim: Path | None = None
            if message is None:
                try:
                    _make_folder(item.target.parent, made)
                    destination = item.target if overwrite else _claim_path(item.target)
                    claim = None if overwrite else destination
                    if is_video(item.source):
                        video = colorize_video(item.source, destination, model, guided=guided,
                                               inference_size=inference_size, fit=fit, temporal=temporal,
                                               controls=item.controls, stop=stop,
                                               callbacks=[_VideoRelay(callbacks, preview_long_side)])
                        if video.status == "stopped":
                            stopped = True
                            emit(callbacks, "on_item", ItemEvent(index, ItemEvent.STOPPED, item.source, item.target,
                                                                 "stopped: no file written"))
                            break
                        if video.missing is not None:  # a truncated or damaged video: what decodes is kept
                            note = video.missing.describe()
                    else:
                        colorize_file(item.source, model, destination, guided=guided, inference_size=inference_size,
                                      quality=quality, fit=fit, controls=item.controls)
                        frames = count_frames(item.source)
                        if frames > 1:
                            note = f"animated or multi-page file: only the first of its {frames} frames was colourised"
                    if claim is not None:
                        _publish(claim, item.target)
                        claim = None
                    if item.save_hints and item.controls is not None:
                        save_edits(hints_path_for(item.target), saved_edits(item.controls))
                    if preview_long_side is not None:
                        previews = result_previews(item.source, item.target, preview_long_side)
                except _OutputTaken:
                    taken = output_exists(item, " (another run wrote it meanwhile)")
                    message, advice = taken.reason, taken.advice
                except (ImageReadError, VideoError) as exc:
                    message = f"{exc.path}: {exc.reason}"
                except MemoryError:
                    message = f"{item.source}: not enough memory to colourise it"
                except (OSError, ValueError) as exc:
                    message = f"{item.source}: {exc}"
                except Exception as exc:  # an engine bug: this file's failure, its traceback in the log
                    _log.error("unexpected error colourising %s", item.source, exc_info=exc)
                    message = f"{item.source}: unexpected error ({type(exc).__name__}: {exc})"
                finally:
                    if claim is not None:
                        claim.unlink(missing_ok=True)
            if message is None:
                done += 1
                written.add(resolved(item.target))
                emit(callbacks, "on_item", ItemEvent(index, ItemEvent.DONE, item.source, item.target, note, *previews))
            else:
                failed += 1
                emit(callbacks, "on_item", ItemEvent(index, ItemEvent.FAILED, item.source, item.target, message,
                                                     advice=advice))
            emit(callbacks, "on_progress", ProgressEvent(index + 1, len(items), item.source.name))
    finally:
        _remove_empty(made)
    result = BatchResult("stopped" if stopped else "finished", done, failed)
    emit(callbacks, "on_end", EndEvent(result.status, {"done": done, "failed": failed}))
    return result


__all__ = [
    "BatchItem", "BatchResult", "FORMATS", "OUTPUT_SUFFIX", "colorize_many", "downscaled", "find_inputs",
    "gray_preview", "is_output_name", "latest_hints_file", "link_problem", "output_extension", "output_path",
    "Refusal", "output_exists", "refusal", "resolved", "result_previews", "unused_output_path",
]
