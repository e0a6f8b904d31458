"""Damaged and interrupted videos: a truncated file is colourised as far as it decodes and the missing
frames are named (it was a silently short video); no decodable frame is lost; a SIGTERM during a video
leaves no hidden temporary file. Clips made here from the bundled samples, a tiny real model."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from colorcore.models.base import ModelConfig, build_model
from colorcore.inference.video import colorize_video, probe_video
from tests.video_clips import FPS, camera_clip, read_frames, write_clip

ROOT = Path(__file__).resolve().parent.parent
DECLARED = 100  # frames the clip's container declares
KEPT = 50  # packets left whole by the truncation


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig(width=8, resnet_weights="none")).eval()


@pytest.fixture(scope="module")
def faststart_mp4(tmp_path_factory) -> Path:
    """A 100-frame H.264 MP4 with its index at the front (as streaming sites write them), so that a
    truncated copy still opens and declares all 100 frames."""
    frames = (camera_clip().frames * 2)[:DECLARED]
    path = tmp_path_factory.mktemp("clips") / "full.mp4"
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
    return path


def packet_offsets(path: Path) -> list[int]:
    """Where each video packet starts in the file (in file order)."""
    with av.open(str(path)) as container:
        return sorted(packet.pos for packet in container.demux(video=0) if packet.size)


def decodable_frames(path: Path) -> int:
    """Frames FFmpeg can decode from `path`: every packet tried (a damaged one skipped), one thread, flushed."""
    count = 0
    with av.open(str(path)) as container:
        for packet in container.demux(video=0):
            try:
                count += len(packet.decode())
            except av.FFmpegError:
                continue
    return count


def truncated_copy(source: Path, target: Path, size: int) -> Path:
    target.write_bytes(source.read_bytes()[:size])
    return target


def test_a_half_truncated_mp4_is_coloured_as_far_as_it_decodes_and_the_missing_frames_are_named(
        faststart_mp4, model, tmp_path) -> None:
    half = truncated_copy(faststart_mp4, tmp_path / "half.mp4", packet_offsets(faststart_mp4)[KEPT])
    assert probe_video(half).frames == DECLARED and decodable_frames(half) == KEPT
    target = tmp_path / "out" / "half_colour.mp4"
    result = colorize_video(half, target, model)
    assert result.status == "finished" and result.path == target and result.frames == KEPT
    message = result.missing.describe()
    assert f"only {KEPT} of its {DECLARED} frames could be decoded" in message
    # B-frames: the kept packets hold the frames up to about frame 51, one of them missing near the cut
    assert re.search(rf"frames {KEPT + 1}-{DECLARED} \(from 2\.(08|12) s on\) are missing", message), message
    assert f"the {KEPT} frames that decode were colourised" in message
    assert len(read_frames(target)) == KEPT, "every decodable frame is kept"
    assert [p.name for p in target.parent.iterdir()] == [target.name], "no temporary file left"
    assert colorize_video(faststart_mp4, tmp_path / "whole.mp4", model).missing is None


def test_a_cut_inside_a_frame_loses_no_frame_that_decodes(faststart_mp4, model, tmp_path) -> None:
    offsets = packet_offsets(faststart_mp4)
    cut = truncated_copy(faststart_mp4, tmp_path / "cut.mp4", (offsets[KEPT] + offsets[KEPT + 1]) // 2)
    decodable = decodable_frames(cut)
    assert decodable >= KEPT
    result = colorize_video(cut, tmp_path / "cut_colour.mp4", model)
    assert "the file looks truncated" in result.missing.describe()
    assert result.frames == decodable  # frame threads dropped the two frames in flight here
    assert len(read_frames(tmp_path / "cut_colour.mp4")) == decodable


def test_a_truncated_video_without_a_frame_count_is_named_by_its_duration(model, tmp_path) -> None:
    whole = write_clip(tmp_path / "whole.mkv", (camera_clip().frames * 2)[:DECLARED])
    short = truncated_copy(whole, tmp_path / "short.mkv", whole.stat().st_size // 2)
    assert probe_video(short).frames == DECLARED  # estimated from the declared duration
    missing = colorize_video(short, tmp_path / "short_colour.mkv", model).missing
    assert re.search(r"could be decoded; frames \d+-100 \(from 1\.\d\d s on\) are missing", missing.describe())
    whole_result = colorize_video(whole, tmp_path / "whole_colour.mkv", model)
    assert whole_result.missing is None and whole_result.frames == DECLARED  # a whole one is not flagged


def test_the_command_line_warns_of_the_missing_frames_and_keeps_the_rest(faststart_mp4, model, tmp_path, capsys) -> None:
    from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint
    from colorcore.cli import main

    model_file = export_model(save_checkpoint(tmp_path / "tiny.pt", make_checkpoint(model, model.make_optimizers())),
                              tmp_path / "model.safetensors")
    half = truncated_copy(faststart_mp4, tmp_path / "half.mp4", packet_offsets(faststart_mp4)[KEPT])
    code = main(["colorize", str(model_file), str(half), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0  # the file was colourised as far as it goes, with a note, as an animated GIF's first frame is
    assert f"half.mp4: only {KEPT} of its {DECLARED} frames could be decoded" in err
    assert f"frames {KEPT + 1}-{DECLARED}" in err
    assert len(read_frames(tmp_path / "out" / "half_colour.mp4")) == KEPT


TERMINATED_MID_VIDEO = """
import os, signal, sys, torch
from colorcore.models.base import ModelConfig, build_model
from colorcore.inference.video import colorize_video

class TerminateAtFrame3:
    def on_progress(self, event):
        if event.done == 3:
            os.kill(os.getpid(), signal.SIGTERM)

torch.manual_seed(0)
model = build_model(ModelConfig(width=8, resnet_weights="none")).eval()
colorize_video(sys.argv[1], sys.argv[2], model, callbacks=[TerminateAtFrame3()])
print("not terminated")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM ends a Windows process without running Python")
def test_sigterm_during_a_video_leaves_no_hidden_part_file(model, tmp_path) -> None:
    source = write_clip(tmp_path / "film.mp4", camera_clip().frames[:20], audio=True)
    folder = tmp_path / "out"
    folder.mkdir()
    done = subprocess.run([sys.executable, "-c", TERMINATED_MID_VIDEO, str(source), str(folder / "film_colour.mp4")],
                          cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "not terminated" not in done.stdout
    assert sorted(p.name for p in folder.iterdir()) == []
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # nothing left installed in this process either
    colorize_video(source, folder / "again.mp4", model)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert np.array(read_frames(folder / "again.mp4")).shape[0] == 20
