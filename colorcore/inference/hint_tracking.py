"""Hints that follow their object through a video: points and strokes placed on one frame, tracked.

A hint with a `frame` (`colorcore.inference.hints`) was placed on that frame of a video. Its points (a
point hint's spot, every vertex of a stroke) are carried to the later frames and back to the earlier
ones by sparse optical flow: pyramidal Lucas-Kanade (`cv2.calcOpticalFlowPyrLK`) from frame to frame
on the gray frames, forward from the hint's frame and backward from it. A step is kept only when
tracking the point back from where it landed returns within `FORWARD_BACKWARD_PX` of where it started
(the forward-backward check of Kalal et al. 2010) and the little patch around it still looks the same
(mean difference at most `PATCH_CHANGE` levels). A point that fails either, leaves the picture, or
sits on a flat patch with nothing to track is lost, and stays lost from there on in that direction: its
hint stops applying there rather than land on the wrong object. A stroke keeps the runs of its vertices
that are still tracked (a run of one vertex is a dab). Hints without a frame stay where they are on
every frame.

Tracking runs on the frames scaled to at most `TRACK_LONG_SIDE` pixels; backward it reaches at most
`BACKWARD_REACH` frames before a hint's frame (the gray frames of that span are kept in memory).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

from colorcore.inference.hints import Hints, PointHint, StrokeHint

TRACK_LONG_SIDE = 640  # frames are tracked at most this large (pixels, long side)
LK_WINDOW = (21, 21)  # Lucas-Kanade window (tracking pixels)
LK_LEVELS = 3  # pyramid levels above the frame: moves up to about 2**3 * 10 px a frame
LK_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)
LK_MIN_EIGEN = 1e-3  # a window flatter than this cannot be tracked (OpenCV's default is 1e-4)
FORWARD_BACKWARD_PX = 1.0  # tracked there and back, a kept point returns this close (tracking pixels)
PATCH = (9, 9)  # the patch compared before and after a step (tracking pixels)
PATCH_CHANGE = 12.0  # ... whose mean absolute difference (8-bit levels) may be at most this
BACKWARD_REACH = 300  # frames tracked back from a hint's frame at most


@dataclass(frozen=True)
class HintTracks:
    """Where the anchored hints of a video are on each frame.

    `positions[i]` is an (n, 2) array of relative (x, y) of every tracked vertex on frame i (NaN where
    it is lost or not reached), the vertices in the order of `hints`' anchored points then the vertices
    of its anchored strokes. `hints_at(i)` gives the hints to paint on frame i.
    """

    hints: Hints
    positions: tuple[np.ndarray, ...]

    @property
    def frames(self) -> int:
        """How many frames were tracked (the video's)."""
        return len(self.positions)

    def hints_at(self, index: int) -> Hints:
        """The hints of frame `index`: those without a frame as they are, the anchored ones where they
        were tracked to (left out where lost), all without a frame."""
        row = self.positions[index] if 0 <= index < len(self.positions) else None
        points: list[PointHint] = []
        strokes: list[StrokeHint] = []
        vertex = 0
        for point in self.hints.points:
            if point.frame is None:
                points.append(point)
                continue
            if row is not None and not np.isnan(row[vertex, 0]):
                x, y = (float(v) for v in row[vertex])
                points.append(PointHint(x, y, point.color, point.width))
            vertex += 1
        for stroke in self.hints.strokes:
            if stroke.frame is None:
                strokes.append(stroke)
                continue
            tracked = row[vertex:vertex + len(stroke.points)] if row is not None else None
            vertex += len(stroke.points)
            if tracked is not None:
                strokes.extend(StrokeHint(run, stroke.color, stroke.width) for run in _runs(tracked))
        return Hints(tuple(points), tuple(strokes))


def _runs(vertices: np.ndarray) -> list[tuple[tuple[float, float], ...]]:
    """The runs of consecutive tracked (not NaN) vertices of a stroke."""
    runs: list[tuple[tuple[float, float], ...]] = []
    current: list[tuple[float, float]] = []
    for x, y in vertices:
        if np.isnan(x):
            if current:
                runs.append(tuple(current))
            current = []
        else:
            current.append((float(x), float(y)))
    if current:
        runs.append(tuple(current))
    return runs


def anchored_vertices(hints: Hints) -> tuple[np.ndarray, np.ndarray]:
    """The relative (x, y) (n, 2) of every anchored vertex (points, then strokes' vertices) and the
    frame (n,) each was placed on."""
    xy: list[tuple[float, float]] = []
    frames: list[int] = []
    for point in hints.points:
        if point.frame is not None:
            xy.append((point.x, point.y))
            frames.append(point.frame)
    for stroke in hints.strokes:
        if stroke.frame is not None:
            xy.extend(stroke.points)
            frames.extend([stroke.frame] * len(stroke.points))
    return np.asarray(xy, np.float32).reshape(-1, 2), np.asarray(frames, np.int64)


def tracking_frame(gray: np.ndarray) -> np.ndarray:
    """A gray uint8 frame (h, w) scaled to at most `TRACK_LONG_SIDE` on its long side."""
    h, w = gray.shape
    scale = TRACK_LONG_SIDE / max(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(gray)
    return cv2.resize(gray, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def track_step(previous: np.ndarray, following: np.ndarray, points: np.ndarray) -> np.ndarray:
    """`points` (n, 2) pixel positions on the frame `previous`, carried to the frame `following` (both
    gray uint8 of one size); NaN for those lost (and those NaN already)."""
    out = np.full_like(points, np.nan, dtype=np.float32)
    alive = ~np.isnan(points[:, 0])
    if not alive.any():
        return out
    start = points[alive].astype(np.float32).reshape(-1, 1, 2)
    kwargs = {"winSize": LK_WINDOW, "maxLevel": LK_LEVELS, "criteria": LK_CRITERIA, "minEigThreshold": LK_MIN_EIGEN}
    moved, found, _ = cv2.calcOpticalFlowPyrLK(previous, following, start, None, **kwargs)
    back, found_back, _ = cv2.calcOpticalFlowPyrLK(following, previous, moved, None, **kwargs)
    h, w = previous.shape
    kept = (found.ravel() == 1) & (found_back.ravel() == 1)
    kept &= np.linalg.norm((back - start).reshape(-1, 2), axis=1) <= FORWARD_BACKWARD_PX
    landed = moved.reshape(-1, 2)
    kept &= (landed[:, 0] >= 0) & (landed[:, 0] <= w - 1) & (landed[:, 1] >= 0) & (landed[:, 1] <= h - 1)
    for i in np.flatnonzero(kept):
        before = cv2.getRectSubPix(previous, PATCH, tuple(float(v) for v in start[i, 0])).astype(np.float32)
        after = cv2.getRectSubPix(following, PATCH, tuple(float(v) for v in landed[i])).astype(np.float32)
        kept[i] = float(np.abs(before - after).mean()) <= PATCH_CHANGE
    rows = np.flatnonzero(alive)
    out[rows[kept]] = landed[kept]
    return out


def track_hints(frames: Iterable[np.ndarray], hints: Hints) -> HintTracks:
    """Track the anchored hints of `hints` through the gray uint8 frames (h, w) of a video, in order
    (read once). A hint whose frame is past the last one is never placed."""
    xy, anchors = anchored_vertices(hints)
    positions: list[np.ndarray] = []  # pixels on the tracking grid, per frame
    history: deque[np.ndarray] = deque(maxlen=BACKWARD_REACH + 1)  # the latest tracking frames
    size = (1, 1)
    for index, gray in enumerate(frames):
        small = tracking_frame(gray)
        if history and history[-1].shape != small.shape:
            raise ValueError(f"frame {index} is {gray.shape[1]}x{gray.shape[0]}: the frames of a video share one size")
        size = (small.shape[1], small.shape[0])
        row = track_step(history[-1], small, positions[-1]) if history else np.full_like(xy, np.nan)
        placed = anchors == index
        if placed.any():
            grid = np.asarray(size, np.float32)
            row[placed] = np.minimum(xy[placed] * grid, grid - 1)  # x = 1 is the last pixel, not one past it
            _track_back(list(history), small, row, placed, positions)
        positions.append(row)
        history.append(small)
    scale = np.asarray(size, np.float32)
    return HintTracks(hints, tuple(p / scale for p in positions))


def _track_back(history: list[np.ndarray], frame: np.ndarray, row: np.ndarray, placed: np.ndarray,
                positions: list[np.ndarray]) -> None:
    """Carry the vertices `placed` on `frame` (their pixels in `row`) back through the earlier frames
    `history` (oldest first; the last precedes `frame`), into `positions` (one row per earlier frame)."""
    points = row.copy()
    points[~placed] = np.nan
    following = frame
    for back, previous in enumerate(reversed(history), start=1):
        points = track_step(following, previous, points)
        if np.isnan(points[:, 0]).all():
            return
        earlier = positions[len(positions) - back]
        found = placed & ~np.isnan(points[:, 0])
        earlier[found] = points[found]
        following = previous


__all__ = [
    "BACKWARD_REACH", "HintTracks", "TRACK_LONG_SIDE", "anchored_vertices", "track_hints", "track_step",
    "tracking_frame",
]
