"""Hints placed on a frame of a video follow their object: a small gray video made here (a textured
square moving across a textured background, encoded with PyAV) is coloured through `colorize_video`
and the CLI with a real tiny model; a point placed on the square colours the square where it has
moved to, forward and backward from its frame, and not the background it left; a point whose object
disappears stops colouring; strokes keep their tracked parts."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from colorcore.inference.colour_control import ColourControls, hint_ab
from colorcore.inference.hint_tracking import HintTracks, track_hints
from colorcore.inference.hints import Hints, PointHint, StrokeHint
from colorcore.inference.video import VideoError, colorize_video
from colorcore.models.base import ModelConfig, build_model
from tests.video_clips import read_frames, write_clip

W, H, FRAMES, SIDE, STEP = 160, 120, 20, 32, 3  # the square moves STEP px right a frame
TOP = 40
RED = "#c03020"
INNER = 8  # px inside the square's edges where its colour is measured


def left_edge(frame: int) -> int:
    return 16 + STEP * frame


def centre(frame: int) -> tuple[float, float]:
    """The square's centre on `frame`, relative to the picture."""
    return (left_edge(frame) + SIDE / 2) / W, (TOP + SIDE / 2) / H


def square_frames(gone_from: int | None = None) -> list[np.ndarray]:
    """Gray RGB frames: a textured square (light) moving over a textured background (dark), which is
    not there any more from frame `gone_from` on."""
    rng = np.random.default_rng(0)
    def texture(h: int, w: int, mean: float, spread: float, sigma: float) -> np.ndarray:
        noise = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), sigma)
        return np.clip(mean + spread * noise / noise.std(), 0, 255)

    background, square = texture(H, W, 80, 20, 2.0), texture(SIDE, SIDE, 185, 18, 1.5)
    frames = []
    for i in range(FRAMES):
        frame = background.copy()
        if gone_from is None or i < gone_from:
            frame[TOP:TOP + SIDE, left_edge(i):left_edge(i) + SIDE] = square
        frames.append(cv2.cvtColor(frame.astype(np.uint8), cv2.COLOR_GRAY2RGB))
    return frames


def inside(frame_index: int, where: int | None = None) -> tuple[slice, slice]:
    """Rows and columns inside the square of frame `where` (default: `frame_index`'s own)."""
    x = left_edge(frame_index if where is None else where)
    return slice(TOP + INNER, TOP + SIDE - INNER), slice(x + INNER, x + SIDE - INNER)


def ab(region: np.ndarray) -> np.ndarray:
    """Mean Lab (a, b) of an RGB region, 8-bit units around 0."""
    return cv2.cvtColor(region, cv2.COLOR_RGB2Lab).astype(np.float32)[:, :, 1:].reshape(-1, 2).mean(axis=0) - 128


def towards_red(region: np.ndarray, plain: np.ndarray) -> float:
    """How far the hint moved the region's mean chroma from the plain colouring, along the hint's hue."""
    direction = np.asarray(hint_ab(RED), np.float32)
    direction /= np.linalg.norm(direction)
    return float((ab(region) - ab(plain)) @ direction)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(width=8, resnet_weights="none")).eval()


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("video") / "square.mp4", square_frames())


@pytest.fixture(scope="module")
def plain(video: Path, model, tmp_path_factory) -> list[np.ndarray]:
    out = tmp_path_factory.mktemp("plain") / "plain.mp4"
    return read_frames(colorize_video(video, out, model).path)


def coloured(video: Path, model, hints: Hints, out: Path) -> list[np.ndarray]:
    return read_frames(colorize_video(video, out, model, controls=ColourControls(hints=hints)).path)


def test_a_point_placed_on_frame_0_colours_the_square_where_it_has_moved(video, model, plain, tmp_path) -> None:
    x, y = centre(0)
    tracked = coloured(video, model, Hints((PointHint(x, y, RED, 0.05, frame=0),)), tmp_path / "tracked.mp4")
    fixed = coloured(video, model, Hints((PointHint(x, y, RED, 0.05),)), tmp_path / "fixed.mp4")
    assert len(tracked) == len(plain) == FRAMES
    for frame in (0, 15, 19):
        square = inside(frame)
        assert towards_red(tracked[frame][square], plain[frame][square]) > 15.0, frame
    left_behind = inside(15, where=0)  # background on frame 15, where the square was on frame 0
    assert abs(towards_red(tracked[15][left_behind], plain[15][left_behind])) < 2.0
    # without a frame the point stays where it was put: it colours that background instead
    assert towards_red(fixed[15][left_behind], plain[15][left_behind]) > 15.0
    assert abs(towards_red(fixed[15][inside(15)], plain[15][inside(15)])) < 2.0


def test_a_point_placed_on_a_later_frame_is_tracked_back_to_the_first(video, model, plain, tmp_path) -> None:
    x, y = centre(12)
    tracked = coloured(video, model, Hints((PointHint(x, y, RED, 0.05, frame=12),)), tmp_path / "back.mp4")
    for frame in (0, 6, 12, 19):
        square = inside(frame)
        assert towards_red(tracked[frame][square], plain[frame][square]) > 15.0, frame
    assert abs(towards_red(tracked[0][inside(0, where=12)], plain[0][inside(0, where=12)])) < 2.0


