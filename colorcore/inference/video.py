"""Colourise videos: frames streamed through PyAV, chroma carried along the motion between frames.

Each frame is colourised as a photo is (`colorcore.inference.colorize`: the network predicts chroma from the
frame's luma, the frame keeps its own Lab L), with one temporal step between the prediction and the
full-resolution recombination (`TemporalChroma`): the previous frame's chroma, held on a grid four times
the prediction's, is warped along the DIS optical flow of the small luminance and blended with the
frame's own prediction, with less weight where the warp does not explain the luminance (occlusions,
new content) and none at a scene cut (a jump of the luminance histogram). The flow and that check
use the luminance slightly smoothed and let a few levels of difference pass as noise, so that film
grain neither jitters the flow nor passes for an occlusion (with the raw luminance, grain of 3 levels
cut the mean carried weight from 0.95 to 0.80 and the flicker reduction from 5x to 2.3x). Flicker then falls several times (docs/video.md) while each
shot still starts from its own per-frame colour.

The user's colour controls (`colorcore.inference.colour_control.ColourControls`: hints, a reference photo,
saturation) act on each frame's chroma after the temporal step, through the photo pipeline's
`ChromaEditor`, so the steadied colour is what they change and flicker stays low: saturation and the
reference's statistics per frame. A hint placed on a frame (its `frame` set) follows what it was put
on: a first pass over the gray frames tracks its points forward and backward from that frame
(`colorcore.inference.hint_tracking`) and each frame is painted where they are, none where a track
was lost; a hint without a frame stays at its relative position on every frame (a still camera).

`colorize_video` reads and writes frame by frame (memory stays flat whatever the length), keeps the
frame count, timestamps, frame rate, size, display rotation and colour matrix, copies every audio
stream packet for packet, writes to a temporary file in the target folder and renames it at the
end, so a cancelled or failed run leaves no partial file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import av
import cv2
import numpy as np
import torch

from colorcore.core.atomic import DEFAULT_FILE_MODE, UMASK, fsync_dir
from colorcore.inference.colour_control import ChromaEditor, ColourControls
from colorcore.inference.chroma import GUIDE_SCALE, chroma_u8, guided_chroma, lab_l8, predict_chroma, recombine
from colorcore.models.base import check_inference_size
from colorcore.data.imageio import luma
from colorcore.core.events import EndEvent, ProgressEvent, StopFlag, emit, should_stop
from colorcore.inference.hint_tracking import HintTracks, anchored_vertices, track_hints
from colorcore.inference.hints import Hints
from colorcore.models.base import ColorModel

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
STATE_SCALE = 4  # the carried chroma lives on a grid this many times the prediction's
BLEND = 0.98  # weight of the carried chroma where the flow explains the luminance perfectly
WARP_NOISE = 3.0  # smoothed luma difference (levels) after warping still taken as grain or noise: full weight
WARP_ERROR_LIMIT = 32.0  # ... and how much more difference takes the carried chroma's weight to none
SMOOTH_SIGMA = 1.5  # Gaussian smoothing (state-grid pixels) of the luma for the flow and the warp check
CUT_BINS = 32
CUT_DISTANCE = 0.35  # total-variation distance between luminance histograms that starts a new shot
STILL_L = 1  # flicker is measured where the 8-bit Lab L changes by at most this much
PREVIEW_INTERVAL_S = 0.25
# encoders for the input's codec; anything else gets the container's fallback
ENCODERS = {
    "h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "vp8": "libvpx", "av1": "libsvtav1",
    "mpeg4": "mpeg4", "mpeg2video": "mpeg2video", "mjpeg": "mjpeg", "ffv1": "ffv1", "prores": "prores_ks",
}
FALLBACK_ENCODERS = {".webm": "libvpx-vp9"}
DEFAULT_ENCODER = "libx264"
ENCODER_OPTIONS = {  # high quality: the output should look like the input, plus colour
    "libx264": {"crf": "18", "preset": "fast"},
    "libx265": {"crf": "20", "preset": "fast"},
    "libvpx-vp9": {"crf": "24", "b": "0", "row-mt": "1", "cpu-used": "4"},
    "libvpx": {"crf": "8", "b": "20M"},
    "libsvtav1": {"crf": "30", "preset": "8"},
}
BITRATE_ENCODERS = ("mpeg4", "mpeg2video", "mjpeg")  # no constant-quality option: a generous bitrate
BITS_PER_PIXEL = 0.3
DEFAULT_PIX_FMT = "yuv420p"
# FFmpeg's AVColorSpace -> swscale's matrix (BT.709, FCC, BT.601 / BT.470BG / SMPTE 170M, SMPTE 240M, BT.2020)
SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
SWS_BT709, SWS_BT601 = 1, 5
HD_HEIGHT = 720  # untagged video at least this tall is BT.709, as players assume
AVCOL_RANGE_MPEG = 1
# a container that declares no frame count (Matroska, WebM): frames are missing when the decoded ones end
# this much before its declared duration (an audio track may outlast the picture by a frame or two)
MISSING_TAIL_S = 0.5
DAMAGED_TIMES_SHOWN = 3
TERMINATION_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class VideoError(Exception):
    """A video that cannot be read or written: `path` and a human `reason`."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class MissingFrames:
    """Frames of a video that could not be decoded: the count its container declares (or its duration
    implies), how many were decoded, where the decoded ones stop short of the end (None: they reach it)
    and when the data that failed to decode was due."""

    declared: int
    decoded: int
    tail_from_s: float | None = None
    damaged_s: tuple[float, ...] = ()

    def describe(self) -> str:
        """One sentence naming the missing frames, e.g. "only 50 of its 100 frames could be decoded;
        frames 51-100 (from 2.08 s on) are missing: the file looks truncated; the 50 frames that decode
        were colourised"."""
        parts = []
        if self.declared > self.decoded:
            parts.append(f"only {self.decoded} of its {self.declared} frames could be decoded")
        if self.tail_from_s is not None:
            first = self.decoded + 1
            last = max(self.declared, first)
            frames = f"frame {first}" if first == last else f"frames {first}-{last}"
            parts.append(f"{frames} (from {self.tail_from_s:.2f} s on) are missing: the file looks truncated")
        if self.damaged_s:
            times = ", ".join(f"{t:.2f} s" for t in self.damaged_s[:DAMAGED_TIMES_SHOWN])
            more = f" and {len(self.damaged_s) - DAMAGED_TIMES_SHOWN} more" if len(self.damaged_s) > DAMAGED_TIMES_SHOWN else ""
            parts.append(f"damaged data at {times}{more} could not be decoded")
        return "; ".join([*parts, f"the {self.decoded} frames that decode were colourised"])


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds: size, frame rate, frame count (estimated when the container does not say)."""

    width: int
    height: int
    fps: Fraction
    frames: int
    duration_s: float
    codec: str
    audio_streams: int


@dataclass(frozen=True)
class FrameEvent:
    """Preview of the frame just written (rate-limited): its luma input and colour output, and speed."""

    index: int
    total: int
    gray: np.ndarray
    colour: np.ndarray
    fps: float
    eta_s: float | None
    cut: bool


@dataclass(frozen=True)
class VideoResult:
    """How a video job ended: `status` "finished" (`path` written) or "stopped" (nothing written);
    `missing`: the frames a finished one lacks because they could not be decoded (None: none)."""

    status: str
    path: Path | None
    frames: int
    cuts: int
    seconds: float
    missing: MissingFrames | None = None


def is_video(path: str | Path) -> bool:
    """True for a file name with a video container extension (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def list_videos(root: str | Path) -> list[Path]:
    """Videos under `root` (recursive, sorted), by extension; hidden files (our temp files) left out."""
    return sorted(p for p in Path(root).rglob("*") if is_video(p) and not p.name.startswith(".") and p.is_file())


def _reason(exc: Exception) -> str:
    """A one-line reason from a PyAV/FFmpeg error."""
    if isinstance(exc, av.FFmpegError):
        return exc.strerror or str(exc)
    return str(exc)


def _open_input(path: Path) -> av.container.InputContainer:
    """`path` opened for reading, with a video stream; VideoError otherwise."""
    if not path.is_file():
        raise VideoError(path, "no such file")
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError(path, f"not a readable video ({_reason(exc)})") from None
    if not any(_is_picture(s) for s in container.streams.video):
        container.close()
        raise VideoError(path, "no video stream in this file")
    return container


def _is_picture(stream: av.video.stream.VideoStream) -> bool:
    """A moving-picture stream, not an attached cover image."""
    return not stream.disposition & av.stream.Disposition.attached_pic


def _video_stream(container: av.container.Container) -> av.video.stream.VideoStream:
    """The first moving-picture video stream (the one that is colourised; others are left out)."""
    return next(s for s in container.streams.video if _is_picture(s))


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction:
    return Fraction(stream.average_rate or stream.guessed_rate or stream.base_rate or 25)


def _duration_s(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float:
    """The duration the video stream declares, else the container's (0 when neither says)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return (container.duration or 0) / av.time_base


def _info(container: av.container.InputContainer) -> VideoInfo:
    stream = _video_stream(container)
    fps = _frame_rate(stream)
    duration = _duration_s(container, stream)
    frames = stream.frames or round(duration * fps)
    return VideoInfo(stream.codec_context.width, stream.codec_context.height, fps, int(frames), duration,
                     stream.codec_context.name, len(container.streams.audio))


def probe_video(path: str | Path) -> VideoInfo:
    """Size, frame rate, frame count, duration, codec and audio of a video; VideoError if unreadable."""
    path = Path(path)
    with _open_input(path) as container:
        return _info(container)


def read_video_frame(path: str | Path, seconds: float = 0.0) -> np.ndarray:
    """RGB uint8 of the first frame shown at or after `seconds` (decoded from the keyframe before it);
    VideoError for an unreadable video or one without frames."""
    path = Path(path)
    with _open_input(path) as container:
        shown = _frame_at(path, container, seconds)
        matrix = _colour_matrix(shown)
        return shown.to_ndarray(format="rgb24", src_colorspace=matrix, dst_colorspace=matrix,
                                src_color_range=int(shown.color_range) or AVCOL_RANGE_MPEG)


def frame_index_at(path: str | Path, seconds: float = 0.0) -> int:
    """The index (from 0, display order) of the frame `read_video_frame(path, seconds)` reads: what a
    hint placed on it records as its `frame`. Counted at the video's frame rate from its first
    frame's time (exact for a constant frame rate). VideoError as `read_video_frame`."""
    path = Path(path)
    with _open_input(path) as container:
        stream = _video_stream(container)
        shown = _frame_at(path, container, seconds)
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None and stream.time_base else 0.0
        return max(0, round(((shown.time or 0.0) - start) * _frame_rate(stream)))


def _frame_at(path: Path, container: av.container.InputContainer, seconds: float) -> av.VideoFrame:
    """The first frame shown at or after `seconds`, decoded from the keyframe before it."""
    stream = _video_stream(container)
    if seconds > 0 and stream.time_base:
        try:
            container.seek(int(seconds / stream.time_base), stream=stream, backward=True)
        except av.FFmpegError:
            pass  # a container without an index: decoded from the start up to that time
    shown = None
    try:
        for frame in container.decode(stream):
            shown = frame
            if frame.time is None or frame.time >= seconds - 1e-6:
                break
    except av.FFmpegError as exc:
        raise VideoError(path, f"cannot decode the video ({_reason(exc)})") from None
    if shown is None:
        raise VideoError(path, "no frame could be decoded")
    return shown


class TemporalChroma:
    """Chroma carried from frame to frame along the optical flow, blended with each frame's prediction.

    `step(small_l, predicted)` takes the frame's luma on the state grid and its predicted chroma
    (a, b) and returns the chroma to use (on the state grid) and whether a new shot started.
    """

    def __init__(self, *, blend: float = BLEND, cut_distance: float = CUT_DISTANCE) -> None:
        self.blend = blend
        self.cut_distance = cut_distance
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame: the next one starts a new shot."""
        self._luma: np.ndarray | None = None
        self._histogram: np.ndarray | None = None
        self._chroma: np.ndarray | None = None

    def step(self, small_l: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray, bool]:
        """Chroma (h, w, 2) float32 for this frame on the grid of `small_l` (h, w) uint8, and cut or not."""
        h, w = small_l.shape
        own = cv2.resize(predicted, (w, h), interpolation=cv2.INTER_LINEAR)
        histogram = np.bincount(small_l.ravel() >> 3, minlength=CUT_BINS) / small_l.size
        smooth = cv2.GaussianBlur(small_l, (0, 0), SMOOTH_SIGMA)
        cut = (self._luma is None or self._luma.shape != small_l.shape
               or 0.5 * np.abs(histogram - self._histogram).sum() > self.cut_distance)
        if cut:
            chroma = own
        else:
            chroma = own + self._carried(smooth, own)
        self._luma, self._histogram, self._chroma = smooth, histogram, chroma
        return chroma, bool(cut)

    def _carried(self, smooth: np.ndarray, own: np.ndarray) -> np.ndarray:
        """weight * (warped previous chroma - own prediction), the weight from the warp's luma error
        (`smooth`: this frame's smoothed luma; the previous frame's is kept)."""
        h, w = smooth.shape
        flow = self._flow.calc(smooth, self._luma, None)  # smooth(x) ~ previous(x + flow(x))
        flow[:, :, 0] += np.arange(w, dtype=np.float32)[None, :]
        flow[:, :, 1] += np.arange(h, dtype=np.float32)[:, None]
        warped = cv2.remap(self._chroma, flow, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped_l = cv2.remap(self._luma, flow, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        error = cv2.absdiff(smooth, warped_l).astype(np.float32)
        weight = np.clip(1.0 - (error - WARP_NOISE) * (1.0 / WARP_ERROR_LIMIT), 0.0, 1.0) * self.blend
        inside = (flow[:, :, 0] >= 0) & (flow[:, :, 0] <= w - 1) & (flow[:, :, 1] >= 0) & (flow[:, :, 1] <= h - 1)
        weight[~inside] = 0.0
        return weight[:, :, None] * (warped - own)


class VideoColorizer:
    """Colourises the frames of one clip in order (RGB uint8 in, RGB uint8 out, same size); one per clip.

    With `temporal=False` every frame is colourised exactly as `colorize_array` colourises a photo.
    `controls` (hints, reference, saturation) act on each frame's chroma after the temporal step, as
    `ChromaEditor.render_full` applies them to a photo: the reference's statistics and the saturation
    per frame, the hints without a frame at their relative positions on every frame; with `tracks`
    (`track_hints` of this clip and the controls' hints), the hints placed on a frame go where they
    were tracked to on each frame (frames counted from the first `colorize` call). None or neutral
    controls change nothing. `last_cut` says whether the last frame started a new shot.
    """

    def __init__(
        self, model: ColorModel, *, guided: bool = True, inference_size: int | None = None, fit: str = "squash",
        device: torch.device | str | None = None, temporal: bool = True, controls: ColourControls | None = None,
        tracks: HintTracks | None = None,
    ) -> None:
        self.model = model
        self.guided = guided
        self.size = check_inference_size(model, inference_size)
        self.fit = fit
        self.device = torch.device(device) if device is not None else None
        self.temporal = TemporalChroma() if temporal else None
        self.controls = controls if controls is not None and not controls.neutral else None
        self.tracks = tracks if self.controls is not None else None
        self.last_cut = True
        self.index = 0  # of the next frame

    def colorize(self, rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """The colourised frame (into `out` when given, which may be `rgb` itself)."""
        gray = luma(rgb)
        chroma = predict_chroma(gray, self.model, size=self.size, fit=self.fit, device=self.device)
        scale = GUIDE_SCALE
        if self.temporal is not None:
            grid = (STATE_SCALE * chroma.shape[1], STATE_SCALE * chroma.shape[0])
            small = cv2.resize(gray, grid, interpolation=cv2.INTER_AREA)
            chroma, self.last_cut = self.temporal.step(small, chroma)
            scale = GUIDE_SCALE // STATE_SCALE  # the guided filter's grid stays the photo pipeline's
        controls = self.controls
        if self.tracks is not None:
            controls = replace(controls, hints=self.tracks.hints_at(self.index))
        self.index += 1
        if controls is not None and not controls.neutral:
            editor = ChromaEditor(rgb, chroma, guided=self.guided, guide_scale=scale)
            return editor.render_full(controls, out)
        l8 = lab_l8(rgb)
        ab8 = chroma_u8(guided_chroma(l8, chroma, scale=scale) if self.guided else chroma)
        return recombine(l8, ab8, out if out is not None else np.empty((*rgb.shape[:2], 3), np.uint8))


def chroma_flicker(frames: Iterable[np.ndarray], motions: Sequence[np.ndarray | None] | None = None,
                   still_l: int = STILL_L) -> float:
    """Mean |change of (a, b)| between consecutive RGB frames where the 8-bit Lab L changes by at most
    `still_l`: where the picture does not change, its colour should not either.

    `motions[i]` (optional, for i >= 1) is the 2x3 affine map from pixels of frame i to pixels of
    frame i-1 (e.g. a known camera move): frame i-1 is first warped along it, so a moving picture is
    compared with itself; None skips that pair (e.g. across a cut). Pixels warped in from outside
    frame i-1 are left out. Give the motion whenever the camera moves: at fixed pixels a pan changes
    the chroma wherever a colour gradient slides under an even luminance, which is no flicker (the
    true colours of a panned photo score 1.7 there, about half of a per-frame colouring's).
    """
    total, count, previous = 0.0, 0, None
    for i, frame in enumerate(frames):
        lab = cv2.cvtColor(frame, cv2.COLOR_RGB2Lab).astype(np.float32)
        motion = motions[i] if motions is not None and i > 0 else np.eye(2, 3, dtype=np.float32)
        if previous is not None and motion is not None:
            h, w = lab.shape[:2]
            moved = cv2.warpAffine(previous, np.asarray(motion, np.float32), (w, h),
                                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=(-1000.0, 0.0, 0.0))
            still = np.abs(lab[:, :, 0] - moved[:, :, 0]) <= still_l
            change = np.hypot(lab[:, :, 1][still] - moved[:, :, 1][still], lab[:, :, 2][still] - moved[:, :, 2][still])
            total, count = total + float(change.sum()), count + int(still.sum())
        previous = lab
    return total / count if count else 0.0


def _colour_matrix(frame: av.VideoFrame) -> int:
    """swscale matrix of a decoded frame: its tag, else BT.709 for HD and BT.601 below, as players do."""
    return SWS_MATRIX.get(int(frame.colorspace), SWS_BT709 if frame.height >= HD_HEIGHT else SWS_BT601)


def _encoder(in_stream: av.video.stream.VideoStream, target: Path) -> str:
    name = ENCODERS.get(in_stream.codec_context.name)
    if name is None or name not in av.codecs_available:
        name = FALLBACK_ENCODERS.get(target.suffix.lower(), DEFAULT_ENCODER)
    return name


def _pix_fmt(encoder: str, source: str) -> str:
    """The input's pixel format if the encoder takes it and it has colour, else a common one."""
    formats = [f.name for f in av.codec.Codec(encoder, "w").video_formats or ()]
    if source in formats and not source.startswith("gray"):
        return source
    return DEFAULT_PIX_FMT if DEFAULT_PIX_FMT in formats or not formats else formats[0]


class _Writer:
    """The output container: a video stream shaped like the input's and copies of its audio streams."""

    def __init__(self, path: Path, target: Path, source: av.container.InputContainer,
                 first: av.VideoFrame, matrix: int) -> None:
        in_stream = _video_stream(source)
        self.container = av.open(str(path), "w")
        try:
            encoder = _encoder(in_stream, target)
            fps = _frame_rate(in_stream)
            stream = self.container.add_stream(encoder, rate=fps)
            stream.width, stream.height = first.width, first.height
            stream.pix_fmt = _pix_fmt(encoder, in_stream.codec_context.pix_fmt or "")
            stream.time_base = in_stream.time_base
            stream.codec_context.time_base = in_stream.time_base
            stream.codec_context.colorspace = matrix
            stream.codec_context.color_range = int(first.color_range) or AVCOL_RANGE_MPEG
            if in_stream.sample_aspect_ratio:
                stream.codec_context.sample_aspect_ratio = in_stream.sample_aspect_ratio
            if encoder in BITRATE_ENCODERS:
                stream.codec_context.bit_rate = int(BITS_PER_PIXEL * first.width * first.height * fps)
            stream.codec_context.options = dict(ENCODER_OPTIONS.get(encoder, {}))
            if first.rotation:
                stream.set_display_rotation(first.rotation)
            self.video = stream
            self.audio = {s.index: self.container.add_stream_from_template(s) for s in source.streams.audio}
        except BaseException:
            self.container.close()
            raise
        self.matrix = matrix
        self.range = stream.codec_context.color_range
        self.time_base = in_stream.time_base  # of the input timestamps, and of the encoder
        self.fps = fps
        self._frame_ticks = max(1, round(1 / (fps * self.time_base)))  # a frame's duration in those units
        self._next_pts = 0  # for frames without a timestamp: the previous one's plus its duration

    def write_frame(self, rgb: np.ndarray, like: av.VideoFrame) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame = frame.reformat(format=self.video.pix_fmt, src_colorspace=self.matrix, dst_colorspace=self.matrix,
                               dst_color_range=self.range)
        if like.pts is not None:
            self._next_pts = like.pts
        frame.pts, frame.time_base, frame.duration = self._next_pts, self.time_base, like.duration
        self._next_pts += like.duration or self._frame_ticks
        self.container.mux(self.video.encode(frame))

    def copy_packet(self, packet: av.Packet) -> None:
        packet.stream = self.audio[packet.stream.index]
        self.container.mux(packet)

    def finish(self) -> None:
        self.container.mux(self.video.encode(None))
        self.container.close()


def _temp_path(target: Path) -> Path:
    """A new hidden file beside `target`, with its extension (so the container format follows)."""
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    return Path(name)


class _Frames:
    """Decoded video frames and raw audio packets of an input, in file order, as an iterator.

    Nothing decodable is lost to damage: a packet that fails to decode is skipped (its time kept in
    `damaged_s`, the first reason in `first_error`), data that cannot be read ends the stream there with
    the decoder flushed, and frames are decoded without frame threads (those drop the frames in flight
    when a packet fails: a half-truncated MP4 lost two more frames than it had to).
    """

    def __init__(self, container: av.container.InputContainer) -> None:
        self.container = container
        self.video = _video_stream(container)
        self.video.thread_type = "SLICE"
        self.damaged_s: list[float] = []
        self.first_error = ""

    def _damaged(self, packet: av.Packet | None, exc: av.FFmpegError) -> None:
        time_base = packet.time_base if packet is not None and packet.pts is not None else None
        when = float(packet.pts * time_base) if time_base else (self.damaged_s[-1] if self.damaged_s else 0.0)
        self.damaged_s.append(when)
        self.first_error = self.first_error or _reason(exc)

    def __iter__(self) -> Iterator[av.Packet | av.VideoFrame]:
        packets = self.container.demux(self.video, *self.container.streams.audio)
        flushed = False  # the demuxer ends each stream with an empty packet, which flushes its decoder
        while True:
            try:
                packet = next(packets, None)
            except av.FFmpegError as exc:  # unreadable from here on: what was read is still decoded
                self._damaged(None, exc)
                packet = None
            if packet is None:
                break
            if packet.stream.type != "video":
                if packet.dts is not None:
                    yield packet
                continue
            flushed = flushed or packet.size == 0
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                self._damaged(packet, exc)
                continue
            yield from frames
        if not flushed:
            with contextlib.suppress(av.FFmpegError, EOFError):
                yield from self.video.codec_context.decode(None)


def _missing_frames(container: av.container.InputContainer, decoded: int, played_s: float,
                    damaged_s: Sequence[float]) -> MissingFrames | None:
    """What the container declares and the decoded frames (`decoded`, from the first's start to the
    last's end `played_s` seconds) lack; None when nothing is missing."""
    stream = _video_stream(container)
    fps = _frame_rate(stream)
    duration_s = _duration_s(container, stream)
    short_tail = duration_s - played_s > max(MISSING_TAIL_S if not stream.frames else 0.0, 1.5 / fps)
    declared = stream.frames or (round(duration_s * fps) if short_tail else decoded)
    if declared <= decoded and not short_tail and not damaged_s:
        return None
    return MissingFrames(max(declared, decoded), decoded, played_s if short_tail else None, tuple(damaged_s))


@contextlib.contextmanager
def _termination_cleans_up() -> Iterator[None]:
    """While a video is written: SIGTERM or SIGHUP (where they would kill the process outright) exits
    through Python instead (SystemExit 128 + signal), so the temporary file is removed. Main thread only;
    a handler someone else installed is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    def exit_cleanly(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {}
    for number in TERMINATION_SIGNALS:
        if signal.getsignal(number) == signal.SIG_DFL:
            previous[number] = signal.signal(number, exit_cleanly)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def colorize_video(
    source: str | Path,
    target: str | Path,
    model: ColorModel,
    *,
    guided: bool = True,
    inference_size: int | None = None,
    fit: str = "squash",
    device: torch.device | str | None = None,
    temporal: bool = True,
    controls: ColourControls | None = None,
    callbacks: Sequence[object] = (),
    stop: StopFlag | None = None,
    preview_interval_s: float = PREVIEW_INTERVAL_S,
) -> VideoResult:
    """Colourise the video `source` into `target` (same container type), frame by frame.

    `controls` (hints, reference, saturation) apply to every frame after the temporal step (see
    `VideoColorizer`). Callbacks get `on_progress(ProgressEvent)` after every frame,
    `on_frame(FrameEvent)` (the current frame's gray input and colour output) at most every
    `preview_interval_s` and for the last frame, and `on_end(EndEvent)` ("finished", "stopped" or
    "failed"). `stop` is checked (and a pause waited out) before each frame; a stop, an error or
    Ctrl-C removes the temporary file and leaves `target` untouched.
    Frames the container declares that cannot be decoded (a truncated or damaged file) do not stop
    the job: every frame that decodes is written and the result's `missing` names the others.
    Hints placed on a frame are first tracked through the gray frames (`track_hints`, one more pass
    over the video; a stop there stops the job) and VideoError names one placed past the last frame.
    Raises VideoError for an unreadable, broken or unsupported video, OSError when writing fails.
    SIGTERM and SIGHUP during the run exit through SystemExit, so no temporary file is left behind.
    """
    source, target = Path(source), Path(target)
    start = time.perf_counter()
    try:
        with _termination_cleans_up():
            anchored = controls is not None and controls.hints.anchored
            tracks = _track_hints(source, controls.hints, stop) if anchored else None
            if anchored and tracks is None:  # stopped while tracking
                result = VideoResult("stopped", None, 0, 0, time.perf_counter() - start)
            else:
                colorizer = VideoColorizer(model, guided=guided, inference_size=inference_size, fit=fit,
                                           device=device, temporal=temporal, controls=controls, tracks=tracks)
                result = _colorize_video(source, target, colorizer, callbacks, stop, preview_interval_s)
    except Exception as exc:
        emit(callbacks, "on_end", EndEvent("failed", {"error": str(exc)}))
        raise
    emit(callbacks, "on_end", EndEvent(result.status, {"frames": result.frames, "cuts": result.cuts,
                                                       "path": str(result.path) if result.path else None}))
    return result


def _track_hints(source: Path, hints: Hints, stop: StopFlag | None) -> HintTracks | None:
    """The hints placed on frames of `source`, tracked through its gray frames (a pass of their own);
    None when `stop` asked to stop. VideoError names a hint placed past the last frame."""
    stopped = False

    def gray_frames() -> Iterator[np.ndarray]:
        nonlocal stopped
        with _open_input(source) as container:
            for item in _Frames(container):
                if isinstance(item, av.VideoFrame):
                    if should_stop(stop):
                        stopped = True
                        return
                    yield item.to_ndarray(format="gray")

    try:
        tracks = track_hints(gray_frames(), hints)
    except ValueError as exc:
        raise VideoError(source, f"cannot track the hints ({exc})") from None
    if stopped:
        return None
    last = int(anchored_vertices(hints)[1].max())
    if last >= tracks.frames:
        raise VideoError(source, f"a hint is placed on frame {last}, but the video's frames are 0 to "
                                 f"{tracks.frames - 1}")
    return tracks


def _colorize_video(source: Path, target: Path, colorizer: VideoColorizer, callbacks: Sequence[object],
                    stop: StopFlag | None, preview_interval_s: float) -> VideoResult:
    start = time.perf_counter()
    with _open_input(source) as container:
        total = _info(container).frames
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = _temp_path(target)
        writer: _Writer | None = None
        pending: list[av.Packet] = []
        done = cuts = 0
        last_preview = -float("inf")
        frames = _Frames(container)
        first_s: float | None = None  # when the first decoded frame starts and the last one ends
        end_s: float | None = None
        try:
            for item in frames:
                if isinstance(item, av.Packet):
                    if writer is None:
                        pending.append(item)
                    else:
                        writer.copy_packet(item)
                    continue
                if should_stop(stop):
                    return VideoResult("stopped", None, done, cuts, time.perf_counter() - start)
                matrix = writer.matrix if writer is not None else _colour_matrix(item)
                rgb = item.to_ndarray(format="rgb24", src_colorspace=matrix, dst_colorspace=matrix,
                                      src_color_range=int(item.color_range) or AVCOL_RANGE_MPEG)
                if writer is None:
                    writer = _open_writer(temp, target, container, item, matrix, source)
                    for packet in pending:
                        writer.copy_packet(packet)
                    pending.clear()
                colour = colorizer.colorize(rgb)
                writer.write_frame(colour, item)
                done += 1
                cuts += colorizer.last_cut
                if item.time is not None:
                    first_s = item.time if first_s is None else first_s
                    end_s = item.time + float(item.duration * item.time_base if item.duration else 1 / writer.fps)
                total = max(total, done)
                emit(callbacks, "on_progress", ProgressEvent(done, total, f"frame {done} of {total}"))
                now = time.perf_counter()
                if now - last_preview >= preview_interval_s or done == total:
                    last_preview = now
                    fps = done / max(now - start, 1e-9)
                    emit(callbacks, "on_frame", FrameEvent(done - 1, total, luma(rgb), colour, fps,
                                                           (total - done) / fps, colorizer.last_cut))
            if writer is None:
                reason = f" ({frames.first_error})" if frames.first_error else ""
                raise VideoError(source, f"no frame could be decoded{reason}")
            if done != total:  # the container's frame count was an estimate, or frames are missing
                emit(callbacks, "on_progress", ProgressEvent(done, done, f"frame {done} of {done}"))
            played_s = end_s - first_s if end_s is not None and first_s is not None else 0.0
            missing = _missing_frames(container, done, played_s, frames.damaged_s)
            writer.finish()
            writer = None
            with open(temp, "rb+") as written:  # on disk before it takes the target's name
                os.fsync(written.fileno())
            os.chmod(temp, DEFAULT_FILE_MODE & ~UMASK)  # a plain new file's permissions, not mkstemp's 0600
            os.replace(temp, target)
            fsync_dir(target.parent)
            return VideoResult("finished", target, done, cuts, time.perf_counter() - start, missing)
        except av.FFmpegError as exc:
            raise VideoError(source, f"cannot write {target.name} ({_reason(exc)})") from None
        finally:
            if writer is not None:
                writer.container.close()
            temp.unlink(missing_ok=True)


def _open_writer(temp: Path, target: Path, container: av.container.InputContainer, first: av.VideoFrame,
                 matrix: int, source: Path) -> _Writer:
    try:
        return _Writer(temp, target, container, first, matrix)
    except (av.FFmpegError, ValueError) as exc:
        raise VideoError(source, f"cannot write it as {target.suffix} ({_reason(exc)})") from None


__all__ = [
    "FrameEvent", "MissingFrames", "TemporalChroma", "VIDEO_SUFFIXES", "VideoColorizer", "VideoError", "VideoInfo", "VideoResult",
    "chroma_flicker", "colorize_video", "frame_index_at", "is_video", "list_videos", "probe_video",
    "read_video_frame",
]
