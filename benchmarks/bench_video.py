"""Video colourisation speed and memory: frames per second at 480p and 1080p, and RSS over a long clip.

For each resolution a clip is made from a sample photo (a pan and a zoom, a cut to a second photo,
an AAC tone as its audio track; H.264) and colourised three ways on the CPU: `colorize_video` with the
temporal step (the default), `colorize_video --no-temporal` (each frame coloured on its own, through
the same decoding and encoding), and, on the already decoded frames (no video I/O), `colorize_array`
against `VideoColorizer` frame by frame in turn (`arrays_fps`, `temporal_overhead`: the temporal
step's cost, measured interleaved so that other load on the machine slows both alike). `fps` counts input frames per wall-clock second, `cpu_s` is the process's CPU
time for the run (all threads; steadier than wall time on a shared machine). The flicker of each coloured
clip (mean |change of ab| where the Lab L does not change, `chroma_flicker` without motion
compensation) is printed beside it.

Memory: a 1080p clip of `--long-minutes` is colourised and the process RSS (VmRSS) is sampled every
frame: if streaming works, the RSS after 10 % of the clip and at its end are about the same.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorcore.colorize import colorize_array  # noqa: E402
from colorcore.imageio import read_image  # noqa: E402
from colorcore.resources import resources_dir  # noqa: E402
from colorcore.video import VideoColorizer, chroma_flicker, colorize_video  # noqa: E402

RESOLUTIONS = {"480p": (854, 480), "1080p": (1920, 1080)}
PHOTOS = ("coffee.jpg", "chelsea.jpg")
FPS = 24
AUDIO_RATE = 48000
MODEL_WIDTH = 64  # the paper's generator width


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def clip_frames(size: tuple[int, int], count: int) -> Iterator[np.ndarray]:
    """Gray RGB frames: a pan and zoom over one photo, a cut halfway, the same over another."""
    width, height = size
    photos = [read_image(resources_dir() / "samples" / name) for name in PHOTOS]
    for i in range(count):
        photo = photos[(2 * i) // count]
        h, w = photo.shape[:2]
        t = (i % max(count // 2, 1)) / max(count // 2, 1)
        scale = min(w / width, h / height) * 0.8 / (1.0 + 0.2 * t)
        cx, cy = w / 2 + (t - 0.5) * 0.2 * w, h / 2
        matrix = np.float32([[scale, 0, cx - scale * width / 2], [0, scale, cy - scale * height / 2]])
        frame = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        yield cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def write_clip(path: Path, size: tuple[int, int], count: int) -> Path:
    """An H.264 clip of `count` frames with a stereo AAC tone interleaved, written frame by frame."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "20"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        per_frame = AUDIO_RATE // FPS
        phase = 2 * np.pi * 440 * np.arange(per_frame) / AUDIO_RATE
        for i, frame in enumerate(clip_frames(size, count)):
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            tone = (0.2 * np.sin(phase + 2 * np.pi * 440 * i * per_frame / AUDIO_RATE)).astype(np.float32)
            sound = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            sound.sample_rate, sound.pts = AUDIO_RATE, i * per_frame
            container.mux(audio.encode(sound))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return path


class Meter:
    """Engine callback: RSS after every frame."""

    def __init__(self) -> None:
        self.rss: list[float] = []

    def on_progress(self, event: object) -> None:
        self.rss.append(rss_mb())


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def timed_video(source: Path, target: Path, model: torch.nn.Module, temporal: bool) -> dict[str, float]:
    start, cpu = time.perf_counter(), time.process_time()
    result = colorize_video(source, target, model, temporal=temporal)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"fps": round(result.frames / seconds, 2), "seconds": round(seconds, 2), "cpu_s": round(cpu, 2),
            "flicker": round(chroma_flicker(decoded(target)), 3)}


