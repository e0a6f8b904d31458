"""Robust photo reading and atomic writing.

`read_image` turns any picture Pillow can open (JPEG, PNG, WebP, BMP, TIFF, GIF, and the other
formats in `IMAGE_EXTENSIONS`; any mode: 1-bit, gray, palette with or without transparency, RGBA/LA,
16-bit, 32-bit integer and float, CMYK, Lab, YCbCr; EXIF-rotated; the first frame of an animated or
multi-page file; 1x1 or 1xN; non-ASCII path) into a writable RGB uint8 array, or raises
`ImageReadError` with the path and a human reason. OpenCV decodes the common cases (fast, with libjpeg's DCT
scaling when only a small image is needed); Pillow reads every header first (size limit before
any decode, EXIF orientation) and decodes what OpenCV handles badly (palette, CMYK, odd modes).
"""

from __future__ import annotations

import errno
import io
import os
import struct
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from colorcore.core.atomic import atomic_write_bytes

PathLike = Union[str, "os.PathLike[str]"]

DEFAULT_MAX_PIXELS = 180_000_000
# the picture formats Pillow reads (its registered extensions, less its identify-only stubs BUFR, GRIB,
# HDF5 and MPEG, and the vector formats EPS/WMF that need outside programs); anything listed here that
# a photo folder holds is read or named as unreadable, never silently left out
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".mpo", ".png", ".apng", ".webp", ".bmp", ".dib", ".tif", ".tiff",
    ".gif", ".avif", ".avifs", ".jp2", ".j2k", ".j2c", ".jpc", ".jpf", ".jpx", ".ppm", ".pgm", ".pbm", ".pnm",
    ".pfm", ".tga", ".icb", ".vda", ".vst", ".pcx", ".dcx", ".ico", ".cur", ".icns", ".qoi", ".sgi", ".rgb",
    ".rgba", ".bw", ".dds", ".psd", ".im", ".msp", ".pcd", ".pxr", ".ras", ".xbm", ".xpm", ".fit", ".fits",
    ".fli", ".flc", ".ftc", ".ftu", ".gbr", ".iim", ".blp",
})
# formats whose extra frames are frames of an animation or pages (a PSD's are layers of the first)
MULTI_FRAME_FORMATS = frozenset({"GIF", "PNG", "WEBP", "AVIF", "FLI", "TIFF", "DCX", "MPO"})
WRITE_FORMATS = {
    ".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP",
    ".tif": "TIFF", ".tiff": "TIFF",
}
WRITE_EXTENSION = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tiff"}
EXIF_ORIENTATION_TAG = 0x0112
EXIF_HEADER = b"Exif\x00\x00"
JPEG_EOI = b"\xff\xd9"
# BT.601 luma as OpenCV's RGB2GRAY computes it on uint8: (R, G, B) weights in 15-bit fixed point, rounded
# half up; `luma` and `colorcore.core.tensors.gray_input` both follow it, so the network sees the same gray
# photo when it trains and when it colourises
LUMA_FIXED_WEIGHTS = (9798, 19235, 3735)
LUMA_SHIFT = 15
# JPEGs are written with full-resolution chroma (4:4:4): the usual 4:2:0 halves the chroma in both
# directions, which moves a colourised photo's luminance near colour edges (measured by
# benchmarks/bench_jpeg_sampling.py)
JPEG_CV2_SAMPLING = (cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444)
JPEG_PILLOW_SUBSAMPLING = 0  # Pillow's code for 4:4:4
# DCT scaling factors libjpeg can apply while decoding, largest first, with OpenCV's flags
JPEG_REDUCED_FLAGS = (
    (8, cv2.IMREAD_REDUCED_COLOR_8),
    (4, cv2.IMREAD_REDUCED_COLOR_4),
    (2, cv2.IMREAD_REDUCED_COLOR_2),
)
# formats OpenCV decodes well; Pillow modes it does not (these always go through Pillow)
OPENCV_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF"})
PILLOW_ONLY_MODES = frozenset({"P", "PA", "1", "CMYK", "YCbCr", "LAB", "HSV"})
# Pillow modes whose pixels numpy takes as they are (others are converted to RGB or RGBA first)
NUMPY_MODES = frozenset({"L", "RGB", "RGBA", "I", "F"})
WHITE = 255
UINT16_TO_UINT8 = 257.0
# dtypes and channel counts cv2.resize(INTER_AREA) handles directly; others go through float64
CV_RESIZE_DTYPES = frozenset(np.dtype(t) for t in (np.uint8, np.uint16, np.int16, np.float32, np.float64))
CV_RESIZE_MAX_CHANNELS = 4


