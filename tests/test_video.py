"""Video colourisation: clips made here (a photo panned and zoomed, a cut, with and without audio),
coloured by a tiny real model; frame count, timing, size, audio, luminance, flicker, cancel, broken files."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from colorcore.colorize import L_TOLERANCE, colorize_array, lab_l8
from colorcore.events import StopFlag
from colorcore.imageio import read_image
from colorcore.models import ModelConfig, build_model
from colorcore.resources import resources_dir
from colorcore.video import (
    VideoColorizer, VideoError, chroma_flicker, colorize_video, probe_video,
)

WIDTH, HEIGHT, FRAMES, CUT, FPS = 160, 120, 60, 30, 24
SHOTS = ("coffee.jpg", "chelsea.jpg")
AUDIO_RATE = 16000


def _pan(photo: np.ndarray, frames: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A camera pan by whole pixels (2 right, 1 down a frame): frames and their 3x3 maps to the photo."""
    photo = cv2.resize(photo, (WIDTH + 2 * frames, HEIGHT + frames), interpolation=cv2.INTER_AREA)
    maps = [np.array([[1, 0, 2 * i], [0, 1, i], [0, 0, 1]], np.float64) for i in range(frames)]
    return [photo[i:i + HEIGHT, 2 * i:2 * i + WIDTH] for i in range(frames)], maps


