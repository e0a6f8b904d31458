"""Colour hints: points and strokes a user places on a photo, and their JSON file format.

A hints file (UTF-8 JSON; every field optional)::

    {"points": [{"x": 0.25, "y": 0.5, "color": "#2050c0", "width": 0.01},
                {"x": 0.6, "y": 0.4, "color": "#c03020", "frame": 120}],
     "strokes": [{"points": [[0.1, 0.2], [0.3, 0.25]], "color": "#30a040", "width": 0.02}],
     "reference": {"paths": ["/photos/holiday.jpg"], "mode": "semantic"},
     "saturation": 1.3}

`x` is relative to the photo's width and `y` to its height (0..1, the photo's left/top edge to its
right/bottom edge); `width` (optional, 0 < width <= 1) is the brush diameter relative to the photo's
width (default `DEFAULT_POINT_WIDTH` for points, `DEFAULT_STROKE_WIDTH` for strokes); `color` is an
sRGB hex colour `#rrggbb`. Only the colour's hue and chroma are used: the photo keeps its own
luminance. Later hints paint over earlier ones where they overlap (points first, then strokes, each
in file order). Unknown fields are refused (a misspelt field would otherwise be silently ignored).
`frame` (optional, on a point or a stroke; videos only) is the video frame the hint was placed on,
counted from 0 in display order: the hint colours what it was put on there and follows that thing to
the other frames (`colorcore.inference.hint_tracking`); a hint without it stays at the same place on
every frame (right for a still camera). Photos ignore it. It is refused when negative.
`reference` (the reference photos whose colours were used, `mode` "semantic" or "global") and
`saturation` (0..2) are the rest of the edits a result was made with (`SavedEdits`, `load_edits`,
`save_edits`), so that the desktop app brings them back with the hints; a file without them means no
reference and saturation 1. `hints_path_for(output)` is where the hints of a colourised photo are kept:
beside it.

Torch-free and cv2-free: the GUI and the CLI read and write hints without loading the engine.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from colorcore.core.atomic import atomic_write_text
from colorcore.inference.settings import SATURATION_MAX

HINTS_SUFFIX = ".hints.json"
DEFAULT_POINT_WIDTH = 0.01
DEFAULT_STROKE_WIDTH = 0.02
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
TOP_FIELDS = ("points", "strokes")
EDIT_FIELDS = ("reference", "saturation")  # the rest of the edits, beside the hints (`SavedEdits`)
REFERENCE_FIELDS = ("paths", "mode")
SAVED_REFERENCE_MODES = ("semantic", "global")  # as colorcore.inference.reference.REFERENCE_MODES (this module is torch-free)
POINT_FIELDS = ("x", "y", "color", "width", "frame")
STROKE_FIELDS = ("points", "color", "width", "frame")
OPTIONAL_FIELDS = ("width", "frame")


class HintsError(ValueError):
    """A hints file (or dictionary) that cannot be used; the message names the source and the problem."""

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


def _hex(value: str) -> str:
    """A checked `#rrggbb` colour in lower case (ValueError otherwise)."""
    if not isinstance(value, str) or not HEX_COLOUR.fullmatch(value):
        raise ValueError(f"color {value!r} is not an sRGB hex colour like \"#2050c0\"")
    return value.lower()


def hex_to_rgb(color: str) -> tuple[int, int, int]:
    """(r, g, b) 0..255 of a `#rrggbb` colour."""
    value = _hex(color)
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def rgb_to_hex(rgb: tuple[int, int, int]) -> str:
    """`#rrggbb` of an (r, g, b) 0..255 colour (e.g. picked with an eyedropper)."""
    if len(rgb) != 3 or not all(0 <= int(v) <= 255 for v in rgb):
        raise ValueError(f"expected three values 0..255, got {rgb!r}")
    return "#" + "".join(f"{int(v):02x}" for v in rgb)


def _unit(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} {value} is outside 0..1 (coordinates are relative to the photo)")
    return float(value)


def _frame(value: Any) -> int | None:
    """A checked video frame index (None: no frame, the hint is fixed to the picture)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"frame must be a whole number (the video frame, counted from 0), got {value!r}")
    if value < 0:
        raise ValueError(f"frame must be 0 or more (the video frame, counted from 0), got {value}")
    return value


def _width(value: Any, name: str) -> float:
    width = _unit(value, name)
    if width <= 0.0:
        raise ValueError(f"{name} must be above 0, got {value}")
    return width