class ImageReadError(Exception):
    """A photo could not be read; `path` names the file and `reason` says why, for humans."""

    def __init__(self, path: PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def list_images(root: PathLike) -> list[Path]:
    """Candidate photos under `root` (recursive, sorted), by image extension, case-insensitive.

    Anything whose name has an image extension is a candidate, folders included: a folder named
    `x.jpg` is listed so that reading it reports the problem instead of hiding it. Hidden names
    (".x.jpg": files being written, macOS "._x.jpg" resource forks) are left out.
    """
    base = Path(root)
    if base.is_file():
        return [base] if base.suffix.lower() in IMAGE_EXTENSIONS else []
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(base):
        for name in (*dirnames, *filenames):
            if Path(name).suffix.lower() in IMAGE_EXTENSIONS and not name.startswith("."):
                found.append(Path(dirpath) / name)
    return sorted(found)


def read_image(
    path: PathLike,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_size: int | None = None,
    keep_alpha: bool = False,
) -> np.ndarray:
    """Read a photo as RGB uint8 (H, W, 3), EXIF orientation applied.

    With `keep_alpha` and a file that has an alpha channel the result is RGBA (H, W, 4); otherwise
    transparency is composited on white. `max_pixels` refuses larger images from their header,
    before decoding. `min_size` allows a reduced JPEG decode: the shorter side of the result stays
    at least `min_size` (or the original size, if that is smaller). Raises `ImageReadError`.
    """
    data = _read_bytes(path)
    header = _open_header(path, data)
    width, height = header.size
    if width <= 0 or height <= 0:
        raise ImageReadError(path, f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        raise ImageReadError(
            path,
            f"too large: {width}x{height} ({width * height / 1e6:.0f} MP, "
            f"limit {max_pixels / 1e6:.0f} MP)",
        )
    orientation = _orientation(header)
    pixels = None
    if _opencv_can_decode(header, data):
        pixels = _decode_opencv(data, header, min_size)
    if pixels is None:
        pixels = _decode_pillow(path, header, min_size)
        if header.format == "TIFF" and EXIF_ORIENTATION_TAG not in header.tag_v2:
            orientation = 1  # Pillow turned it while loading (and dropped the tag), as it does for most TIFFs
    if pixels.dtype.kind == "f":
        pixels = _unit_range(pixels)
    try:
        rgb = _apply_orientation(_to_rgb_u8(pixels, keep_alpha), orientation)
    except ValueError as exc:
        raise ImageReadError(path, str(exc)) from None
    if rgb.flags.c_contiguous and rgb.flags.writeable:
        return rgb
    return np.array(rgb, order="C")  # Pillow's arrays are read-only: callers may colourise in place


def count_frames(path: PathLike) -> int:
    """How many frames (of an animation) or pages a picture file holds; `read_image` reads the first.

    1 for single pictures and for formats whose extra frames are not pictures of their own (a PSD's
    layers). Raises `ImageReadError` for unreadable files.
    """
    header = _open_header(path, _read_bytes(path))
    if header.format not in MULTI_FRAME_FORMATS:
        return 1
    try:
        return max(1, int(getattr(header, "n_frames", 1)))
    except Exception:  # a damaged later frame: the first one is what is read
        return 1


def read_exif(path: PathLike) -> bytes | None:
    """The raw EXIF block of a photo ("Exif\\0\\0" + TIFF data), orientation reset to 1, or None.

    The orientation is reset because `read_image` already applied it: an output written with this
    block must not be rotated a second time by viewers. Raises `ImageReadError` for unreadable files.
    """
    data = _read_bytes(path)
    header = _open_header(path, data)
    raw = header.info.get("exif")
    if not raw:
        return None
    block = raw if raw.startswith(EXIF_HEADER) else EXIF_HEADER + raw
    return _reset_orientation(block)


def write_image(
    path: PathLike, array: np.ndarray, *, quality: int = 95, exif: bytes | None = None
) -> None:
    """Write an RGB, RGBA or gray uint8 array atomically; the format comes from the extension.

    Formats: png, jpg/jpeg, webp, bmp, tif/tiff (uint16 also for png and tiff). Alpha is composited
    on white for formats without it (JPEG, BMP). JPEGs keep full-resolution chroma (4:4:4). `exif` (e.g. from `read_exif`) is embedded in
    JPEG, WebP, PNG and TIFF files. Non-ASCII paths are fine. Raises ValueError for an unknown
    extension or an unsupported array; OSError when the file cannot be written.
    """
    target = Path(path)
    fmt = WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"{target}: unknown image extension {target.suffix!r} "
            f"(use one of {', '.join(sorted(WRITE_FORMATS))})"
        )
    image = _checked_output_array(target, array, fmt)
    if exif is not None and fmt != "BMP":
        payload = _encode_pillow(image, fmt, quality, exif)
    else:
        payload = _encode_opencv(target, image, fmt, quality)
    atomic_write_bytes(target, payload)


def to_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop an image to a square, then resize it to `size` x `size` with INTER_AREA.

    Centre crop (not padding) keeps every output pixel a real photo pixel, so the model never
    learns to colour padding; the cost is losing the borders of the longer side. Works for
    (H, W) and (H, W, C) arrays of any numeric dtype; the dtype is kept.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    image = np.asarray(rgb)
    if image.ndim not in (2, 3) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"expected a non-empty (H, W) or (H, W, C) image, got shape {image.shape}")
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image[top:top + side, left:left + side]
    if side == size:
        return crop.copy()
    native = crop.dtype in CV_RESIZE_DTYPES
    work = crop if native else crop.astype(np.float64)
    if work.ndim == 3 and work.shape[2] > CV_RESIZE_MAX_CHANNELS:
        resized = np.stack([_resize_area(work[..., c], size) for c in range(work.shape[2])], -1)
    else:
        resized = _resize_area(work, size)
    if resized.ndim == 2 and image.ndim == 3:
        resized = resized[..., None]
    if not native:  # OpenCV averages in float32: keep wide integers within the input's range
        resized = np.clip(resized, work.min(), work.max())
    return _cast_like(resized, image.dtype)


