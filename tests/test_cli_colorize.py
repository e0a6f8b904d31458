"""`colorcore colorize`: folders, broken files, exit codes, never overwriting, model file kinds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colorcore.cli import main
from colorcore.inference.chroma import L_TOLERANCE, lab_l8
from colorcore.data.imageio import read_image
from tests.helpers import write_photo


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny real model saved as a .pt checkpoint, a .safetensors model file and a run folder."""
    from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint
    from colorcore.models.base import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(width=8, resnet_weights="none"))
    folder = tmp_path_factory.mktemp("models")
    checkpoint = save_checkpoint(folder / "tiny.pt", make_checkpoint(model, model.make_optimizers()))
    run = folder / "run"
    run.mkdir()
    export_model(checkpoint, run / "model.safetensors")
    return {"pt": Path(checkpoint), "safetensors": run / "model.safetensors", "run": run}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder with three real photos (one nested, one odd-sized PNG) and one broken JPEG."""
    folder = tmp_path / "photos"
    write_photo(folder / "beach.jpg", 97, 65, seed=1)
    write_photo(folder / "nested" / "forest.jpg", 64, 90, seed=2)
    write_photo(folder / "odd.png", 101, 67, seed=3)
    (folder / "nested" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    return folder


def test_folder_with_a_broken_file_exits_1_and_colourises_the_rest(model_files, photos, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    code = main(["colorize", str(model_files["safetensors"]), str(photos), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "broken.jpg" in captured.err and "1 failed" in captured.err
    expected = {out / "beach_colour.jpg": photos / "beach.jpg", out / "nested" / "forest_colour.jpg":
                photos / "nested" / "forest.jpg", out / "odd_colour.png": photos / "odd.png"}
    for target, source in expected.items():
        assert target.is_file(), captured.err
        assert str(target) in captured.out
        result, original = read_image(target), read_image(source)
        assert result.shape == original.shape
    odd = np.abs(lab_l8(read_image(out / "odd_colour.png")).astype(int) - lab_l8(read_image(photos / "odd.png")))
    assert odd.max() <= L_TOLERANCE  # lossless output: the luminance is exactly kept
    assert not (out / "nested" / "broken_colour.jpg").exists()


def test_outputs_are_never_replaced_without_overwrite(model_files, tmp_path, capsys) -> None:
    photo = write_photo(tmp_path / "cat.jpg", 80, 60, seed=4)
    original_bytes = photo.read_bytes()
    model = str(model_files["pt"])
    assert main(["colorize", model, str(photo), "--format", "png"]) == 0
    target = tmp_path / "cat_colour.png"
    assert target.is_file()
    target.write_bytes(b"keep me")
    assert main(["colorize", model, str(photo), "--format", "png"]) == 2  # nothing to do: a user error
    assert "exists (add --overwrite)" in capsys.readouterr().err and target.read_bytes() == b"keep me"
    assert main(["colorize", model, str(photo), "--suffix", ""]) == 2
    err = capsys.readouterr().err
    assert "replace the input (use another --suffix, or use another --out, or add --overwrite)" in err
    assert photo.read_bytes() == original_bytes
    assert main(["colorize", model, str(photo), "--format", "png", "--overwrite", "--no-guided"]) == 0
    assert read_image(target).shape == (60, 80, 3)


def test_rerun_on_a_folder_skips_its_own_outputs(model_files, tmp_path, capsys) -> None:
    folder = tmp_path / "album"
    write_photo(folder / "a.jpg", 70, 50, seed=5)
    model = str(model_files["run"])
    assert main(["colorize", model, str(folder), str(folder / "a.jpg")]) == 0  # named twice: done once
    assert main(["colorize", model, str(folder), "--suffix", "_v2", "--format", "jpg"]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["a.jpg", "a_colour.jpg", "a_colour_v2.jpg", "a_v2.jpg"]  # "_colour" files are photos too
    capsys.readouterr()


@pytest.mark.parametrize(
    "args, message",
    [
        (["colorize", "{tmp}/missing.safetensors", "{photo}"], "missing.safetensors: file not found"),
        (["colorize", "{model}", "{tmp}/nothing-here"], "no photos"),
        (["colorize", "{model}", "{empty}"], "no photos"),
        (["colorize", "{model}", "{photo}", "--inference-size", "100"], "multiple of the model's trained size"),
        (["colorize", "{bad_model}", "{photo}"], "bad.safetensors"),
        (["colorize", "{model}", "{photo}", "--device", "tpu"], "unknown device"),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_line(model_files, tmp_path, capsys, args, message) -> None:
    photo = write_photo(tmp_path / "p.jpg", 40, 30)
    (tmp_path / "empty").mkdir()
    bad_model = tmp_path / "bad.safetensors"
    bad_model.write_bytes(b"not a model")
    values = {"tmp": tmp_path, "photo": photo, "model": model_files["safetensors"], "empty": tmp_path / "empty",
              "bad_model": bad_model}
    code = main([a.format(**values) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "p_colour.jpg").exists()


@pytest.mark.parametrize(
    "name, fmt, expected",
    [("a.JPG", "same", ".JPG"), ("a.jfif", "same", ".jpg"), ("a.dib", "same", ".png"), ("a.tif", "same", ".tif"),
     ("a.webp", "png", ".png"), ("a.png", "jpg", ".jpg")],
)
def test_output_extension(name: str, fmt: str, expected: str) -> None:
    from colorcore.inference.batch import output_extension

    assert output_extension(Path(name), fmt) == expected
