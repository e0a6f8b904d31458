"""Make docs/screenshots/hints_before_after.jpg: a sample photo in gray, the starter model's colours,
and the same with the two hints of docs/examples/honey_bee.hints.json (marked with white outlines).

Run: ``python docs/make_hints_figure.py`` (the same result as ``colorcore colorize
resources/samples/honey_bee.jpg --hints docs/examples/honey_bee.hints.json``, composed side by side).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from colorcore.models.checkpoint import load_model
from colorcore.data.imageio import luma
from colorcore.inference.colour_control import ChromaEditor, ColourControls
from colorcore.inference.hints import Hints, load_hints
from colorcore.data.imageio import read_image, write_image
from colorcore.models.settings import starter_model_path

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "resources" / "samples" / "honey_bee.jpg"
HINTS = ROOT / "docs" / "examples" / "honey_bee.hints.json"
OUT = ROOT / "docs" / "screenshots" / "hints_before_after.jpg"
LABELS = ("gray photo", "starter model", "with two hints")
LABEL_HEIGHT = 28


def mark(image: np.ndarray, hints: Hints) -> np.ndarray:
    """White outlines where the hints were painted."""
    h, w = image.shape[:2]
    marked = image.copy()
    for point in hints.points:
        centre = (round(point.x * w), round(point.y * h))
        cv2.circle(marked, centre, max(3, round(point.width * w / 2)) + 2, (255, 255, 255), 1, cv2.LINE_AA)
    for stroke in hints.strokes:  # a white-and-black outline with the stroke's own colour inside
        line = np.array([[round(x * w), round(y * h)] for x, y in stroke.points], np.int32)
        width = max(1, round(stroke.width * w))
        colour = tuple(int(stroke.color[i:i + 2], 16) for i in (1, 3, 5))
        for thickness, rgb in ((width + 4, (255, 255, 255)), (width + 1, (0, 0, 0)), (max(1, width - 1), colour)):
            cv2.polylines(marked, [line], False, rgb, thickness, cv2.LINE_AA)
    return marked


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    band = np.full((LABEL_HEIGHT, image.shape[1], 3), 255, np.uint8)
    cv2.putText(band, text, (8, LABEL_HEIGHT - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([band, image])


def main() -> None:
    photo = read_image(PHOTO)
    gray = luma(photo)
    hints = load_hints(HINTS)
    editor = ChromaEditor.from_model(gray, load_model(starter_model_path(), "cpu"))
    panels = [np.dstack([gray] * 3), editor.render_full(), mark(editor.render_full(ColourControls(hints=hints)), hints)]
    gap = np.full((photo.shape[0] + LABEL_HEIGHT, 6, 3), 255, np.uint8)
    row = [labelled(panel, label) for panel, label in zip(panels, LABELS)]
    write_image(OUT, np.hstack([row[0], gap, row[1], gap, row[2]]), quality=90)
    print(OUT)


if __name__ == "__main__":
    main()