# ---------------------------------------------------------------------------------------------
# reading helpers

def fit_long_side(shape: tuple[int, ...], long_side: float) -> tuple[int, int]:
    """(h, w) of an image of `shape` scaled down so its long side is at most `long_side` (never up)."""
    h, w = shape[:2]
    scale = min(long_side / max(h, w), 1.0)
    return max(1, round(h * scale)), max(1, round(w * scale))


def shrink_to_long_side(image: np.ndarray, max_side: float) -> np.ndarray:
    """`image` with its long side reduced to at most `max_side` (INTER_AREA); smaller images unchanged."""
    hw = fit_long_side(image.shape, max_side)
    if hw == image.shape[:2]:
        return image
    return cv2.resize(image, hw[::-1], interpolation=cv2.INTER_AREA)


def _resize_area(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=cv2.INTER_AREA)


def _cast_like(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if values.dtype == dtype:
        return values
    if dtype == np.bool_:
        return values >= 0.5
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)


def _read_bytes(path: PathLike) -> bytes:
    file = Path(path)
    if file.is_dir():
        raise ImageReadError(path, "is a folder, not an image file")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        reason = "broken symbolic link (its target does not exist)" if file.is_symlink() else "file not found"
        raise ImageReadError(path, reason) from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImageReadError(path, "symbolic link loop (the link leads back to itself)") from None
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    if not data:
        raise ImageReadError(path, "empty file (0 bytes)")
    return data


