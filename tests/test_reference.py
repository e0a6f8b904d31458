"""Colour by example: a reference photo's colours go to the same kind of things (colorcore.inference.reference)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from colorcore.models.checkpoint import load_model
from colorcore.cli import main
from colorcore.inference.colorize import colorize_array
from colorcore.inference.colour_control import ChromaEditor, ColourControls, ReferenceColours, load_reference
from colorcore.inference.hints import Hints, PointHint
from colorcore.data.imageio import ImageReadError, read_image, write_image
from colorcore.evaluation.metrics import psnr
from colorcore.inference.reference import FEATURE_LONG_SIDE, SemanticReference, blended_chroma
from colorcore.models.settings import starter_model_path

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"
SIDE = 256


def _sample(name: str, side: int = SIDE) -> np.ndarray:
    image = read_image(SAMPLES / f"{name}.jpg")
    return cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)


def _gray3(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


def _mean_ab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 1:].reshape(-1, 2).mean(axis=0)


@pytest.fixture(scope="module")
def starter():
    return load_model(starter_model_path(), "cpu")


def test_each_thing_takes_its_own_colour_from_the_reference_not_one_tint(starter) -> None:
    """Reference: a red fruit bowl beside green grass; target: the same kinds of things, swapped
    sides and in gray. The semantic transfer colours each side by what is there; the global one
    cannot (one tint everywhere)."""
    bowl, meadow = _sample("citrus_fruits"), _sample("aitzgorri")
    reference = np.hstack([bowl[:, SIDE // 2:], meadow[:, SIDE // 2:]])
    truth = np.hstack([meadow[:, : SIDE // 2], bowl[:, : SIDE // 2]])
    gray = _gray3(truth)
    semantic = colorize_array(gray, starter, controls=ColourControls(reference=SemanticReference.from_images([reference])))
    global_ = colorize_array(gray, starter, controls=ColourControls(reference=ReferenceColours.from_image(reference)))
    half = SIDE // 2
    for output in (semantic, global_):
        assert output.shape == truth.shape
    # the meadow (now on the left) is greener than the fruit (now on the right) in the semantic result
    left, right = _mean_ab(semantic[:, :half]), _mean_ab(semantic[:, half:])
    true_left, true_right = _mean_ab(truth[:, :half]), _mean_ab(truth[:, half:])
    assert right[0] - left[0] > 0.5 * (true_right[0] - true_left[0]) > 5
    assert psnr(semantic, truth) > psnr(global_, truth) + 1.0
    assert psnr(semantic, truth) > psnr(gray, truth) + 3.0


def test_same_scene_reference_beats_gray_and_global_on_a_real_photo(starter) -> None:
    photo = read_image(SAMPLES / "aitzgorri.jpg")
    photo = cv2.resize(photo, (384, 288), interpolation=cv2.INTER_AREA)
    truth, reference = photo[:, :192].copy(), photo[:, 192:].copy()
    gray = _gray3(truth)
    semantic = colorize_array(gray, starter, controls=ColourControls(reference=SemanticReference.from_images([reference])))
    global_ = colorize_array(gray, starter, controls=ColourControls(reference=ReferenceColours.from_image(reference)))
    assert psnr(semantic, truth) > psnr(global_, truth) + 0.5
    assert psnr(semantic, truth) > psnr(gray, truth) + 3.0
    cast = np.linalg.norm(_mean_ab(semantic) - _mean_ab(truth))
    assert cast < 0.5 * np.linalg.norm(_mean_ab(gray) - _mean_ab(truth))


def test_where_nothing_matches_the_model_colour_is_kept() -> None:
    reference = SemanticReference.from_images([_sample("coffee", 64)])
    unrelated = SemanticReference(np.zeros_like(reference.features), reference.lightness, reference.ab_sums,
                                  reference.counts)  # no cell is similar to anything
    gray = cv2.cvtColor(_sample("honey_bee", 128), cv2.COLOR_RGB2GRAY)
    model = np.dstack([np.full((16, 16), 7.0), np.full((16, 16), -3.0)]).astype(np.float32)
    blended = blended_chroma(gray, unrelated, model)
    np.testing.assert_allclose(blended[..., 0], 7.0, atol=1e-4)
    np.testing.assert_allclose(blended[..., 1], -3.0, atol=1e-4)
    assert max(blended.shape[:2]) == FEATURE_LONG_SIDE // 3  # 128 px: 16 cells of 8 px


def test_a_hint_wins_over_the_reference_where_it_is(starter) -> None:
    bowl = _sample("citrus_fruits")
    editor = ChromaEditor.from_model(_gray3(bowl), starter)
    reference = SemanticReference.from_images([bowl])
    blue = "#1f4fd8"
    hinted = editor.render_full(ColourControls(hints=Hints(points=(PointHint(0.5, 0.5, blue),)), reference=reference))
    plain = editor.render_full(ColourControls(reference=reference))
    spot = (slice(SIDE // 2 - 2, SIDE // 2 + 3),) * 2
    assert _mean_ab(hinted[spot])[1] < -15  # blue at the hint
    assert _mean_ab(plain[spot])[1] > 0  # the orange fruit's colour without it


def test_the_editor_matches_a_reference_once_and_reuses_it(starter) -> None:
    editor = ChromaEditor.from_model(_gray3(_sample("aitzgorri")), starter)
    reference = SemanticReference.from_images([_sample("picos_de_europa")])
    first = editor.preview(ColourControls(reference=reference))
    cached = editor.reference_chroma(reference)
    assert editor.reference_chroma(reference) is cached
    np.testing.assert_array_equal(editor.preview(ColourControls(reference=reference)), first)
    assert not np.array_equal(first, editor.preview())


def test_several_references_and_both_modes_load_from_files(tmp_path: Path) -> None:
    paths = []
    for name in ("aitzgorri", "coffee"):
        paths.append(tmp_path / f"{name}.png")
        write_image(paths[-1], _sample(name, 96))
    both = load_reference(paths)
    one = load_reference(paths[0])
    assert isinstance(both, SemanticReference) and len(both.features) == 2 * len(one.features)
    assert isinstance(load_reference(paths, "global"), ReferenceColours)
    gray = tmp_path / "gray.png"
    write_image(gray, cv2.cvtColor(_sample("coffee", 32), cv2.COLOR_RGB2GRAY))
    with pytest.raises(ImageReadError, match="must be in colour"):
        load_reference([paths[0], gray])


def test_cli_reference_colours_by_example_and_names_a_bad_reference(tmp_path: Path, capsys) -> None:
    meadow = _sample("aitzgorri")
    photo, ref1, ref2 = tmp_path / "scan.png", tmp_path / "ref1.jpg", tmp_path / "ref2.png"
    write_image(photo, _gray3(meadow)[:, : SIDE // 2])
    write_image(ref1, meadow[:, SIDE // 2:])
    write_image(ref2, _sample("coffee"))
    out = tmp_path / "out"
    assert main(["colorize", str(photo), "--reference", str(ref1), "--reference", str(ref2), "--out", str(out)]) == 0
    result = read_image(out / "scan_colour.png")
    assert psnr(result, meadow[:, : SIDE // 2]) > psnr(_gray3(meadow)[:, : SIDE // 2], meadow[:, : SIDE // 2]) + 3
    assert main(["colorize", str(photo), "--reference", str(ref1), "--reference-mode", "global",
                 "--out", str(tmp_path / "global")]) == 0
    gray_ref = tmp_path / "gray_ref.png"
    write_image(gray_ref, cv2.cvtColor(meadow, cv2.COLOR_RGB2GRAY))
    capsys.readouterr()
    assert main(["colorize", str(photo), "--reference", str(gray_ref), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "--reference" in err and "gray_ref.png" in err and "colour" in err

