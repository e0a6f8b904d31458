"""The hints file's optional `frame` (the video frame a hint was placed on): saved and loaded, absent
when not set (older files read as before), refused when negative or not a whole number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colorcore.inference.hints import (
    Hints, HintsError, PointHint, SavedEdits, StrokeHint, load_edits, load_hints, save_edits, save_hints,
)

RED = "#c03020"


def test_a_hints_frame_is_saved_and_loaded_and_absent_when_not_set(tmp_path: Path) -> None:
    hints = Hints((PointHint(0.2, 0.4, RED, frame=0), PointHint(0.5, 0.5, RED)),
                  (StrokeHint(((0.1, 0.2), (0.3, 0.25)), RED, 0.03, frame=120),))
    assert hints.anchored and not Hints((PointHint(0.5, 0.5, RED),)).anchored
    path = save_edits(tmp_path / "clip_colour.hints.json", SavedEdits(hints, saturation=1.2))
    data = json.loads(path.read_text())
    assert [p.get("frame") for p in data["points"]] == [0, None] and "frame" not in data["points"][1]
    assert data["strokes"][0]["frame"] == 120
    assert load_edits(path) == SavedEdits(hints, saturation=1.2) and load_hints(path) == hints
    plain = save_hints(tmp_path / "photo.hints.json", Hints((PointHint(0.5, 0.5, RED),)))
    assert "frame" not in plain.read_text() and load_hints(plain).points[0].frame is None


@pytest.mark.parametrize("frame, problem", [
    (-1, "frame must be 0 or more (the video frame, counted from 0), got -1"),
    (2.5, "frame must be a whole number (the video frame, counted from 0), got 2.5"),
    ("3", "frame must be a whole number"),
    (True, "frame must be a whole number"),
])
def test_a_bad_frame_is_refused_naming_the_file_and_the_hint(tmp_path: Path, frame: object, problem: str) -> None:
    path = tmp_path / "hints.json"
    path.write_text(json.dumps({"strokes": [{"points": [[0.1, 0.2]], "color": RED, "frame": frame}]}))
    with pytest.raises(HintsError) as caught:
        load_hints(path)
    assert str(caught.value).startswith(f"{path}: strokes[0]: ") and problem in str(caught.value)
    with pytest.raises(ValueError, match="frame must be 0 or more"):
        PointHint(0.5, 0.5, RED, frame=-3)