def _open_header(path: PathLike, data: bytes) -> Image.Image:
    """Pillow image object with only the header parsed (no pixel data decoded yet)."""
    try:
        return _open_header_unchecked(data)
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image (unrecognised file format)") from None
    except _DamagedHeader as exc:
        raise ImageReadError(path, f"damaged or unsupported {exc.fmt} header ({exc.reason})") from None
    except Image.DecompressionBombError as exc:  # a plugin that checks Pillow's own limit while opening
        raise ImageReadError(path, f"too large ({exc})") from None
    except Exception as exc:  # Pillow raises many types for damaged headers
        raise ImageReadError(path, f"damaged image header ({exc})") from None


class _DamagedHeader(Exception):
    """A format recognised the file by its first bytes, then could not read its header."""

    def __init__(self, fmt: str, reason: str) -> None:
        super().__init__(f"{fmt}: {reason}")
        self.fmt, self.reason = fmt, reason


def _open_header_unchecked(data: bytes) -> Image.Image:
    """`Image.open` without Pillow's global decompression-bomb limit: `max_pixels` decides instead
    (it may be higher), and no process-wide warning filter has to be changed (not thread-safe).
    `_DamagedHeader` when a format recognised the file but none could open it."""
    Image.init()
    prefix = data[:16]
    damaged: _DamagedHeader | None = None
    for fmt in tuple(Image.ID):
        factory, accept = Image.OPEN[fmt]
        verdict = accept(prefix) if accept is not None else True
        if isinstance(verdict, str):  # recognised, and said why it cannot be read
            damaged = damaged or _DamagedHeader(fmt, verdict)
            continue
        if not verdict:
            continue
        try:
            return factory(io.BytesIO(data), "")
        except (SyntaxError, IndexError, TypeError, struct.error) as exc:
            if accept is not None and damaged is None:
                damaged = _DamagedHeader(fmt, str(exc) or type(exc).__name__)
            continue
    if damaged is not None:
        raise damaged
    raise UnidentifiedImageError("cannot identify image file")


def _orientation(header: Image.Image) -> int:
    # PNG keeps EXIF in an eXIf chunk that Pillow only finds by decoding, unless it precedes IDAT
    if header.format == "PNG" and "exif" not in header.info:
        return 1
    try:
        value = header.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except Exception:  # broken metadata never makes a photo unreadable
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _opencv_can_decode(header: Image.Image, data: bytes) -> bool:
    if header.format not in OPENCV_FORMATS or header.mode in PILLOW_ONLY_MODES:
        return False
    if "transparency" in header.info:  # a tRNS colour key: Pillow turns it into alpha
        return False
    if header.mode == "LA":  # OpenCV drops a gray TIFF's alpha
        return False
    if header.format == "TIFF" and _orientation(header) != 1:  # OpenCV turns a TIFF itself, whatever the flags,
        return False  # and Pillow some TIFFs: only Pillow says which
    if header.format == "JPEG":
        # a JPEG without its end marker is truncated: Pillow's strict decoder reports that
        return data.rstrip(b"\x00\r\n ").endswith(JPEG_EOI)
    return True


def _jpeg_reduction(header: Image.Image, min_size: int | None) -> int:
    if header.format != "JPEG" or not min_size:
        return 1
    shorter = min(header.size)
    for factor, _ in JPEG_REDUCED_FLAGS:
        if shorter // factor >= min_size:
            return factor
    return 1


def _decode_opencv(data: bytes, header: Image.Image, min_size: int | None) -> np.ndarray | None:
    """Decoded pixels as RGB/RGBA/gray (uint8, uint16 or float), or None when OpenCV fails."""
    buffer = np.frombuffer(data, np.uint8)
    factor = _jpeg_reduction(header, min_size)
    if header.format == "JPEG":
        flags = dict(JPEG_REDUCED_FLAGS).get(factor, cv2.IMREAD_COLOR)
        decoded = cv2.imdecode(buffer, flags | cv2.IMREAD_IGNORE_ORIENTATION)
    else:
        decoded = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    if decoded is None or decoded.size == 0:
        return None
    if decoded.ndim == 3 and decoded.shape[2] == 1:
        decoded = decoded[..., 0]
    if decoded.ndim == 3:
        conversion = cv2.COLOR_BGR2RGB if decoded.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        decoded = cv2.cvtColor(decoded, conversion)
    return decoded