def speed(folder: Path, name: str, size: tuple[int, int], frames: int, model: torch.nn.Module) -> dict[str, object]:
    source = write_clip(folder / f"{name}.mp4", size, frames)
    row: dict[str, object] = {"resolution": name, "width": size[0], "height": size[1], "frames": frames}
    row["temporal"] = timed_video(source, folder / f"{name}_temporal.mp4", model, True)
    row["per_frame_video"] = timed_video(source, folder / f"{name}_alone.mp4", model, False)
    inputs = decoded(source)
    temporal = VideoColorizer(model)
    spent = {"per_frame": 0.0, "temporal": 0.0}
    for frame in inputs:  # interleaved, so that other load on the machine slows both alike
        start = time.perf_counter()
        colorize_array(frame, model)
        middle = time.perf_counter()
        temporal.colorize(frame)
        spent["per_frame"] += middle - start
        spent["temporal"] += time.perf_counter() - middle
    row["arrays_fps"] = {key: round(len(inputs) / seconds, 2) for key, seconds in spent.items()}
    row["temporal_overhead"] = round(spent["temporal"] / spent["per_frame"] - 1, 3)
    return row


def memory(folder: Path, minutes: float, fps_long: int, model: torch.nn.Module) -> dict[str, object]:
    """RSS while colourising a long 1080p clip (written at `fps_long` frames per second to save time)."""
    global FPS
    FPS, saved = fps_long, FPS
    try:
        frames = int(minutes * 60 * fps_long)
        source = write_clip(folder / "long.mp4", RESOLUTIONS["1080p"], frames)
    finally:
        FPS = saved
    meter = Meter()
    before = rss_mb()
    start = time.perf_counter()
    result = colorize_video(source, folder / "long_colour.mp4", model, callbacks=[meter])
    seconds = time.perf_counter() - start
    tenth = meter.rss[max(len(meter.rss) // 10 - 1, 0)]
    return {"minutes": minutes, "frames": result.frames, "clip_fps": fps_long, "fps": round(result.frames / seconds, 2),
            "rss_before_mb": round(before), "rss_after_10pct_mb": round(tenth), "rss_end_mb": round(meter.rss[-1]),
            "rss_peak_mb": round(max(meter.rss)), "source_mb": round(source.stat().st_size / 1e6, 1)}


def load(args: argparse.Namespace) -> tuple[torch.nn.Module, str]:
    from colorcore.checkpoint import load_model
    from colorcore.models import ModelConfig, build_model

    if args.model is not None:
        model = load_model(args.model, "cpu")
        return model, f"{args.model} ({model.name}, width {model.config.width})"
    torch.manual_seed(0)
    return build_model(ModelConfig(width=args.width, resnet_weights="none")).eval(), \
        f"multipath width {args.width}, random weights"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="model file, run folder or checkpoint (default: a multipath model of --width)")
    parser.add_argument("--width", type=int, default=MODEL_WIDTH, help="generator width (default %(default)s)")
    parser.add_argument("--frames", type=int, default=48, help="frames of each speed clip (default %(default)s)")
    parser.add_argument("--resolutions", default=",".join(RESOLUTIONS), help="of " + ", ".join(RESOLUTIONS))
    parser.add_argument("--long-minutes", type=float, default=2.0,
                        help="length of the 1080p memory clip; 0 skips it (default %(default)s)")
    parser.add_argument("--long-fps", type=int, default=4,
                        help="frame rate of the memory clip, kept low so it runs in minutes (default %(default)s)")
    args = parser.parse_args()
    model, described = load(args)
    colorize_array(next(clip_frames(RESOLUTIONS["480p"], 1)), model)  # warm-up: first-call allocations
    report: dict[str, object] = {
        "setup": {"model": described, "device": "cpu", "torch_threads": torch.get_num_threads(),
                  "cpu": platform.processor() or platform.machine(), "codec": "H.264 in and out, AAC copied",
                  "av": av.__version__, "opencv": cv2.__version__},
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        report["speed"] = [speed(folder, name, RESOLUTIONS[name], args.frames, model)
                           for name in args.resolutions.split(",")]
        if args.long_minutes > 0:
            report["memory_1080p"] = memory(folder, args.long_minutes, args.long_fps, model)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
