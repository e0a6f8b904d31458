"""Video colourisation speed, flicker and memory: frames per second at 480p and 1080p, and RSS over a long clip.

For each resolution a clip is made from the sample photos (`benchmarks/film.py`'s film clip: a
handheld shot with a slow pan, zoom and shake, a cut, a tripod shot, a subject walking across each,
film grain; an AAC tone as its audio track; H.264) and colourised three ways on the CPU with the
bundled starter model (what users have; `--model` for another): `colorize_video` with the temporal
step (the default), `colorize_video --no-temporal` (each frame coloured on its own, through the same
decoding and encoding), and, on the already decoded frames (no video I/O), `colorize_array` against
`VideoColorizer` frame by frame in turn (`arrays_fps`, `temporal_overhead`: the temporal step's
cost, measured interleaved so that other load on the machine slows both alike). `fps` counts input
frames per wall-clock second, `cpu_s` is the process's CPU time for the run (all threads; steadier
than wall time on a shared machine).

Flicker (`chroma_flicker` on the decoded output): mean |change of ab| between consecutive frames
where the Lab L does not change, comparing each point with itself along the camera's known motion
(`flicker`, the measure; the tripod shot's motion is none), and at fixed pixels
(`flicker_fixed_pixels`, which a moving camera inflates with colour that merely moved, for reference);
`flicker_ratio` is per-frame over temporal.

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

import av
import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorcore.inference.colorize import colorize_array  # noqa: E402
from colorcore.inference.video import VideoColorizer, chroma_flicker, colorize_video  # noqa: E402
from benchmarks.film import film_frames  # noqa: E402

RESOLUTIONS = {"480p": (854, 480), "1080p": (1920, 1080)}
FPS = 24
AUDIO_RATE = 48000


def rss_mb() -> float:
    """Current resident set size of this process in MB (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def write_clip(path: Path, size: tuple[int, int], count: int, fps: int = FPS) -> list[np.ndarray | None]:
    """An H.264 film clip of `count` frames with a stereo AAC tone interleaved, written frame by
    frame; returns each frame's camera motion (for the flicker measure)."""
    motions: list[np.ndarray | None] = []
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "20"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        per_frame = AUDIO_RATE // fps
        phase = 2 * np.pi * 440 * np.arange(per_frame) / AUDIO_RATE
        for i, (frame, motion, _) in enumerate(film_frames(size, count)):
            motions.append(motion)
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            tone = (0.2 * np.sin(phase + 2 * np.pi * 440 * i * per_frame / AUDIO_RATE)).astype(np.float32)
            sound = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
            sound.sample_rate, sound.pts = AUDIO_RATE, i * per_frame
            container.mux(audio.encode(sound))
        container.mux(video.encode(None))
        container.mux(audio.encode(None))
    return motions


class Meter:
    """Engine callback: RSS after every frame."""

    def __init__(self) -> None:
        self.rss: list[float] = []

    def on_progress(self, event: object) -> None:
        self.rss.append(rss_mb())


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def timed_video(source: Path, target: Path, model: torch.nn.Module, temporal: bool,
                motions: list[np.ndarray | None]) -> dict[str, float]:
    start, cpu = time.perf_counter(), time.process_time()
    result = colorize_video(source, target, model, temporal=temporal)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    frames = decoded(target)
    return {"fps": round(result.frames / seconds, 2), "seconds": round(seconds, 2), "cpu_s": round(cpu, 2),
            "flicker": round(chroma_flicker(frames, motions), 3),
            "flicker_fixed_pixels": round(chroma_flicker(frames), 3)}


def speed(folder: Path, name: str, size: tuple[int, int], frames: int, model: torch.nn.Module) -> dict[str, object]:
    source = folder / f"{name}.mp4"
    motions = write_clip(source, size, frames)
    row: dict[str, object] = {"resolution": name, "width": size[0], "height": size[1], "frames": frames}
    row["temporal"] = timed_video(source, folder / f"{name}_temporal.mp4", model, True, motions)
    row["per_frame_video"] = timed_video(source, folder / f"{name}_alone.mp4", model, False, motions)
    row["flicker_ratio"] = round(row["per_frame_video"]["flicker"] / max(row["temporal"]["flicker"], 1e-9), 2)
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
    frames = int(minutes * 60 * fps_long)
    source = folder / "long.mp4"
    write_clip(source, RESOLUTIONS["1080p"], frames, fps_long)
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
    from colorcore.models.base import ModelConfig, build_model
    from colorcore.models.checkpoint import load_model, resolve_model_path

    if args.width is not None:
        torch.manual_seed(0)
        return build_model(ModelConfig(width=args.width, resnet_weights="none")).eval(), \
            f"multipath width {args.width}, random weights"
    path = resolve_model_path(args.model)
    model = load_model(path, "cpu")
    if args.uncalibrated:
        from colorcore.models.calibration import ChromaCalibration

        model.calibration = ChromaCalibration()
    return model, (f"{args.model or 'starter'}: {path.name} ({model.name}, width {model.config.width}, "
                   f"chroma calibration {model.calibration})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help="model file, run folder or checkpoint (default: the bundled starter model)")
    parser.add_argument("--uncalibrated", action="store_true",
                        help="use the network's own chroma, without the model file's calibration (docs/video.md)")
    parser.add_argument("--width", type=int, default=None,
                        help="an untrained multipath model of this width instead (for a quick smoke run)")
    parser.add_argument("--frames", type=int, default=48, help="frames of each speed clip (default %(default)s)")
    parser.add_argument("--resolutions", default=",".join(RESOLUTIONS), help="of " + ", ".join(RESOLUTIONS))
    parser.add_argument("--long-minutes", type=float, default=2.0,
                        help="length of the 1080p memory clip; 0 skips it (default %(default)s)")
    parser.add_argument("--long-fps", type=int, default=4,
                        help="frame rate of the memory clip, kept low so it runs in minutes (default %(default)s)")
    args = parser.parse_args()
    model, described = load(args)
    colorize_array(next(film_frames(RESOLUTIONS["480p"], 1))[0], model)  # warm-up: first-call allocations
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