def _decode_pillow(path: PathLike, header: Image.Image, min_size: int | None) -> np.ndarray:
    """The first frame's pixels as gray, RGB or RGBA: uint8, uint16 (16-bit) or float."""
    image = header
    try:
        if image.format == "JPEG" and min_size:
            image.draft("RGB", (min_size, min_size))
        image.load()
        mode = image.mode
        if "transparency" in image.info or mode in ("PA", "LA", "La", "RGBa"):
            image = image.convert("RGBA")
        elif mode not in NUMPY_MODES and not mode.startswith("I;16"):  # 1, P, CMYK, LAB, YCbCr, HSV...
            image = image.convert("RGB")
        pixels = np.asarray(image)
        return _wide_gray(pixels) if mode == "I" or mode.startswith("I;16") else pixels
    except Exception as exc:
        raise ImageReadError(path, _decode_failure_reason(header.format, exc)) from None


def _wide_gray(pixels: np.ndarray) -> np.ndarray:
    """Pillow's 16- or 32-bit integer gray as uint16, or uint8 when every value fits 8 bits (an "I"
    picture converted from 8-bit gray)."""
    top = int(pixels.max(initial=0))
    if top <= WHITE and pixels.dtype != np.uint16 and int(pixels.min(initial=0)) >= 0:
        return pixels.astype(np.uint8)
    return np.clip(pixels, 0, np.iinfo(np.uint16).max).astype(np.uint16)


