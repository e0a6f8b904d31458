"""Colourise photos at full resolution: the network predicts chroma, the photo keeps its own luminance.

The steps (prediction, guided upsampling, recombination) are in `colorcore.inference.chroma`; this
module puts them together for an array (`colorize_array`) and a file (`colorize_file`), with the colour
controls of `colorcore.inference.colour_control` when given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from colorcore.core.tensors import gray_input_from_luma
from colorcore.inference.chroma import as_image, chroma_u8, eval_mode, guided_chroma, lab_l8, model_device, predict_chroma, recombine
from colorcore.data.imageio import luma
from colorcore.models.base import network_size
from colorcore.models.base import ColorModel

if TYPE_CHECKING:
    from colorcore.inference.colour_control import ColourControls

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def colorize_array(
    image: np.ndarray,
    model: ColorModel,
    *,
    guided: bool = True,
    inference_size: int | None = None,
    device: torch.device | str | None = None,
    fit: str = "squash",
    out: np.ndarray | None = None,
    controls: ColourControls | None = None,
) -> np.ndarray:
    """Colourise a gray (H, W), RGB or RGBA uint8 image at its own resolution.

    Returns RGB (H, W, 3) for gray and RGB input, RGBA (H, W, 4) with the alpha kept for RGBA input.
    A colour input is colourised from its gray version; its own L channel is kept. `device` is where
    the network input goes (default: the model's device); `inference_size` is the network's input
    size (default: its trained size, see `check_inference_size`); `fit` is "squash" or "letterbox"
    for the aspect ratio. `out` may be a preallocated result array, including `image` itself (RGB
    or RGBA input) to colourise in place. `controls` (hints, reference colours, saturation; see
    `colorcore.inference.colour_control`) change the predicted colour; None or neutral controls change nothing.
    """
    image = as_image(image)
    if controls is not None and not controls.neutral:
        from colorcore.inference.colour_control import ChromaEditor

        editor = ChromaEditor.from_model(image, model, inference_size=inference_size, fit=fit, device=device,
                                         guided=guided)
        return editor.render_full(controls, out=out)
    size = network_size(model, inference_size)
    dev = torch.device(device) if device is not None else None
    chroma = predict_chroma(luma(image), model, size=size, fit=fit, device=dev)
    l8 = lab_l8(image)
    ab8 = chroma_u8(guided_chroma(l8, chroma) if guided else chroma)
    shape = (*image.shape[:2], 4 if image.ndim == 3 and image.shape[2] == 4 else 3)
    if out is None:
        out = np.empty(shape, np.uint8)
    elif out.shape != shape or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 {shape}, got {out.dtype} {out.shape}")
    if shape[2] == 4 and not np.shares_memory(out, image):
        out[:, :, 3] = image[:, :, 3]
    return recombine(l8, ab8, out)


def colorize_file(
    path: str | Path,
    model: ColorModel,
    out_path: str | Path,
    *,
    guided: bool = True,
    inference_size: int | None = None,
    quality: int = 95,
    fit: str = "squash",
    controls: ColourControls | None = None,
) -> Path:
    """Colourise one photo file into `out_path` (written atomically) and return that path.

    The photo is read with its EXIF orientation applied and its alpha kept (composited on white for
    formats without alpha); JPEG-to-JPEG keeps the EXIF metadata (orientation reset to upright).
    `controls` as in `colorize_array`. Raises `colorcore.data.imageio.ImageReadError` for an unreadable
    photo, ValueError for an unknown output extension, OSError when the output cannot be written.
    """
    from colorcore.data import imageio

    path, out_path = Path(path), Path(out_path)
    image = imageio.read_image(path, keep_alpha=True)
    result = colorize_array(
        image, model, guided=guided, inference_size=inference_size, fit=fit, out=image, controls=controls,
    )
    jpeg_to_jpeg = path.suffix.lower() in JPEG_SUFFIXES and out_path.suffix.lower() in JPEG_SUFFIXES
    exif = imageio.read_exif(path) if jpeg_to_jpeg else None
    imageio.write_image(out_path, result, quality=quality, exif=exif)
    return out_path


def reference_upsample(image: np.ndarray, model: ColorModel, *, size: int | None = None) -> np.ndarray:
    """Plain reference: the network's RGB prediction resized to full size (no luminance kept).

    Only for benchmarks and comparisons; it loses every detail finer than the network's size.
    """
    gray_u8 = luma(image)
    size = network_size(model, size)
    gray = gray_input_from_luma(cv2.resize(gray_u8, (size, size), interpolation=cv2.INTER_AREA))
    with eval_mode(model):
        rgb = model.predict(gray.to(model_device(model)))["rgb"]
    rgb_u8 = ((rgb[0].float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return cv2.resize(rgb_u8, (gray_u8.shape[1], gray_u8.shape[0]), interpolation=cv2.INTER_LINEAR)