def _zoom(photo: np.ndarray, frames: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A zoom in (0.5 % a frame) while panning left: frames and their 3x3 maps to the photo."""
    h, w = photo.shape[:2]
    base = min(w / WIDTH, h / HEIGHT) * 0.8  # photo pixels per frame pixel at the start
    shot, maps = [], []
    for i in range(frames):
        scale = base / (1.0 + 0.005 * i)
        cx, cy = w / 2 - (i - frames / 2) * scale, h / 2
        matrix = np.array([[scale, 0, cx - scale * WIDTH / 2], [0, scale, cy - scale * HEIGHT / 2], [0, 0, 1]])
        shot.append(cv2.warpAffine(photo, matrix[:2], (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
        maps.append(matrix)
    return shot, maps


@dataclass(frozen=True)
class Clip:
    """Gray RGB frames and, for each frame after the first, its known motion (None across the cut)."""

    frames: list[np.ndarray]
    motions: list[np.ndarray | None]


@pytest.fixture(scope="module")
def clip() -> Clip:
    """A gray clip: one sample photo panned, a cut, another zoomed into while panning."""
    first, second = (read_image(resources_dir() / "samples" / name) for name in SHOTS)
    frames, motions = [], []
    for shot, maps in (_pan(first, CUT), _zoom(second, FRAMES - CUT)):
        frames += [cv2.cvtColor(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB) for f in shot]
        motions += [None] + [(np.linalg.inv(a) @ b)[:2] for a, b in zip(maps, maps[1:])]
    return Clip(frames, motions)


def write_clip(path: Path, frames: list[np.ndarray], *, codec: str = "libx264", pix_fmt: str = "yuv420p",
               audio: bool = False, fps: int = FPS) -> Path:
    """Encode `frames` into `path`, with a 440 Hz mono AAC/PCM tone as long as the clip if `audio`."""
    with av.open(str(path), "w") as container:
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        sound = container.add_stream("aac" if path.suffix != ".avi" else "pcm_s16le", rate=AUDIO_RATE,
                                     layout="mono") if audio else None
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        if sound is not None:
            samples = AUDIO_RATE * len(frames) // fps
            tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / AUDIO_RATE)).astype(np.float32)
            fmt = sound.codec_context.format.name
            for start in range(0, samples, 1024):
                chunk = tone[start:start + 1024][None]
                if fmt.startswith("s16"):
                    chunk = (chunk * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=fmt, layout="mono")
                frame.sample_rate, frame.pts = AUDIO_RATE, start
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
    return path


def read_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


@pytest.fixture(scope="module")
def model():
    """A tiny real multipath model (random weights: its colours change with the framing as a real one's do)."""
    torch.manual_seed(0)
    return build_model(ModelConfig(width=8, resnet_weights="none")).eval()


def lab(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2Lab).astype(np.int16)


@pytest.fixture(scope="module")
def coloured(clip: Clip, model) -> dict[str, list[np.ndarray]]:
    """The clip coloured frame by frame as photos, and with the temporal step."""
    temporal = VideoColorizer(model)
    frames, cuts = [], []
    for frame in clip.frames:
        frames.append(temporal.colorize(frame))
        cuts.append(temporal.last_cut)
    return {"alone": [colorize_array(f, model) for f in clip.frames], "temporal": frames,
            "cuts": [i for i, cut in enumerate(cuts) if cut]}


def test_temporal_colour_flickers_3x_less_and_each_shot_starts_from_its_own_colour(clip, coloured) -> None:
    alone = chroma_flicker(coloured["alone"], clip.motions)
    temporal = chroma_flicker(coloured["temporal"], clip.motions)
    assert alone >= 3 * temporal, (alone, temporal)
    assert coloured["cuts"] == [0, CUT]  # the cut is found from the luminance histogram, nothing else is
    first = np.abs(lab(coloured["alone"][CUT])[:, :, 1:] - lab(coloured["temporal"][CUT])[:, :, 1:])
    assert first.mean() < 0.5  # the first frame after the cut is (almost) its own per-frame colour
    colour = np.abs(lab(coloured["alone"][CUT])[:, :, 1:] - 128).mean()
    assert colour > 5  # and that colour is not gray


def test_luminance_is_kept_and_without_temporal_step_a_frame_is_coloured_as_a_photo(clip, model, coloured) -> None:
    for source, result in zip(clip.frames, coloured["temporal"]):
        assert np.abs(lab_l8(result).astype(int) - lab_l8(source)).max() <= L_TOLERANCE
    alone = VideoColorizer(model, temporal=False)
    assert all(np.array_equal(alone.colorize(f), c) for f, c in zip(clip.frames[:3], coloured["alone"]))


class Recorder:
    """Engine callback that keeps what it is told and can stop the job after `stop_after` frames."""

    def __init__(self, stop: StopFlag | None = None, stop_after: int = 0, interrupt: bool = False) -> None:
        self.progress, self.frames, self.ends = [], [], []
        self.stop, self.stop_after, self.interrupt = stop, stop_after, interrupt

    def on_progress(self, event) -> None:
        self.progress.append(event)
        if self.stop_after and event.done == self.stop_after:
            if self.interrupt:
                raise KeyboardInterrupt
            self.stop.request_stop()

    def on_frame(self, event) -> None:
        self.frames.append(event)

    def on_end(self, event) -> None:
        self.ends.append(event)


def test_video_keeps_frames_rate_size_duration_and_its_audio(clip, model, tmp_path) -> None:
    source = write_clip(tmp_path / "film.mp4", clip.frames, audio=True)
    target = tmp_path / "out" / "film_colour.mp4"
    target.parent.mkdir()
    recorder = Recorder()
    result = colorize_video(source, target, model, callbacks=[recorder], preview_interval_s=0.0)
    assert result.status == "finished" and result.path == target and result.frames == FRAMES
    before, after = probe_video(source), probe_video(target)
    assert (after.width, after.height, after.frames, after.fps) == (WIDTH, HEIGHT, FRAMES, Fraction(FPS))
    assert after.duration_s == pytest.approx(before.duration_s, abs=0.5 / FPS)
    assert after.audio_streams == 1 and audio_packets(target) == audio_packets(source)  # copied, not re-encoded
    assert [e.done for e in recorder.progress] == list(range(1, FRAMES + 1))
    assert recorder.progress[-1].total == FRAMES and recorder.ends[-1].status == "finished"
    preview = recorder.frames[-1]
    assert preview.index == FRAMES - 1 and preview.gray.shape == (HEIGHT, WIDTH)
    assert preview.colour.shape == (HEIGHT, WIDTH, 3) and [e.cut for e in recorder.frames].count(True) == 2
    inputs, outputs = read_frames(source), read_frames(target)
    assert len(outputs) == FRAMES
    moved = [np.abs(lab(o)[:, :, 0] - lab(i)[:, :, 0]).mean() for i, o in zip(inputs, outputs)]
    assert max(moved) < 2.5  # kept up to H.264's loss and 4:2:0 chroma (exactly kept: the lossless test)
    assert np.mean([np.abs(lab(o)[:, :, 1:] - 128).mean() for o in outputs]) > 5  # in colour
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary file left


def test_lossless_video_keeps_each_frames_luminance_as_a_photo_does(clip, model, tmp_path) -> None:
    source = write_clip(tmp_path / "film.mkv", clip.frames[:12], codec="ffv1", pix_fmt="yuv444p")
    target = colorize_video(source, tmp_path / "film_colour.mkv", model).path
    assert probe_video(target).codec == "ffv1"
    for before, after in zip(read_frames(source), read_frames(target), strict=True):
        moved = np.abs(lab_l8(after).astype(int) - lab_l8(before))
        assert moved.mean() < 0.75 and moved.max() <= L_TOLERANCE + 2  # + 8-bit YUV rounding
        assert np.mean(moved <= L_TOLERANCE + 1) > 0.99


@pytest.mark.parametrize(("name", "codec", "audio"), [
    ("clip.mov", "libx264", True), ("clip.webm", "libvpx-vp9", False), ("clip.avi", "mpeg4", True),
])
def test_other_containers_are_written_in_their_own_format(clip, model, tmp_path, name, codec, audio) -> None:
    source = write_clip(tmp_path / name, clip.frames[:8], codec=codec, audio=audio)
    target = colorize_video(source, tmp_path / f"out{source.suffix}", model).path
    info = probe_video(target)
    assert (info.frames, info.width, info.height, info.audio_streams) == (8, WIDTH, HEIGHT, int(audio))
    assert len(read_frames(target)) == 8
    if audio:
        assert audio_packets(target) == audio_packets(source)


@pytest.mark.parametrize("interrupt", [False, True])
def test_a_stopped_or_interrupted_video_leaves_no_file(clip, model, tmp_path, interrupt) -> None:
    source = write_clip(tmp_path / "film.mp4", clip.frames[:20], audio=True)
    folder = tmp_path / "out"
    folder.mkdir()
    stop = StopFlag()
    recorder = Recorder(stop, stop_after=5, interrupt=interrupt)
    if interrupt:
        with pytest.raises(KeyboardInterrupt):
            colorize_video(source, folder / "film_colour.mp4", model, callbacks=[recorder], stop=stop)
    else:
        result = colorize_video(source, folder / "film_colour.mp4", model, callbacks=[recorder], stop=stop)
        assert result.status == "stopped" and result.path is None and result.frames == 5
        assert recorder.ends[-1].status == "stopped"
    assert list(folder.iterdir()) == []


def test_broken_or_unsupported_videos_are_named_and_the_rest_is_coloured(clip, model, tmp_path, capsys) -> None:
    from colorcore.checkpoint import export_model, make_checkpoint, save_checkpoint
    from colorcore.cli import main

    checkpoint = save_checkpoint(tmp_path / "tiny.pt", make_checkpoint(model, model.make_optimizers()))
    model_file = export_model(checkpoint, tmp_path / "model.safetensors")
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_clip(inputs / "good.mp4", clip.frames[:10], audio=True)
    (inputs / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 and then nothing a video needs")
    truncated = (inputs / "good.mp4").read_bytes()
    (inputs / "cut_short.mkv").write_bytes(truncated[: len(truncated) // 3])
    with av.open(str(inputs / "sound_only.mp4"), "w") as container:  # a video container with no picture
        sound = container.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = AUDIO_RATE, 0
        container.mux(sound.encode(frame))
        container.mux(sound.encode(None))
    cv2.imwrite(str(inputs / "photo.png"), clip.frames[0])
    with pytest.raises(VideoError, match="no video stream"):
        probe_video(inputs / "sound_only.mp4")
    code = main(["colorize", str(model_file), str(inputs), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "broken.mp4: not a readable video" in err and "sound_only.mp4: no video stream" in err
    assert "cut_short.mkv" in err and "3 failed" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good_colour.mp4", "photo_colour.png"]
    assert probe_video(tmp_path / "out" / "good_colour.mp4").frames == 10


def test_bench_video_prints_its_json() -> None:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "bench_video.py"), "--width", "8", "--frames", "4",
         "--resolutions", "480p", "--long-minutes", "0"],
        capture_output=True, text=True, timeout=600, cwd=root,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    row = json.loads(run.stdout)["speed"][0]
    assert row["resolution"] == "480p" and row["frames"] == 4
    assert row["temporal"]["fps"] > 0 and row["per_frame_video"]["fps"] > 0 and row["arrays_fps"]["temporal"] > 0