def _unit_range(pixels: np.ndarray) -> np.ndarray:
    """Float pixels in 0..1: kept when it is already there, else divided by the 8- or 16-bit maximum
    it fits, else stretched from its own minimum to maximum (non-finite values count as 0)."""
    values = np.nan_to_num(pixels.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    if low >= 0.0:
        for top in (1.0, float(WHITE), float(np.iinfo(np.uint16).max)):
            if high <= top:
                return values / top
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _decode_failure_reason(fmt: str | None, exc: Exception) -> str:
    name = fmt or "image"
    text = str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory while decoding"
    if "truncated" in text.lower():
        return f"truncated {name}"
    return f"corrupt {name} data ({text})" if text else f"corrupt {name} data"


def _to_rgb_u8(pixels: np.ndarray, keep_alpha: bool) -> np.ndarray:
    """Any decoded array (gray/RGB/RGBA, uint8/uint16/float/int) -> RGB or RGBA uint8 (ValueError for
    another layout)."""
    values = as_uint8(pixels)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if not (values.ndim == 2 or (values.ndim == 3 and values.shape[2] in (2, 3, 4))):
        raise ValueError(f"unsupported pixel layout {values.shape}")
    if min(values.shape[:2]) < 1:
        raise ValueError(f"no pixels ({values.shape[1]}x{values.shape[0]})")
    if values.ndim == 2:
        values = np.repeat(values[..., None], 3, axis=2)
    elif values.shape[2] == 2:  # gray + alpha
        values = np.concatenate([np.repeat(values[..., :1], 3, axis=2), values[..., 1:]], axis=2)
    if values.shape[2] == 4:
        return values if keep_alpha else composite_on_white(values)
    return values[..., :3]


def luma(image: np.ndarray) -> np.ndarray:
    """The gray photo: BT.601 luma (uint8, shape without the channels) of a gray (H, W), RGB or RGBA
    (..., H, W, 3 or 4) uint8 image, alpha ignored; ``(LUMA_FIXED_WEIGHTS . RGB + 2**14) >> 15`` (OpenCV's
    RGB2GRAY). The one luma of the engine: what the network is trained on and what it colourises."""
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {image.dtype}")
    if image.ndim == 2:
        return image
    if image.ndim < 3 or image.shape[-1] not in (3, 4):
        raise ValueError(f"expected a gray (H, W), RGB or RGBA (..., H, W, 3 or 4) image, got {image.shape}")
    rows = np.ascontiguousarray(image.reshape(-1, image.shape[-2], image.shape[-1]))  # a batch: one tall image
    code = cv2.COLOR_RGBA2GRAY if image.shape[-1] == 4 else cv2.COLOR_RGB2GRAY
    return cv2.cvtColor(rows, code).reshape(image.shape[:-1])


def as_uint8(image: np.ndarray) -> np.ndarray:
    """Any numeric image as uint8: 16-bit scaled by 1/257 (not clipped), floats taken as 0..1 (NaN
    as 0), bool as {0, 255}, other integers clipped to 0..255."""
    values = np.asarray(image)
    if values.dtype == np.uint8:
        return values
    if values.dtype == np.bool_:
        return values.astype(np.uint8) * WHITE
    if values.dtype == np.uint16:
        return np.rint(values / UINT16_TO_UINT8).astype(np.uint8)
    if values.dtype.kind == "f":
        clean = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        return np.rint(np.clip(clean, 0.0, 1.0) * WHITE).astype(np.uint8)
    return np.clip(values, 0, WHITE).astype(np.uint8)


def composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 (H, W, 4) -> RGB uint8 (H, W, 3) over a white background."""
    alpha = rgba[..., 3:4].astype(np.uint32)
    colour = rgba[..., :3].astype(np.uint32)
    mixed = (colour * alpha + WHITE * (WHITE - alpha) + WHITE // 2) // WHITE
    return mixed.astype(np.uint8)


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1..8) so the array shows the photo upright."""
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(image, k=-1)
    if orientation == 7:
        return image.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(image, k=1)
    return image


def _reset_orientation(block: bytes) -> bytes | None:
    """EXIF block with the IFD0 orientation set to 1; None when the block cannot be parsed."""
    tiff = bytearray(block[len(EXIF_HEADER):])
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    try:
        (ifd0,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd0)
        for index in range(count):
            entry = ifd0 + 2 + 12 * index
            tag, kind, _ = struct.unpack_from(order + "HHI", tiff, entry)
            if tag == EXIF_ORIENTATION_TAG and kind == 3:  # SHORT
                struct.pack_into(order + "H", tiff, entry + 8, 1)
    except struct.error:
        return None
    return EXIF_HEADER + bytes(tiff)


# ---------------------------------------------------------------------------------------------
# writing helpers


def _checked_output_array(target: Path, array: np.ndarray, fmt: str) -> np.ndarray:
    image = np.asarray(array)
    allowed = (np.uint8, np.uint16) if fmt in ("PNG", "TIFF") else (np.uint8,)
    if image.dtype not in [np.dtype(t) for t in allowed]:
        raise ValueError(f"{target}: cannot write {image.dtype} pixels as {fmt}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ValueError(f"{target}: expected (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.ndim == 3 and image.shape[2] == 4 and fmt in ("JPEG", "BMP"):
        image = composite_on_white(image)
    return np.ascontiguousarray(image)


def _encode_opencv(target: Path, image: np.ndarray, fmt: str, quality: int) -> bytes:
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR if image.shape[2] == 3 else cv2.COLOR_RGBA2BGRA)
    params: list[int] = []
    if fmt == "JPEG":
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality), *JPEG_CV2_SAMPLING]
    elif fmt == "WEBP":
        params = [cv2.IMWRITE_WEBP_QUALITY, int(quality)]
    ok, encoded = cv2.imencode(WRITE_EXTENSION[fmt], image, params)
    if not ok:
        raise ValueError(f"{target}: OpenCV could not encode the image as {fmt}")
    return encoded.tobytes()


def _encode_pillow(image: np.ndarray, fmt: str, quality: int, exif: bytes) -> bytes:
    picture = Image.fromarray(image)
    options: dict[str, object] = {"exif": exif}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = int(quality)
    if fmt == "JPEG":
        options["subsampling"] = JPEG_PILLOW_SUBSAMPLING
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()
