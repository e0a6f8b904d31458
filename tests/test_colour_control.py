"""Colour hints, reference photo and saturation: engine (`colorcore.inference.colour_control`, `colorcore.inference.hints`)
and `colorcore colorize --hints/--reference/--saturation` end to end on real files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from colorcore.inference import chroma as ch

from colorcore.inference import colorize as cz
from colorcore.cli import main
from colorcore.inference.colour_control import (
    ChromaEditor, ColourControls, HintPropagation, ReferenceColours, hint_ab, hint_chroma, paint_hints, saturate,
)
from colorcore.inference.hints import (
    Hints, HintsError, PointHint, StrokeHint, hex_to_rgb, hints_path_for, load_hints, rgb_to_hex, save_hints,
)
from colorcore.data.imageio import luma, read_image, write_image
from tests.helpers import make_photo_array

MODEL_AB = (25.0, 35.0)  # the stand-in model's colour: orange
BLUE, GREEN = "#2050c0", "#30a040"
# a hint keeps the photo's gray value: on a region lighter or darker than the picked colour its Lab hue
# moves a little (the picked blue on the light half of `two_regions`: 10 degrees)
HUE_TOLERANCE_DEG = 12.0
EDGE_MARGIN = 12  # px beside the luminance edge left out of the region measures
ISSUE_EXAMPLE = {"points": [{"x": 0.25, "y": 0.5, "color": "#2050c0"}],
                 "strokes": [{"points": [[0.1, 0.2], [0.3, 0.25]], "color": "#30a040", "width": 0.02}]}


def two_regions(h: int = 360, w: int = 540, seed: int = 0) -> np.ndarray:
    """A gray photo: a darker left half and a lighter right half (a luminance edge), mild noise."""
    rng = np.random.default_rng(seed)
    gray = np.where(np.arange(w)[None, :] < w // 2, 90.0, 165.0) + rng.normal(0, 3, (h, w))
    return np.clip(gray, 0, 255).astype(np.uint8)


def constant_chroma(ab: tuple[float, float] = MODEL_AB) -> np.ndarray:
    return np.broadcast_to(np.float32(ab), (64, 64, 2)).copy()


def ab_of(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2Lab)[:, :, 1:].astype(np.float32) - 128


def hue(ab: np.ndarray) -> float:
    """Hue angle (degrees) of the mean chroma of an (..., 2) array."""
    mean = ab.reshape(-1, 2).mean(axis=0)
    return float(np.degrees(np.arctan2(mean[1], mean[0])))


def hue_gap(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def halves(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w = image.shape[1]
    return image[:, : w // 2 - EDGE_MARGIN], image[:, w // 2 + EDGE_MARGIN:]


@pytest.fixture(scope="module")
def model():
    """A real tiny multipath model (untrained, seeded), in eval mode."""
    from colorcore.models.base import ModelConfig, build_model

    torch.manual_seed(0)
    return build_model(ModelConfig(width=8, resnet_weights="none")).eval()


@pytest.mark.parametrize("side", ["left", "right"])
def test_a_point_hint_colours_its_region_and_the_other_keeps_the_models_colour(side: str) -> None:
    photo = two_regions()
    x = 0.2 if side == "left" else 0.8
    editor = ChromaEditor(photo, constant_chroma())
    result = ab_of(editor.render_full(ColourControls(hints=Hints((PointHint(x, 0.5, BLUE),)))))
    hinted, other = halves(result) if side == "left" else halves(result)[::-1]
    assert hue_gap(hue(hinted), hue(np.float32(hint_ab(BLUE)))) < HUE_TOLERANCE_DEG
    np.testing.assert_allclose(other.reshape(-1, 2).mean(axis=0), MODEL_AB, atol=1.0)
    assert np.abs(other - np.float32(MODEL_AB)).max() <= 3.0  # no colour crossed the edge anywhere


def test_strokes_colour_their_region_and_two_regions_take_two_hints() -> None:
    photo = two_regions()
    editor = ChromaEditor(photo, constant_chroma())
    hints = Hints(points=(PointHint(0.25, 0.3, BLUE),),
                  strokes=(StrokeHint(((0.6, 0.2), (0.9, 0.8)), GREEN, 0.03),))
    left, right = halves(ab_of(editor.render_full(ColourControls(hints=hints))))
    assert hue_gap(hue(left), hue(np.float32(hint_ab(BLUE)))) < HUE_TOLERANCE_DEG
    assert hue_gap(hue(right), hue(np.float32(hint_ab(GREEN)))) < HUE_TOLERANCE_DEG


def test_a_stroke_alone_colours_its_region_only() -> None:
    editor = ChromaEditor(two_regions(), constant_chroma())
    stroke = StrokeHint(((0.55, 0.1), (0.95, 0.9), (0.7, 0.5)), GREEN, 0.02)
    left, right = halves(ab_of(editor.render_full(ColourControls(hints=Hints(strokes=(stroke,))))))
    assert hue_gap(hue(right), hue(np.float32(hint_ab(GREEN)))) < HUE_TOLERANCE_DEG
    np.testing.assert_allclose(left.reshape(-1, 2).mean(axis=0), MODEL_AB, atol=1.0)


def test_later_hints_paint_over_earlier_ones_and_every_hint_covers_a_pixel() -> None:
    hints = Hints(points=(PointHint(0.5, 0.5, BLUE, width=0.5), PointHint(0.5, 0.5, GREEN, width=0.1)),
                  strokes=(StrokeHint(((0.0, 0.0),), "#ff0000", width=0.001),))
    mask, chroma = paint_hints(hints, (40, 60))
    np.testing.assert_allclose(chroma[20, 30], hint_chroma(GREEN), atol=1e-4)  # the later, smaller point on top
    np.testing.assert_allclose(chroma[20, 18], hint_chroma(BLUE), atol=1e-4)
    assert mask[0, 0] and mask.sum() > 1  # a tiny stroke still marks its pixel


@pytest.mark.parametrize("picked", ["#e01020", "#20c030", "#1030e0", "#f0d020", "#c020c0", "#8a5a2b"])
def test_a_hint_comes_out_as_picked_on_the_gray_photo_of_its_colour_and_keeps_its_gray(picked: str) -> None:
    """Saturated picks on the gray photo they came from: the result at the hint is the picked colour
    (Lab at the gray's L* could not reach them: a red at luma 76 is far out of gamut there), and the
    result's gray is the photo's own everywhere the hint coloured."""
    rgb = np.array(hex_to_rgb(picked), np.uint8)
    truth = np.broadcast_to(rgb, (120, 160, 3)).copy()
    gray = luma(truth)
    result = ChromaEditor(gray, constant_chroma()).render_full(ColourControls(hints=Hints((PointHint(0.5, 0.5, picked),))))
    lab = lambda colour: cv2.cvtColor(colour.reshape(1, -1, 3).astype(np.float32) / 255, cv2.COLOR_RGB2Lab)[0]  # noqa: E731
    miss = np.linalg.norm(lab(result[60, 80])[:, 1:] - lab(rgb)[:, 1:], axis=1)
    assert miss.max() <= 2.0, miss
    assert np.abs(luma(result).astype(int) - gray.astype(int))[40:80, 60:100].max() <= 1
    lab_way = cv2.cvtColor(cv2.merge([ch.lab_l8(gray)[:1, :1], np.uint8([[hint_ab(picked)[0] + 128]]),
                                      np.uint8([[hint_ab(picked)[1] + 128]])]), cv2.COLOR_Lab2RGB)
    if picked == "#e01020":  # the old way (Lab at the gray's L*) misses it
        assert np.linalg.norm(lab(lab_way[0, 0])[:, 1:] - lab(rgb)[:, 1:]) > 5


def test_confidence_falls_off_across_the_edge_and_with_distance() -> None:
    editor = ChromaEditor(two_regions(), constant_chroma())
    confidence, _ = editor.hint_solution(Hints((PointHint(0.2, 0.5, BLUE),)))
    w = confidence.shape[1]
    assert confidence[:, : w // 2 - 1].min() > 0.95  # the whole hinted region, bounded by the edge
    assert confidence[:, w // 2 + 1:].max() < 1e-3
    open_field = ChromaEditor(np.full((360, 540), 120, np.uint8), constant_chroma())
    confidence, _ = open_field.hint_solution(Hints((PointHint(0.02, 0.5, BLUE),)))
    assert confidence[:, 0].mean() > 0.9 > 0.5 > confidence[:, -1].mean()  # no edge: falls off with distance


def test_later_solves_reuse_the_grids_factorisation_and_match_a_fresh_solve(monkeypatch) -> None:
    """Hints added one at a time: from the second solve the walk reuses the whole grid's factorisation
    (no new one per hint) and gives what a fresh factorisation gives; many new hinted pixels at once
    (a long stroke) still solve afresh."""
    import scipy.sparse.linalg as sla

    gray = ch.lab_l8(read_image(Path(__file__).resolve().parents[1] / "resources" / "samples" / "coffee.jpg"))
    grid = cv2.resize(gray, (192, 128), interpolation=cv2.INTER_AREA)
    factorisations = []
    splu = sla.splu
    monkeypatch.setattr(sla, "splu", lambda *args, **kwargs: factorisations.append(1) or splu(*args, **kwargs))
    walk = HintPropagation(grid)
    rng = np.random.default_rng(0)
    points = tuple(PointHint(float(x), float(y), colour)
                   for (x, y), colour in zip(rng.uniform(0.05, 0.95, (8, 2)), [BLUE, GREEN, "#e01020", "#f0f020"] * 2))
    sets = [Hints(points[:k]) for k in range(1, 9)]
    sets.append(Hints(points, (StrokeHint(((0.1, 0.1), (0.9, 0.8)), "#c04080", width=0.03),)))
    walks = []
    for hints in sets:
        mask, ab = paint_hints(hints, walk.shape)
        before = len(factorisations)
        confidence, colour = walk.solve(mask, ab)
        walks.append(len(factorisations) - before)
        fresh_confidence, fresh_colour = HintPropagation(grid).solve(mask, ab)
        np.testing.assert_allclose(confidence, fresh_confidence, atol=1e-5)
        reached = fresh_confidence > 1e-3
        np.testing.assert_allclose(colour[reached], fresh_colour[reached], atol=1e-3)
    # the first solve's own, the whole grid's at the second, none for the next points, the stroke's afresh
    assert walks == [1, 1, 0, 0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (5, 1), (2, 2), (33, 3)])
def test_hints_on_tiny_photos_keep_the_gray_and_take_the_colour(shape: tuple[int, int]) -> None:
    gray = np.full(shape, 120, np.uint8)
    controls = ColourControls(hints=Hints((PointHint(0.5, 0.5, BLUE),)), saturation=1.5)
    rgb = ChromaEditor(gray, constant_chroma()).render_full(controls).astype(np.float32)
    assert np.abs(rgb @ np.float32((0.299, 0.587, 0.114)) - 120).max() <= 1.0
    assert (rgb[:, :, 2] - rgb[:, :, 0]).min() > 40  # blue


def textured_regions(h: int = 360, w: int = 540, seed: int = 0) -> np.ndarray:
    """A gray photo: a textured dark left half (random 3x3 px cells, spread 8 levels: fur, foliage) and a
    light, nearly plain right half."""
    rng = np.random.default_rng(seed)
    texture = np.kron(rng.normal(0, 8, (h // 3 + 1, w // 3 + 1)), np.ones((3, 3)))[:h, :w]
    gray = np.where(np.arange(w)[None, :] < w // 2, 90.0 + texture, 170.0 + rng.normal(0, 3, (h, w)))
    return np.clip(gray, 0, 255).astype(np.uint8)


def test_a_point_fills_its_textured_region_and_still_stops_at_its_edge() -> None:
    photo = textured_regions()
    hint = Hints((PointHint(0.1, 0.5, BLUE),))
    confidence, _ = ChromaEditor(photo, constant_chroma()).hint_solution(hint)
    w = confidence.shape[1]
    assert np.percentile(confidence[:, : w // 2 - 2], 10) > 0.6  # texture does not stop it (0.71)
    assert confidence[:, w // 2 + 2:].max() < 1e-3  # the edge does
    # the walk on the raw luminance (no texture filter) got stuck in it
    stuck, _ = ChromaEditor(photo, constant_chroma(), texture=False).hint_solution(hint)
    assert np.percentile(stuck[:, : w // 2 - 2], 10) < 0.4  # (0.29)


def speckle_share(rgb: np.ndarray) -> float:
    """Share of pixels whose Lab a or b is more than 6 from the median of its 5x5 neighbourhood."""
    lab_ab = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2Lab)[:, :, 1:]
    median = np.stack([cv2.medianBlur(np.ascontiguousarray(lab_ab[:, :, i]), 5) for i in range(2)], axis=2)
    return float((np.abs(lab_ab.astype(np.int16) - median).max(axis=2) > 6).mean())


def test_many_hints_on_a_real_photo_leave_no_colour_speckle() -> None:
    """100 points revealing the true colours of a bundled sample: the hints' field is brought to full
    size without amplifying the photo's texture into isolated colour dots (the model's guided-filter
    regularisation on the field tripled them), and it scores no worse for it."""
    truth = read_image(Path(__file__).resolve().parent.parent / "resources" / "samples" / "honey_bee.jpg")[:, :, :3]
    gray = luma(truth)
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, truth.shape[0], 100), rng.integers(0, truth.shape[1], 100)
    hints = Hints(tuple(PointHint((x + 0.5) / truth.shape[1], (y + 0.5) / truth.shape[0],
                                  rgb_to_hex(tuple(int(v) for v in truth[y, x]))) for y, x in zip(ys, xs)))
    gray_start = np.zeros((64, 64, 2), np.float32)
    result = ChromaEditor(gray, gray_start).render_full(ColourControls(hints))
    speckled = ChromaEditor(gray, gray_start, field_eps=1e-4).render_full(ColourControls(hints))
    assert speckle_share(result) < 0.5 * speckle_share(speckled)  # (0.6 % vs 1.8 % of the pixels)
    error = lambda image: float(np.mean((image.astype(np.float32) - truth) ** 2))  # noqa: E731
    assert error(result) <= error(speckled) * 1.02


def test_reference_moves_the_mean_ab_to_the_references() -> None:
    rng = np.random.default_rng(1)
    chroma = (rng.normal(0, 6, (64, 64, 2)) + np.float32(MODEL_AB)).astype(np.float32)
    reference_photo = np.empty((120, 160, 3), np.uint8)
    reference_photo[:] = (60, 120, 170)  # a blue-ish photo with a green patch
    reference_photo[40:80, 40:100] = (90, 160, 90)
    reference = ReferenceColours.from_image(reference_photo)
    photo = np.full((300, 400), 128, np.uint8)
    result = ChromaEditor(photo, chroma).render_full(ColourControls(reference=reference))
    np.testing.assert_allclose(ab_of(result).reshape(-1, 2).mean(axis=0), reference.mean, atol=1.5)
    assert np.abs(ch.lab_l8(result).astype(int) - ch.lab_l8(photo)).max() <= ch.L_TOLERANCE  # luminance kept


def test_saturation_zero_gives_the_gray_photo_and_one_changes_nothing(model) -> None:
    photo = make_photo_array(320, 240, seed=2)
    gray = luma(photo)
    editor = ChromaEditor.from_model(gray, model)
    gray_result = editor.render_full(ColourControls(saturation=0.0))
    assert np.array_equal(gray_result[:, :, 0], gray_result[:, :, 1])
    assert np.array_equal(gray_result[:, :, 1], gray_result[:, :, 2])
    assert np.abs(gray_result[:, :, 0].astype(int) - gray).max() <= 1
    as_is = cz.colorize_array(gray, model)
    np.testing.assert_array_equal(editor.render_full(ColourControls(saturation=1.0)), as_is)
    np.testing.assert_array_equal(cz.colorize_array(gray, model, controls=ColourControls()), as_is)


def test_saturation_above_one_grows_chroma_inside_the_gamut_and_keeps_l() -> None:
    photo = make_photo_array(400, 300, seed=5)
    chroma = cv2.resize(ab_of(photo), (64, 64), interpolation=cv2.INTER_AREA)
    editor = ChromaEditor(photo, chroma)
    chromas = []
    for saturation in (1.0, 1.5, 2.0):
        result = editor.render_full(ColourControls(saturation=saturation))
        assert np.abs(ch.lab_l8(result).astype(int) - ch.lab_l8(photo)).max() <= ch.L_TOLERANCE
        chromas.append(float(np.linalg.norm(ab_of(result), axis=2).mean()))
    assert chromas[0] < chromas[1] < chromas[2]
    l8 = np.full((1, 1), 200, np.uint8)
    blue = np.float32([[[20.0, -60.0]]])  # already at the gamut's edge for this light L: it stays
    np.testing.assert_allclose(saturate(l8, blue.copy(), 2.0), blue)


def test_preview_matches_the_full_render_and_reuses_its_solution() -> None:
    photo = make_photo_array(1200, 800, seed=3)
    editor = ChromaEditor(photo, constant_chroma(), preview_long_side=600)
    controls = ColourControls(hints=Hints((PointHint(0.3, 0.4, BLUE),)), saturation=1.3)
    preview = editor.preview(controls)
    assert preview.shape == (400, 600, 3)
    solves = []
    solve = editor.propagation.solve
    editor.propagation.solve = lambda *args: solves.append(1) or solve(*args)
    full = editor.render_full(controls)
    assert not solves  # the full render used the preview's solution
    small = cv2.resize(full, (600, 400), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(int) - preview).mean() < 2.0


def test_rgba_keeps_its_alpha_and_renders_in_place() -> None:
    photo = np.dstack([make_photo_array(200, 150, seed=4), np.arange(200 * 150, dtype=np.uint32).reshape(150, 200) % 256])
    photo = photo.astype(np.uint8)
    alpha = photo[:, :, 3].copy()
    editor = ChromaEditor(photo, constant_chroma())
    result = editor.render_full(ColourControls(hints=Hints((PointHint(0.5, 0.5, BLUE),))), out=photo)
    assert result is photo and np.array_equal(result[:, :, 3], alpha)


def test_hints_round_trip_and_the_issue_example(tmp_path: Path) -> None:
    example = tmp_path / "example.json"
    example.write_text(json.dumps(ISSUE_EXAMPLE))
    hints = load_hints(example)
    assert hints.points[0] == PointHint(0.25, 0.5, "#2050c0")
    assert hints.strokes[0].points == ((0.1, 0.2), (0.3, 0.25)) and hints.strokes[0].width == 0.02
    target = hints_path_for(tmp_path / "photo_colour.jpg")
    assert target == tmp_path / "photo_colour.hints.json"
    assert save_hints(target, hints) == target
    assert load_hints(target) == hints and hash(load_hints(target)) == hash(hints)
    assert not Hints() and hints
    assert rgb_to_hex((32, 80, 192)) == "#2050c0"


def test_the_reference_and_saturation_are_kept_in_the_hints_file(tmp_path: Path) -> None:
    from colorcore.inference.colour_control import edits_controls, load_reference, saved_edits
    from colorcore.inference.hints import SavedEdits, load_edits, save_edits

    warm = tmp_path / "warm.png"
    write_image(warm, np.full((40, 40, 3), (230, 120, 40), np.uint8))
    hints = Hints((PointHint(0.25, 0.5, BLUE),))
    controls = ColourControls(hints, load_reference([warm], "global"), 1.4)
    edits = saved_edits(controls)
    assert edits == SavedEdits(hints, (str(warm.resolve()),), "global", 1.4)
    target = save_edits(tmp_path / "photo_colour.hints.json", edits)
    data = json.loads(target.read_text())
    assert data["reference"] == {"paths": [str(warm.resolve())], "mode": "global"} and data["saturation"] == 1.4
    assert load_edits(target) == edits and load_hints(target) == hints  # hints readers still read it
    again = edits_controls(load_edits(target))
    assert again.hints == hints and again.saturation == 1.4 and again.reference == controls.reference
    plain = save_hints(tmp_path / "plain.hints.json", hints)  # an old file: no reference, saturation 1
    assert set(json.loads(plain.read_text())) == {"points", "strokes"}
    assert load_edits(plain) == SavedEdits(hints) and edits_controls(load_edits(plain)) == ColourControls(hints)


def test_a_batch_writes_the_reference_and_saturation_with_the_hints(model, tmp_path: Path) -> None:
    from colorcore.inference.batch import BatchItem, colorize_many
    from colorcore.inference.colour_control import load_reference
    from colorcore.inference.hints import SavedEdits, load_edits

    photo, warm = tmp_path / "scan.png", tmp_path / "warm.png"
    write_image(photo, two_regions(120, 180))
    write_image(warm, np.full((40, 40, 3), (230, 120, 40), np.uint8))
    hints = Hints((PointHint(0.25, 0.5, BLUE),))
    target = tmp_path / "out" / "scan_colour.png"
    controls = ColourControls(hints, load_reference([warm], "global"), 0.7)
    result = colorize_many([BatchItem(photo, target, controls, save_hints=True)], model)
    assert result.done == 1
    assert load_edits(hints_path_for(target)) == SavedEdits(hints, (str(warm.resolve()),), "global", 0.7)


@pytest.mark.parametrize("content, problem", [
    ('{"points": [', "not valid JSON (line 1, column"),
    ('{"points": [{"x": 0.2, "y": 0.5, "color": "blue"}]}', "points[0]: color 'blue' is not an sRGB hex colour"),
    ('{"points": [{"x": 1.5, "y": 0.5, "color": "#2050c0"}]}', "points[0]: x 1.5 is outside 0..1"),
    ('{"strokes": [{"points": [[0.1, -0.2]], "color": "#2050c0"}]}', "strokes[0]: points[0] y -0.2 is outside 0..1"),
    ('{"strokes": [{"points": [], "color": "#2050c0"}]}', "strokes[0]: points must be a non-empty list"),
    ('{"points": [{"x": 0.2, "y": 0.5, "color": "#2050c0", "width": 0}]}', "points[0]: width must be above 0"),
    ('{"points": [{"x": 0.2, "y": 0.5, "colour": "#2050c0"}]}', "points[0]: unknown field 'colour'"),
    ('{"points": [{"x": 0.2, "color": "#2050c0"}]}', 'points[0]: missing "y"'),
    ('[1, 2]', "expected a JSON object"),
    ('{"saturation": 2.5}', "saturation must be a number 0..2, got 2.5"),
    ('{"saturation": "high"}', "saturation must be a number 0..2"),
    ('{"reference": "a.jpg"}', 'reference: expected an object with "paths" and "mode"'),
    ('{"reference": {"paths": []}}', 'reference: "paths" must be a non-empty list of file paths'),
    ('{"reference": {"paths": ["a.jpg"], "mode": "colours"}}', "reference mode 'colours' is not one of semantic, global"),
    ('{"reference": {"paths": ["a.jpg"], "photo": "a.jpg"}}', "reference: unknown field 'photo'"),
])
def test_bad_hints_files_name_the_file_and_the_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "hints.json"
    path.write_text(content)
    with pytest.raises(HintsError) as caught:
        load_hints(path)
    assert str(caught.value).startswith(f"{path}: ") and problem in str(caught.value)
    with pytest.raises(HintsError, match="no such hints file"):
        load_hints(tmp_path / "missing.json")


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory, model) -> Path:
    from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint

    folder = tmp_path_factory.mktemp("model")
    checkpoint = save_checkpoint(folder / "tiny.pt", make_checkpoint(model, model.make_optimizers()))
    return export_model(checkpoint, folder / "model.safetensors")


def test_cli_applies_hints_reference_and_saturation_to_a_real_photo(model_file, tmp_path, capsys) -> None:
    photo = tmp_path / "scan.png"
    write_image(photo, two_regions())
    hints = tmp_path / "hints.json"
    save_hints(hints, Hints((PointHint(0.2, 0.5, BLUE),), (StrokeHint(((0.7, 0.3), (0.8, 0.7)), GREEN),)))
    reference = tmp_path / "ref.jpg"
    write_image(reference, make_photo_array(160, 120, seed=9))
    code = main(["colorize", str(model_file), str(photo), "--hints", str(hints), "--reference", str(reference),
                 "--saturation", "1.2", "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    result = read_image(tmp_path / "out" / "scan_colour.png")
    assert np.abs(luma(result).astype(int) - luma(read_image(photo))).max() <= 2  # its gray is the photo's
    left, right = halves(ab_of(result))
    assert hue_gap(hue(left), hue(np.float32(hint_ab(BLUE)))) < HUE_TOLERANCE_DEG
    assert hue_gap(hue(right), hue(np.float32(hint_ab(GREEN)))) < HUE_TOLERANCE_DEG
    assert main(["colorize", str(model_file), str(photo), "--saturation", "0", "--suffix", "_gray"]) == 0
    gray = read_image(tmp_path / "scan_gray.png")
    assert np.array_equal(gray[:, :, 0], gray[:, :, 2])


@pytest.mark.parametrize("extra, problem", [
    (["--saturation", "2.5"], "--saturation must be between 0 and 2, got 2.5"),
    (["--hints", "{folder}/missing.json"], "--hints {folder}/missing.json: no such hints file"),
    (["--hints", "{folder}/bad.json"], "--hints {folder}/bad.json: points[0]: color '#12' is not an sRGB hex"),
    (["--reference", "{folder}/nothing.jpg"], "--reference {folder}/nothing.jpg: "),
])
def test_cli_refuses_bad_controls_with_the_file_and_the_problem(model_file, tmp_path, capsys, extra, problem) -> None:
    photo = tmp_path / "scan.png"
    write_image(photo, two_regions(60, 80))
    (tmp_path / "bad.json").write_text('{"points": [{"x": 0.1, "y": 0.1, "color": "#12"}]}')
    code = main(["colorize", str(model_file), str(photo)] + [arg.format(folder=tmp_path) for arg in extra])
    assert code == 2
    assert problem.format(folder=tmp_path) in capsys.readouterr().err
    assert not (tmp_path / "scan_colour.png").exists()


def test_bench_hints_latency_runs_and_prints_its_json() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_hints.py"), "--part", "latency",
                          "--megapixels", "0.3", "--repeats", "1"], capture_output=True, text=True, timeout=600, cwd=root)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)["latency"]
    for key in ("editor_build_s", "preview_new_hint_s", "preview_new_hint_before_s", "preview_saturation_only_s",
                "render_full_s"):
        assert report[key] > 0


def test_bench_hints_quality_limits_the_photos_and_compares_with_the_earlier_settings(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    for i in range(3):
        write_image(tmp_path / f"photo{i}.png", make_photo_array(96, 128, seed=i))
    run = subprocess.run([sys.executable, str(root / "benchmarks" / "bench_hints.py"), "--part", "quality", "--photos",
                          str(tmp_path), "--draws", "1", "--limit", "2", "--long-side", "0", "--before"],
                         capture_output=True, text=True, timeout=600, cwd=root)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)["quality"]
    assert report["photos"] == 2 and report["long_side"] == "own"
    for name in ("model", "model_before", "propagation"):
        row = report[name]["10"]
        assert row["psnr"] > report["gray_psnr"] - 3 and 0 <= row["speckle_pct"] <= 100 and row["edge_psnr"] > 0
        assert row["miss_p95"] < 10  # the picked colour comes out at its own spot


def test_colourising_without_hints_does_not_load_the_sparse_solver() -> None:
    """scipy.sparse costs ~0.3 s at import: only a hint solve may load it, not every colorize call."""
    import subprocess
    import sys

    code = ("import sys, colorcore.inference.video, colorcore.inference.colorize, colorcore.commands.colorize, colorcore.inference.colour_control; "
            "print('scipy.sparse' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
