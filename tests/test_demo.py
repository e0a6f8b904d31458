"""`colorcore demo`: an earlier demo is never replaced without --overwrite (nor a folder holding anything
else), the before/after image is labelled, the time budget is said at the start and when it stops the
run, and slow speeds keep their digits."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from colorcore.cli import main
from colorcore.commands.demo import LABEL_HEIGHT, PANEL_LABELS, PREVIEW_HEIGHT, format_rate, side_by_side
from colorcore.data.imageio import read_image, write_image

WHITE = 255


def earlier_demo(out: Path) -> dict[Path, bytes]:
    """A folder as an earlier demo left it: its model, data, colourised photo and before/after image."""
    files = {out / "run" / "model.safetensors": b"the first demo's model",
             out / "data" / "manifest.json": b"{}",
             out / "colourised_coffee.png": b"png",
             out / "before_after.png": b"png"}
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return files


def test_a_second_demo_into_the_same_folder_is_refused_and_changes_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "demo_out"
    files = earlier_demo(out)
    assert main(["demo", "--out", str(out), "--steps", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "holds an earlier demo" in err and "--overwrite" in err and "run" in err
    assert {path: path.read_bytes() for path in files} == files


def test_a_folder_with_other_files_is_refused_even_with_overwrite(tmp_path, capsys) -> None:
    out = tmp_path / "mine"
    files = earlier_demo(out)
    (out / "holiday.jpg").write_bytes(b"a user's photo")
    assert main(["demo", "--out", str(out), "--overwrite", "--steps", "1", "--device", "cpu"]) == 2
    assert "holiday.jpg" in capsys.readouterr().err
    assert (out / "holiday.jpg").read_bytes() == b"a user's photo"
    assert all(path.read_bytes() == content for path, content in files.items())


def test_speeds_below_ten_keep_their_digits() -> None:
    assert [format_rate(r) for r in (0.0, 0.42, 3.14, 57.4)] == ["0.00", "0.42", "3.1", "57"]


def test_the_before_after_image_carries_a_label_above_each_panel() -> None:
    rng = np.random.default_rng(0)
    panels = [rng.integers(0, 256, (120, 160), np.uint8), rng.integers(0, 256, (120, 160, 3), np.uint8),
              rng.integers(0, 256, (120, 160, 3), np.uint8)]
    plain = side_by_side(panels)
    labelled = side_by_side(panels, PANEL_LABELS)
    assert plain.shape[0] == PREVIEW_HEIGHT and labelled.shape[0] == PREVIEW_HEIGHT + LABEL_HEIGHT
    assert np.array_equal(labelled[LABEL_HEIGHT:], plain)  # the pictures themselves unchanged
    width = plain.shape[1] // 3
    for i in range(3):
        strip = labelled[:LABEL_HEIGHT, i * width + 10:(i + 1) * width - 10]
        assert (strip < 128).any(), f"no label over panel {i}"
    assert not np.array_equal(labelled[:LABEL_HEIGHT, :width - 10], labelled[:LABEL_HEIGHT, width:2 * width - 10])
    with pytest.raises(ValueError, match="2 labels for 3 images"):
        side_by_side(panels, PANEL_LABELS[:2])


@pytest.mark.slow
def test_overwrite_replaces_an_earlier_demo_and_the_budget_is_said_and_kept(tmp_path, capsys) -> None:
    out = tmp_path / "demo_out"
    earlier_demo(out)
    assert main(["demo", "--out", str(out), "--overwrite", "--steps", "50", "--time-budget", "0",
                 "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "removed the earlier demo" in printed
    assert "for at most 0 s (--time-budget" in printed  # said before training starts
    # how many steps run before the budget is checked depends on the machine's speed: only that it stops early
    stopped = re.search(r"time budget of 0 s reached after (\d+) of 50 steps", printed)
    assert stopped is not None and int(stopped.group(1)) < 50
    assert printed.index("for at most 0 s") < printed.index(f"step {stopped.group(1)}/50")
    assert f"trained {stopped.group(1)} of 50 steps" in printed and "(stopped by the 0 s time budget)" in printed
    model = out / "run" / "model.safetensors"
    assert not model.exists() or model.read_bytes() != b"the first demo's model", "the first demo's model is gone"
    assert not (out / "colourised_coffee.png").exists()
    assert (out / "run" / "checkpoints" / "last.pt").is_file()
    image = read_image(out / "before_after.png")
    assert image.shape[0] == PREVIEW_HEIGHT + LABEL_HEIGHT
    assert (image[:LABEL_HEIGHT] < 128).any() and (image[:LABEL_HEIGHT] == WHITE).mean() > 0.8
    write_image(tmp_path / "copy.png", image)  # a real image file, readable again
