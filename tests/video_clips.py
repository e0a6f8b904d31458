"""Short gray clips made from the bundled sample photos, with their known camera motion, for the video
tests and `benchmarks/bench_video.py`; and writing/reading them with PyAV.

`camera_clip`: a photo panned by whole pixels, a cut, another zoomed into while panning (clean).
`film_clip`: closer to a real film: a handheld shot (slow pan and zoom with a random-walk shake) and a
tripod shot, each with a subject walking across the landscape on its own path, film grain on every
frame, a cut between them. Each frame after the first of a shot has the 2x3 map from its pixels to
the previous frame's (the camera's motion; the subject moves otherwise), for `chroma_flicker`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from colorcore.data.imageio import read_image
from colorcore.core.resources import resources_dir

WIDTH, HEIGHT, FRAMES, CUT, FPS = 160, 120, 60, 30, 24
CAMERA_SHOTS = ("coffee.jpg", "chelsea.jpg")
# (landscape, subject, handheld): the subject is an oval cut from the middle of its photo
FILM_SHOTS = (("aitzgorri.jpg", "grace_hopper.jpg", True), ("picos_de_europa.jpg", "astronaut.jpg", False))
GRAIN = 3.0  # standard deviation of the film grain, in 8-bit luma levels
AUDIO_RATE = 16000


@dataclass(frozen=True)
class Clip:
    """Gray RGB frames; for each frame its camera motion (None at the first frame of a shot) and, for
    film clips, where the subject covers it (bool mask)."""

    frames: list[np.ndarray]
    motions: list[np.ndarray | None]
    subject: list[np.ndarray] | None = None


def sample(name: str) -> np.ndarray:
    return read_image(resources_dir() / "samples" / name)


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


def _subject(photo: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """An oval from the middle of `photo`, `height` pixels tall: RGB float32 and its soft mask."""
    h, w = photo.shape[:2]
    sh, sw = height, int(height * 0.8)
    cut = photo[int(0.05 * h):int(0.75 * h), int(0.2 * w):int(0.8 * w)]
    picture = cv2.resize(cut, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = np.zeros((sh, sw), np.float32)
    cv2.ellipse(mask, (sw // 2, sh // 2), (sw // 2 - 2, sh // 2 - 2), 0, 0, 360, 1.0, -1)
    return picture, cv2.GaussianBlur(mask, (5, 5), 1.5)


def film_shot(landscape: str, subject: str, size: tuple[int, int], frames: int, *, handheld: bool,
              seed: int, grain: float = GRAIN) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray]]:
    """One shot, frame by frame: (gray RGB frame, camera motion to the previous frame or None for the
    first, subject mask). Handheld: a pan over 10 % of the landscape, an 8 % zoom in and a random-walk
    shake of 0.3 px a frame; tripod: a still camera. The subject walks left to right, bobbing."""
    width, height = size
    rng = np.random.default_rng(seed)
    background = sample(landscape)
    picture, mask = _subject(sample(subject), int(0.45 * height))
    sh, sw = mask.shape
    bh, bw = background.shape[:2]
    base = min(bw / width, bh / height) * 0.85
    shake = np.cumsum(rng.normal(0.0, 0.3, (frames, 2)), axis=0) if handheld else np.zeros((frames, 2))
    previous = None
    for i in range(frames):
        t = i / max(frames - 1, 1)
        scale = base / (1.0 + 0.08 * t) if handheld else base
        cx = bw / 2 + ((t - 0.5) * 0.1 * bw if handheld else 0.0) + shake[i, 0] * scale
        cy = bh / 2 + shake[i, 1] * scale
        camera = np.array([[scale, 0, cx - scale * width / 2], [0, scale, cy - scale * height / 2], [0, 0, 1]])
        frame = cv2.warpAffine(background, camera[:2], (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        x, y = int((-0.1 + 0.9 * t) * width), int(0.45 * height + 0.03 * height * np.sin(6 * t))
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + sw, width), min(y + sh, height)
        covered = np.zeros((height, width), bool)
        if x1 > x0 and y1 > y0:
            alpha = mask[y0 - y:y1 - y, x0 - x:x1 - x, None]
            frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - alpha) + picture[y0 - y:y1 - y, x0 - x:x1 - x] * alpha
            covered[y0:y1, x0:x1] = alpha[:, :, 0] > 0.01
        luma = cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY).astype(np.float32)
        luma += rng.normal(0.0, grain, luma.shape).astype(np.float32)
        gray = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
        yield (cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB), None if previous is None else (np.linalg.inv(previous) @ camera)[:2],
               covered)
        previous = camera


def film_frames(size: tuple[int, int], frames: int) -> Iterator[tuple[np.ndarray, np.ndarray | None, np.ndarray]]:
    """The film clip frame by frame (see `film_shot`): a handheld shot, a cut halfway, a tripod shot."""
    first = frames // 2
    for (landscape, subject, handheld), count, seed in zip(FILM_SHOTS, (first, frames - first), (1, 2)):
        yield from film_shot(landscape, subject, size, count, handheld=handheld, seed=seed)


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
