"""A synthetic gray film made from the bundled sample photos, with its known camera motion: the clip
`bench_video.py` measures (speed, flicker) and the video tests colourise (`tests/video_clips.py`).

Each shot: a landscape photo seen by a handheld camera (slow pan and zoom with a random-walk shake) or
a tripod, a subject walking across it on its own path, film grain on every frame; each frame after the
first of a shot has the 2x3 map from its pixels to the previous frame's (the camera's motion; the
subject moves otherwise), for `chroma_flicker`.
"""

from __future__ import annotations

from typing import Iterator

import cv2
import numpy as np

from colorcore.core.resources import samples_dir
from colorcore.data.imageio import read_image

# (landscape, subject, handheld): the subject is an oval cut from the middle of its photo
FILM_SHOTS = (("aitzgorri.jpg", "grace_hopper.jpg", True), ("picos_de_europa.jpg", "astronaut.jpg", False))
GRAIN = 3.0  # standard deviation of the film grain, in 8-bit luma levels


def sample(name: str) -> np.ndarray:
    """A bundled sample photo, RGB uint8."""
    return read_image(samples_dir() / name)


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