def test_a_point_whose_object_disappears_stops_colouring(model, tmp_path) -> None:
    video = write_clip(tmp_path / "gone.mp4", square_frames(gone_from=10))
    plain = read_frames(colorize_video(video, tmp_path / "plain.mp4", model).path)
    x, y = centre(0)
    tracked = coloured(video, model, Hints((PointHint(x, y, RED, 0.05, frame=0),)), tmp_path / "tracked.mp4")
    assert towards_red(tracked[9][inside(9)], plain[9][inside(9)]) > 15.0
    for frame in (10, 15, 19):  # the square is gone: the hint colours nothing, nowhere
        assert np.abs(ab(tracked[frame]) - ab(plain[frame])).max() < 1.0, frame


def test_tracks_put_strokes_and_points_where_their_vertices_went() -> None:
    frames = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in square_frames()]
    x0, y0 = centre(0)
    still = PointHint(0.9, 0.1, RED)
    on_square = StrokeHint(((x0 - 0.02, y0), (x0 + 0.02, y0)), RED, frame=0)
    tracks = track_hints(frames, Hints((still, PointHint(x0, y0, RED, frame=0)), (on_square,)))
    assert isinstance(tracks, HintTracks) and tracks.frames == FRAMES
    later = tracks.hints_at(10)
    assert later.points[0] == still  # no frame: where it was put
    moved = STEP * 10 / W
    assert later.points[1].x == pytest.approx(x0 + moved, abs=0.5 / W) and later.points[1].frame is None
    assert [p[0] for p in later.strokes[0].points] == pytest.approx([x0 - 0.02 + moved, x0 + 0.02 + moved],
                                                                    abs=0.5 / W)
    assert tracks.hints_at(FRAMES + 5) == Hints((still,))  # past the end: the tracked hints are nowhere


def test_a_stroke_keeps_the_runs_of_its_tracked_vertices() -> None:
    row = np.array([[0.1, 0.2], [0.2, 0.2], [np.nan, np.nan], [0.4, 0.2], [np.nan, np.nan]], np.float32)
    stroke = StrokeHint(((0.5, 0.5),) * 5, RED, 0.03, frame=0)
    tracks = HintTracks(Hints((), (stroke,)), (row,))
    runs = tracks.hints_at(0).strokes
    assert [len(s.points) for s in runs] == [2, 1] and all(s.width == 0.03 and s.frame is None for s in runs)
    assert runs[1].points[0] == pytest.approx((0.4, 0.2))


def test_a_hint_placed_past_the_last_frame_is_named(video, model, tmp_path) -> None:
    with pytest.raises(VideoError, match="frame 25, but the video's frames are 0 to 19"):
        colorize_video(video, tmp_path / "out.mp4", model,
                       controls=ColourControls(hints=Hints((PointHint(0.5, 0.5, RED, frame=25),))))
    assert not (tmp_path / "out.mp4").exists()


def test_cli_colours_a_video_with_a_point_that_follows_its_object(video, model, plain, tmp_path) -> None:
    from colorcore.cli import main
    from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint

    model_file = export_model(save_checkpoint(tmp_path / "tiny.pt", make_checkpoint(model, model.make_optimizers())),
                              tmp_path / "tiny.safetensors")
    x, y = centre(0)
    hints = tmp_path / "h.json"
    hints.write_text(json.dumps({"points": [{"x": x, "y": y, "color": RED, "width": 0.05, "frame": 0}]}))
    out = tmp_path / "out"
    assert main(["colorize", str(model_file), str(video), "--hints", str(hints), "--out", str(out)]) == 0
    (written,) = [p for p in out.iterdir() if p.suffix == ".mp4"]
    frames = read_frames(written)
    assert towards_red(frames[15][inside(15)], plain[15][inside(15)]) > 15.0
    assert abs(towards_red(frames[15][inside(15, where=0)], plain[15][inside(15, where=0)])) < 2.0


def test_the_frame_a_preview_shows_is_named_by_its_index(video) -> None:
    """`frame_index_at` names the frame `read_video_frame` reads (the app records it on hints painted there)."""
    from colorcore.inference.video import frame_index_at, probe_video, read_video_frame

    frames = read_frames(video)
    for seconds, index in ((0.0, 0), (probe_video(video).duration_s / 2, FRAMES // 2), (0.79, FRAMES - 1)):
        assert frame_index_at(video, seconds) == index
        assert np.array_equal(read_video_frame(video, seconds), frames[index])


def test_a_point_on_the_pictures_far_corner_is_tracked_like_any_other() -> None:
    """x = 1 and y = 1 are the picture's right and bottom edges: the point lands on the last pixel, not
    one past it (where the first step would lose it)."""
    frames = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in square_frames(gone_from=0)]  # a still background
    tracks = track_hints(frames, Hints((PointHint(1.0, 1.0, RED, frame=0),)))
    later = tracks.hints_at(5).points
    assert len(later) == 1
    assert later[0].x == pytest.approx(1.0, abs=1.5 / W) and later[0].y == pytest.approx(1.0, abs=1.5 / H)