@dataclass(frozen=True)
class PointHint:
    """A colour placed at one spot: (x, y) relative to the photo, `width` the brush diameter; `frame`:
    the video frame it was placed on (None: the same spot on every frame)."""

    x: float
    y: float
    color: str
    width: float = DEFAULT_POINT_WIDTH
    frame: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _unit(self.x, "x"))
        object.__setattr__(self, "y", _unit(self.y, "y"))
        object.__setattr__(self, "color", _hex(self.color))
        object.__setattr__(self, "width", _width(self.width, "width"))
        object.__setattr__(self, "frame", _frame(self.frame))


@dataclass(frozen=True)
class StrokeHint:
    """A colour painted along a polyline of relative (x, y) points with brush diameter `width`;
    `frame`: the video frame it was painted on (None: the same place on every frame)."""

    points: tuple[tuple[float, float], ...]
    color: str
    width: float = DEFAULT_STROKE_WIDTH
    frame: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.points, (str, bytes)) or not hasattr(self.points, "__len__") or not len(self.points):
            raise ValueError("points must be a non-empty list of [x, y] pairs")
        points = []
        for j, pair in enumerate(self.points):
            if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
                raise ValueError(f"points[{j}] must be an [x, y] pair, got {pair!r}")
            points.append((_unit(pair[0], f"points[{j}] x"), _unit(pair[1], f"points[{j}] y")))
        object.__setattr__(self, "points", tuple(points))
        object.__setattr__(self, "color", _hex(self.color))
        object.__setattr__(self, "width", _width(self.width, "width"))
        object.__setattr__(self, "frame", _frame(self.frame))


@dataclass(frozen=True)
class Hints:
    """All hints of one photo, in painting order (points, then strokes). Immutable and hashable, so
    a GUI can keep them on an undo stack and an editor can cache its solution per value."""

    points: tuple[PointHint, ...] = field(default_factory=tuple)
    strokes: tuple[StrokeHint, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "strokes", tuple(self.strokes))

    def __bool__(self) -> bool:
        return bool(self.points or self.strokes)

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        """The JSON-ready dictionary of the file format (`frame` only where set)."""
        def framed(item: dict[str, Any], frame: int | None) -> dict[str, Any]:
            return item if frame is None else {**item, "frame": frame}

        return {
            "points": [framed({"x": p.x, "y": p.y, "color": p.color, "width": p.width}, p.frame) for p in self.points],
            "strokes": [framed({"points": [list(xy) for xy in s.points], "color": s.color, "width": s.width}, s.frame)
                        for s in self.strokes],
        }

    @property
    def anchored(self) -> bool:
        """True when some hint is fixed to a video frame (`frame` set): it follows its object."""
        return any(hint.frame is not None for hint in (*self.points, *self.strokes))

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "hints") -> Hints:
        """Hints from the file format's dictionary; HintsError naming `source`, the item and the problem."""
        if not isinstance(data, dict):
            raise HintsError(source, f"expected a JSON object with \"points\" and/or \"strokes\", got {type(data).__name__}")
        _refuse_unknown(data, TOP_FIELDS, "", source)
        points = [_item(PointHint, item, POINT_FIELDS, f"points[{i}]", source)
                  for i, item in enumerate(_list(data, "points", source))]
        strokes = [_item(StrokeHint, item, STROKE_FIELDS, f"strokes[{i}]", source)
                   for i, item in enumerate(_list(data, "strokes", source))]
        return cls(tuple(points), tuple(strokes))


