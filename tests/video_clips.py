"""Short gray clips made from the bundled sample photos, with their known camera motion, for the video
tests; and writing/reading them with PyAV.

`camera_clip`: a photo panned by whole pixels, a cut, another zoomed into while panning (clean).
`film_clip`: closer to a real film (`benchmarks/film.py`, which `bench_video.py` measures): a handheld
shot and a tripod shot, each with a subject walking across the landscape, film grain, a cut between
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks.film import film_frames, sample

WIDTH, HEIGHT, FRAMES, CUT, FPS = 160, 120, 60, 30, 24
CAMERA_SHOTS = ("coffee.jpg", "chelsea.jpg")
AUDIO_RATE = 16000


@dataclass(frozen=True)
class Clip:
    """Gray RGB frames; for each frame its camera motion (None at the first frame of a shot) and, for
    film clips, where the subject covers it (bool mask)."""

    frames: list[np.ndarray]
    motions: list[np.ndarray | None]
    subject: list[np.ndarray] | None = None


def gray_rgb(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


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


def _motions(maps: list[np.ndarray]) -> list[np.ndarray | None]:
    """Frame-to-previous-frame 2x3 maps from each frame's 3x3 map to the photo."""
    return [None] + [(np.linalg.inv(a) @ b)[:2] for a, b in zip(maps, maps[1:])]


def camera_clip() -> Clip:
    """160x120, 60 frames: one sample photo panned, a cut at frame 30, another zoomed into while panning."""
    frames, motions = [], []
    for shot, maps in (_pan(sample(CAMERA_SHOTS[0]), CUT), _zoom(sample(CAMERA_SHOTS[1]), FRAMES - CUT)):
        frames += [gray_rgb(f) for f in shot]
        motions += _motions(maps)
    return Clip(frames, motions)


def film_clip(size: tuple[int, int] = (320, 180), frames: int = FRAMES) -> Clip:
    """The film clip in memory (see `film_frames`)."""
    shots = list(film_frames(size, frames))
    return Clip([f for f, _, _ in shots], [m for _, m, _ in shots], [s for _, _, s in shots])


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
