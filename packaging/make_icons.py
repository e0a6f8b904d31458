"""Draw the ColorCore Studio app icon and write it in every size and format the installers need.

The icon is a small landscape (sky, sun, hills) split by a before/after slider: gray on the left,
colour on the right. Run from anywhere: `python packaging/make_icons.py` writes resources/icons/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ICON_NAME = "colorcore-studio"
MASTER_SIZE = 1024
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
CORNER_RADIUS = 0.2  # of the icon's side
MARGIN = 0.06  # transparent border, of the icon's side
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "resources" / "icons"


def _vertical_gradient(size: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> np.ndarray:
    """(size, size, 3) uint8 gradient from `top` to `bottom`."""
    t = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    colours = (1 - t) * np.asarray(top, np.float32) + t * np.asarray(bottom, np.float32)
    return np.broadcast_to(colours, (size, size, 3)).round().astype(np.uint8)


def draw_master(size: int = MASTER_SIZE) -> Image.Image:
    """The icon at `size` x `size` pixels, RGBA."""
    scene = Image.fromarray(_vertical_gradient(size, (40, 110, 205), (160, 210, 245)), "RGB")
    draw = ImageDraw.Draw(scene)
    s = size
    draw.ellipse((0.58 * s, 0.16 * s, 0.80 * s, 0.38 * s), fill=(255, 205, 60))
    draw.polygon([(0, 0.70 * s), (0.30 * s, 0.42 * s), (0.55 * s, 0.66 * s), (0, 0.66 * s)], fill=(90, 120, 150))
    draw.polygon([(0.35 * s, 0.72 * s), (0.72 * s, 0.40 * s), (s, 0.66 * s), (s, 0.72 * s)], fill=(70, 100, 135))
    draw.ellipse((-0.3 * s, 0.62 * s, 0.8 * s, 1.3 * s), fill=(70, 160, 70))
    draw.ellipse((0.3 * s, 0.68 * s, 1.4 * s, 1.35 * s), fill=(40, 125, 55))
    draw.ellipse((0.68 * s, 0.80 * s, 0.80 * s, 0.92 * s), fill=(220, 60, 60))

    pixels = np.asarray(scene).copy()
    split = s // 2
    left = pixels[:, :split].astype(np.float32) @ np.asarray([0.299, 0.587, 0.114], np.float32)
    pixels[:, :split] = np.clip(left.round(), 0, 255).astype(np.uint8)[..., None]
    scene = Image.fromarray(pixels, "RGB")

    draw = ImageDraw.Draw(scene)
    line = max(2, s // 64)
    draw.rectangle((split - line // 2, 0, split + line // 2, s), fill=(255, 255, 255))
    knob = s * 0.07
    draw.ellipse((split - knob, s / 2 - knob, split + knob, s / 2 + knob), fill=(255, 255, 255),
                 outline=(30, 30, 30), width=max(1, s // 128))

    inner = round(s * (1 - 2 * MARGIN))
    scene = scene.resize((inner, inner), Image.Resampling.LANCZOS)
    mask = Image.new("L", (inner, inner), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, inner - 1, inner - 1), radius=CORNER_RADIUS * inner, fill=255)
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    shadow = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    offset = round(s * MARGIN)
    shadow.paste((0, 0, 0, 110), (offset, offset + s // 100), mask)
    icon = Image.alpha_composite(icon, shadow.filter(ImageFilter.GaussianBlur(s / 120)))
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    layer.paste(scene.convert("RGBA"), (offset, offset), mask)
    return Image.alpha_composite(icon, layer)


def write_icons(out_dir: Path) -> list[Path]:
    """Write PNGs of every size, a Windows .ico and a macOS .icns into `out_dir`; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    master = draw_master()
    written = []
    for size in PNG_SIZES:
        path = out_dir / f"{ICON_NAME}-{size}.png"
        master.resize((size, size), Image.Resampling.LANCZOS).save(path, optimize=True)
        written.append(path)
    ico = out_dir / f"{ICON_NAME}.ico"
    master.save(ico, sizes=[(n, n) for n in ICO_SIZES])
    icns = out_dir / f"{ICON_NAME}.icns"
    master.save(icns)
    written += [ico, icns]
    return written


def main() -> int:
    """Command line: `python packaging/make_icons.py [--out DIR]`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args()
    for path in write_icons(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