@dataclass(frozen=True)
class SavedEdits:
    """What a result was made with, as its hints file keeps it: the hints, the reference photos' paths
    (none: no reference) and how they were matched (`reference_mode`, "semantic" or "global"), and
    the saturation."""

    hints: Hints = field(default_factory=Hints)
    reference_paths: tuple[str, ...] = ()
    reference_mode: str = "semantic"
    saturation: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "reference_paths", tuple(str(p) for p in self.reference_paths))
        if self.reference_mode not in SAVED_REFERENCE_MODES:
            raise ValueError(f"reference mode {self.reference_mode!r} is not one of {', '.join(SAVED_REFERENCE_MODES)}")
        saturation = self.saturation
        if isinstance(saturation, bool) or not isinstance(saturation, (int, float)) or not math.isfinite(saturation) \
                or not 0.0 <= saturation <= SATURATION_MAX:
            raise ValueError(f"saturation must be a number 0..{SATURATION_MAX:g}, got {saturation!r}")
        object.__setattr__(self, "saturation", float(saturation))

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dictionary of the file format (the reference and saturation only when set)."""
        data: dict[str, Any] = self.hints.to_dict()
        if self.reference_paths:
            data["reference"] = {"paths": list(self.reference_paths), "mode": self.reference_mode}
        if self.saturation != 1.0:
            data["saturation"] = self.saturation
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "hints") -> SavedEdits:
        """Edits from the file format's dictionary; HintsError naming `source` and the problem."""
        if not isinstance(data, dict):
            raise HintsError(source, f"expected a JSON object with \"points\" and/or \"strokes\", got {type(data).__name__}")
        _refuse_unknown(data, TOP_FIELDS + EDIT_FIELDS, "", source)
        hints = Hints.from_dict({key: data[key] for key in TOP_FIELDS if key in data}, source)
        paths: tuple[str, ...] = ()
        mode = "semantic"
        reference = data.get("reference")
        if reference is not None:
            if not isinstance(reference, dict):
                raise HintsError(source, f"reference: expected an object with \"paths\" and \"mode\", got {reference!r}")
            _refuse_unknown(reference, REFERENCE_FIELDS, "reference", source)
            raw = reference.get("paths")
            if not isinstance(raw, list) or not raw or not all(isinstance(p, str) and p for p in raw):
                raise HintsError(source, f"reference: \"paths\" must be a non-empty list of file paths, got {raw!r}")
            paths, mode = tuple(raw), reference.get("mode", "semantic")
        try:
            return cls(hints, paths, mode, data.get("saturation", 1.0))
        except ValueError as exc:
            raise HintsError(source, str(exc)) from None


def _refuse_unknown(data: dict[str, Any], allowed: tuple[str, ...], where: str, source: str | Path) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise HintsError(source, f"{where + ': ' if where else ''}unknown field {unknown[0]!r} "
                                 f"(allowed: {', '.join(allowed)})")


def _list(data: dict[str, Any], key: str, source: str | Path) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise HintsError(source, f"\"{key}\" must be a list, got {type(value).__name__}")
    return value


def _item(kind: type, item: Any, allowed: tuple[str, ...], where: str, source: str | Path) -> Any:
    if not isinstance(item, dict):
        raise HintsError(source, f"{where}: expected an object, got {item!r}")
    _refuse_unknown(item, allowed, where, source)
    required = [name for name in allowed if name not in OPTIONAL_FIELDS]
    missing = [name for name in required if name not in item]
    if missing:
        raise HintsError(source, f"{where}: missing \"{missing[0]}\"")
    try:
        return kind(**item)
    except ValueError as exc:
        raise HintsError(source, f"{where}: {exc}") from None


def load_hints(path: str | Path) -> Hints:
    """Read a hints file's hints (its reference and saturation checked, not returned: `load_edits`).
    HintsError (a ValueError) names the file and the problem: unreadable, not JSON (with line and
    column), a colour that is not hex, coordinates outside 0..1..."""
    return load_edits(path).hints


def load_edits(path: str | Path) -> SavedEdits:
    """Read a hints file with the reference and saturation saved beside the hints (`SavedEdits`);
    errors as `load_hints`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HintsError(path, "no such hints file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HintsError(path, f"cannot read the hints file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HintsError(path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:  # json nests by recursion: a file of 100,000 "[" exhausts the stack
        raise HintsError(path, "not a hints file (its JSON is nested too deeply)") from None
    return SavedEdits.from_dict(data, path)


def save_hints(path: str | Path, hints: Hints) -> Path:
    """Write `hints` to `path` atomically (a crash never leaves half a file) and return the path."""
    return save_edits(path, SavedEdits(hints))


def save_edits(path: str | Path, edits: SavedEdits) -> Path:
    """Write `edits` (hints, reference, saturation) to `path` atomically and return the path."""
    return atomic_write_text(path, json.dumps(edits.to_dict(), indent=2) + "\n")


def hints_path_for(output: str | Path) -> Path:
    """Where the hints of the colourised photo `output` are kept: beside it, NAME.hints.json."""
    output = Path(output)
    return output.with_name(output.stem + HINTS_SUFFIX)


__all__ = [
    "DEFAULT_POINT_WIDTH", "DEFAULT_STROKE_WIDTH", "HINTS_SUFFIX", "Hints", "HintsError", "PointHint",
    "SavedEdits", "StrokeHint", "hex_to_rgb", "hints_path_for", "load_edits", "load_hints", "rgb_to_hex",
    "save_edits", "save_hints",
]
