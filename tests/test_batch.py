"""`colorcore.inference.batch`: the one output-naming policy and `colorize_many`, the loop behind `colorcore
colorize` and the Colourise tab, run with a tiny real model on real files made here: per-item events,
a broken file named while the rest goes on, cooperative stop (between photos and inside a video), no
existing file replaced without `overwrite`, hints saved beside an output, previews for a view."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colorcore.inference.batch import (
    OUTPUT_SUFFIX, BatchItem, colorize_many, find_inputs, latest_hints_file, output_extension, output_path,
    unused_output_path,
)
from colorcore.core.events import ItemEvent, StopFlag
from colorcore.data.imageio import read_image
from tests.helpers import write_photo

PREVIEW_SIDE = 32


@pytest.fixture(scope="module")
def model():
    """A tiny real multipath model (random weights)."""
    from colorcore.models.base import ModelConfig, build_model

    torch.manual_seed(0)
    return build_model(ModelConfig(width=8, resnet_weights="none")).eval()


class Recorder:
    """A callback that keeps every hook call as (hook, event)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        return lambda event: self.calls.append((hook, event))

    def items(self) -> list[tuple[int, str]]:
        """(index, status) of every `on_item` call, in order."""
        return [(e.index, e.status) for hook, e in self.calls if hook == "on_item"]

    def events(self, hook: str) -> list:
        return [event for name, event in self.calls if name == hook]


def broken_jpeg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" + bytes(32))
    return path


@pytest.mark.parametrize(
    "name, fmt, expected",
    [("a.JPG", "same", "a_colour.JPG"), ("a.jpeg", "same", "a_colour.jpeg"), ("a.png", "same", "a_colour.png"),
     ("a.webp", "same", "a_colour.webp"), ("a.bmp", "same", "a_colour.bmp"), ("a.tif", "same", "a_colour.tif"),
     ("a.jfif", "same", "a_colour.jpg"), ("a.dib", "same", "a_colour.png"), ("a.tif", "png", "a_colour.png"),
     ("a.png", "jpg", "a_colour.jpg"), ("clip.MOV", "png", "clip_colour.MOV"), ("clip.mkv", "same", "clip_colour.mkv")],
)
def test_outputs_keep_every_writable_format_and_a_video_its_container(name: str, fmt: str, expected: str) -> None:
    assert output_path(Path("in") / name, Path("out"), fmt=fmt) == Path("out") / expected
    assert output_extension(Path(name), fmt) == Path(expected).suffix


def test_numbered_and_unused_output_names_never_meet_a_file_a_hints_file_or_a_taken_name(tmp_path: Path) -> None:
    photo = tmp_path / "scan.tif"
    assert OUTPUT_SUFFIX == "_colour"
    assert output_path(photo, tmp_path, number=3) == tmp_path / "scan_colour_3.tif"
    assert output_path(photo, tmp_path, suffix="_v2", number=2) == tmp_path / "scan_v2_2.tif"
    assert unused_output_path(photo, tmp_path) == tmp_path / "scan_colour.tif"
    (tmp_path / "scan_colour.tif").write_bytes(b"an earlier result")
    (tmp_path / "scan_colour_2.hints.json").write_text('{"points": []}')  # hints of a result since deleted
    assert unused_output_path(photo, tmp_path, {tmp_path / "scan_colour_3.tif"}) == tmp_path / "scan_colour_4.tif"


def test_the_latest_earlier_results_hints_file_is_found(tmp_path: Path) -> None:
    photo = tmp_path / "in" / "cat.png"
    assert latest_hints_file(photo, tmp_path) is None
    for name in ("cat_colour.png", "cat_colour.hints.json", "cat_colour_2.png", "cat_colour_2.hints.json",
                 "cat_colour_3.png"):  # the third result has no hints
        (tmp_path / name).write_text("x")
    assert latest_hints_file(photo, tmp_path) == tmp_path / "cat_colour_2.hints.json"


def test_a_broken_photo_is_named_and_the_rest_are_colourised_with_events_in_order(model, tmp_path: Path) -> None:
    photos = [write_photo(tmp_path / "in" / "wide.jpg", 97, 65, seed=1), broken_jpeg(tmp_path / "in" / "broken.jpg"),
              write_photo(tmp_path / "in" / "odd.webp", 64, 90, seed=2)]
    items = [BatchItem(p, output_path(p, tmp_path / "out" / "nested")) for p in photos]
    recorder = Recorder()
    result = colorize_many(items, model, [recorder], guided=False)
    assert (result.status, result.done, result.failed) == ("finished", 2, 1)
    assert recorder.items() == [(0, "started"), (0, "done"), (1, "started"), (1, "failed"), (2, "started"), (2, "done")]
    failure = recorder.events("on_item")[3]
    assert "broken.jpg" in failure.message and failure.source == photos[1]
    assert [(e.done, e.total) for e in recorder.events("on_progress")] == [(1, 3), (2, 3), (3, 3)]
    end = recorder.events("on_end")
    assert len(end) == 1 and end[0].status == "finished" and end[0].summary == {"done": 2, "failed": 1}
    for photo, item in zip(photos[::2], items[::2]):
        assert item.target.is_file() and read_image(item.target).shape == read_image(photo).shape
    assert items[2].target.suffix == ".webp" and not items[1].target.exists()
    assert recorder.events("on_item")[1].before is None  # no previews unless asked for


def test_previews_for_a_view_are_downscaled_gray_input_and_result(model, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "p.png", 96, 72, seed=3)
    recorder = Recorder()
    colorize_many([BatchItem(photo, tmp_path / "p_colour.png")], model, [recorder], preview_long_side=PREVIEW_SIDE)
    done = recorder.events("on_item")[-1]
    assert done.status == ItemEvent.DONE and done.before.shape == done.after.shape == (24, 32, 3)
    assert np.array_equal(done.before[:, :, 0], done.before[:, :, 1])  # the gray input
    assert not np.array_equal(done.after[:, :, 0], done.after[:, :, 1])  # colourised


def test_no_existing_file_is_replaced_without_overwrite(model, tmp_path: Path) -> None:
    photo = write_photo(tmp_path / "cat.jpg", 80, 60, seed=4)
    original = photo.read_bytes()
    kept = tmp_path / "cat_colour.png"
    kept.write_bytes(b"keep me")
    twice = tmp_path / "twice.png"
    items = [BatchItem(photo, kept), BatchItem(photo, photo), BatchItem(photo, twice), BatchItem(photo, twice)]
    recorder = Recorder()
    result = colorize_many(items, model, [recorder])
    assert (result.done, result.failed) == (1, 3)
    failures = [e for e in recorder.events("on_item") if e.status == ItemEvent.FAILED]
    messages = [e.message for e in failures]
    assert "exists" in messages[0] and str(kept) in messages[0] and kept.read_bytes() == b"keep me"
    assert [[a.option for a in e.advice] for e in failures] == [["overwrite"], ["suffix", "out", "overwrite"], []]
    assert not any("--" in m for m in messages)  # options are advice, worded by each front end
    assert "replace the input" in messages[1] and photo.read_bytes() == original
    assert "another photo's output" in messages[2] and read_image(twice).shape == (60, 80, 3)
    assert colorize_many([BatchItem(photo, kept)], model, overwrite=True).done == 1
    assert read_image(kept).shape == (60, 80, 3)


def test_a_stop_ends_the_batch_between_photos(model, tmp_path: Path) -> None:
    photos = [write_photo(tmp_path / f"p{i}.jpg", 64, 48, seed=10 + i) for i in range(3)]
    items = [BatchItem(p, tmp_path / "out" / p.name) for p in photos]
    stop = StopFlag()

    class StopAfterFirst(Recorder):
        def on_item(self, event: ItemEvent) -> None:
            self.calls.append(("on_item", event))
            if event.status == ItemEvent.DONE:
                stop.request_stop()

    recorder = StopAfterFirst()
    result = colorize_many(items, model, [recorder], stop)
    assert (result.status, result.done, result.failed) == ("stopped", 1, 0)
    assert recorder.items() == [(0, "started"), (0, "done")]
    assert recorder.events("on_end")[0].status == "stopped"
    assert items[0].target.is_file() and not items[1].target.exists() and not items[2].target.exists()


def test_hints_are_used_and_saved_beside_the_output_when_asked(model, tmp_path: Path) -> None:
    from colorcore.inference.colour_control import ColourControls
    from colorcore.inference.hints import Hints, PointHint, hints_path_for, load_hints

    photo = write_photo(tmp_path / "p.png", 64, 48, seed=5)
    gray = ColourControls(hints=Hints(points=(PointHint(0.5, 0.5, "#2050c0"),)), saturation=0.0)
    items = [BatchItem(photo, tmp_path / "saved.png", gray, save_hints=True),
             BatchItem(photo, tmp_path / "plain.png", gray)]
    assert colorize_many(items, model).done == 2
    assert load_hints(hints_path_for(items[0].target)) == gray.hints
    assert not hints_path_for(items[1].target).exists()
    result = read_image(items[1].target).astype(int)
    assert np.abs(result[:, :, 0] - result[:, :, 2]).max() <= 2  # the controls were applied: saturation 0 is gray


def test_a_video_reports_its_frames_and_a_stop_inside_it_leaves_no_file(model, tmp_path: Path) -> None:
    from tests.video_clips import film_clip, write_clip

    photo = write_photo(tmp_path / "in" / "after.png", 64, 48, seed=6)
    clip = write_clip(tmp_path / "in" / "walk.mp4", film_clip((96, 64), 12).frames)
    items = [BatchItem(clip, tmp_path / "out" / "walk_colour.mp4"), BatchItem(photo, tmp_path / "out" / "after.png")]
    recorder = Recorder()
    assert colorize_many(items, model, [recorder], preview_long_side=PREVIEW_SIDE).done == 2
    frames = recorder.events("on_item_progress")
    assert [(e.done, e.total) for e in frames] == [(i, 12) for i in range(1, 13)]
    assert [(e.done, e.total) for e in recorder.events("on_progress")] == [(1, 2), (2, 2)]  # files, not frames
    shown = recorder.events("on_frame")
    assert shown and all(max(e.colour.shape[:2]) == PREVIEW_SIDE and e.gray.shape == e.colour.shape for e in shown)
    assert recorder.events("on_item")[1].after.shape == (21, 32, 3)  # the done video's middle frame
    assert len(recorder.events("on_end")) == 1  # the video's own end stays inside the batch

    stop = StopFlag()

    class StopAtFrame3(Recorder):
        def on_item_progress(self, event) -> None:
            if event.done == 3:
                stop.request_stop()

    again = [BatchItem(clip, tmp_path / "again" / "walk_colour.mp4"), BatchItem(photo, tmp_path / "again" / "p.png")]
    recorder = StopAtFrame3()
    result = colorize_many(again, model, [recorder], stop)
    assert (result.status, result.done) == ("stopped", 0)
    assert recorder.items() == [(0, "started"), (0, "stopped")]
    assert "no file" in recorder.events("on_item")[-1].message
    assert not (tmp_path / "again").exists()  # neither the video nor its temporary file, nor the folder made for it


def test_find_inputs_is_one_rule_for_the_cli_and_the_tab(tmp_path: Path) -> None:
    """Folders are searched recursively without earlier outputs, a file comes once however it is named,
    and each bad path is a problem naming it."""
    import cv2
    import numpy as np

    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    image = np.full((40, 60, 3), 120, np.uint8)
    for name in ("a.jpg", "sub/b.png", "a_colour.jpg"):
        cv2.imwrite(str(folder / name), image)
    (folder / "notes.txt").write_text("not a photo")
    empty = tmp_path / "empty"
    empty.mkdir()
    found, problems = find_inputs([folder, folder / "a.jpg", folder / "notes.txt", empty, tmp_path / "gone.jpg"])
    assert found == [(folder / "a.jpg", folder), (folder / "sub" / "b.png", folder)]
    assert problems[0].startswith(f"{folder / 'notes.txt'}: not a photo or video (expected one of ")
    assert ".jpg" in problems[0] and ".mp4" in problems[0]
    assert problems[1:] == [f"{empty}: no photos or videos in this folder", f"{tmp_path / 'gone.jpg'}: no such file or folder"]
    direct, _ = find_inputs([folder / "sub" / "b.png"])
    assert direct == [(folder / "sub" / "b.png", None)]


def test_should_stop_waits_out_a_pause_and_reports_a_stop() -> None:
    """Every job's safe point (`colorcore.core.events.should_stop`): no flag never stops; a paused flag blocks
    until resumed (then goes on) or stopped (then stops)."""
    import threading
    import time

    from colorcore.core.events import should_stop

    assert should_stop(None) is False
    flag = StopFlag()
    assert should_stop(flag) is False
    flag.pause()
    started = time.monotonic()  # before the timer starts: it resumes no sooner than 0.2 s from here
    threading.Timer(0.2, flag.resume).start()
    assert should_stop(flag) is False and time.monotonic() - started >= 0.2
    flag.pause()
    threading.Timer(0.2, flag.request_stop).start()
    assert should_stop(flag) is True
