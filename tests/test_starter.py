"""The bundled starter model: the file and its metadata, the default model of colorize/info/the GUI, and
fine-tuning from it (`--init starter`)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from colorcore.models.checkpoint import METADATA_KEY, ModelFileError, load_model, read_metadata
from colorcore.cli import main
from colorcore.inference.chroma import lab_l8, predict_chroma
from colorcore.data.imageio import luma
from colorcore.data.prepare import prepare
from colorcore.data.imageio import read_image, write_image
from colorcore.models.base import ModelConfig
from colorcore.core.resources import samples_dir
from colorcore.models.calibration import ChromaCalibration
from colorcore.models.starter import ATTRIBUTION_FILES, CALIBRATION_SIGMAS, MIN_COLOURFULNESS_RATIO, calibrate_chroma, write_calibration
from colorcore.models.settings import starter_model_path
from colorcore.training.trainer import TrainConfig, Trainer
from tests.gui_fixtures import *  # noqa: F401,F403
from tests.gui_fixtures import make_main_window

MAX_STARTER_BYTES = 30 * 1024 * 1024


def mean_chroma(rgb: np.ndarray) -> float:
    """Mean distance of a photo's 8-bit Lab a, b from neutral."""
    import cv2

    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).astype(np.float32)
    return float(np.hypot(lab[..., 1] - 128, lab[..., 2] - 128).mean())


def test_the_starter_model_is_small_fp16_with_its_data_and_licence() -> None:
    path = starter_model_path()
    assert path.stat().st_size <= MAX_STARTER_BYTES
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()[METADATA_KEY])
        dtypes = {str(handle.get_tensor(k).dtype) for k in handle.keys()}
    assert "torch.float16" in dtypes
    assert meta["architecture"] == "multipath" and meta["resnet"]["role"] == "omitted"
    starter = meta["starter"]
    assert starter["weights_licence"] and starter["storage"] == "fp16"
    assert starter["data"]["photos"] >= 20 and starter["data"]["held_out_photos"]
    assert meta["training"]["metrics"]["psnr"] > 0
    for name in ATTRIBUTION_FILES:
        assert (path.parent / name).is_file()
    attribution = json.loads((path.parent / "attribution.json").read_text(encoding="utf-8"))
    assert len(attribution["files"]) == starter["data"]["photos"]
    assert all(row["licence"] and row["author"] for row in attribution["files"])


def test_colorize_without_a_model_uses_the_starter_model(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    photo = tmp_path / "gray.png"
    original = read_image(samples_dir() / "chelsea.jpg")
    write_image(photo, np.repeat(original.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2))
    assert main(["colorize", str(photo), "--out", str(tmp_path / "out")]) == 0
    result = read_image(tmp_path / "out" / "gray_colour.png")
    assert result.shape == original.shape
    assert np.abs(lab_l8(result).astype(int) - lab_l8(read_image(photo)).astype(int)).max() <= 2  # luminance kept
    assert mean_chroma(result) > 3.0  # coloured, not gray
    assert main(["colorize", "--model", "starter", str(photo), "--out", str(tmp_path / "again")]) == 0
    assert np.array_equal(read_image(tmp_path / "again" / "gray_colour.png"), result)


def test_info_names_the_starter_model(capsys: pytest.CaptureFixture) -> None:
    assert main(["info"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("starter model"))
    assert str(starter_model_path()) in line and "multipath" in line
    inference = read_metadata(starter_model_path())["inference"]
    assert (f"chroma averaged with the mirrored photo's, blurred {inference['chroma_sigma']:g} px, scaled by "
            f"{inference['chroma_scale']:g} (calibrated on held-out photos)") in line


def test_fine_tuning_starts_from_the_starter_weights(tmp_path: Path) -> None:
    data = tmp_path / "data"
    prepare(samples_dir(), data, size=64, test_fraction=0.2, seed=0, crops_per_photo=1)
    first_l1 = {}
    for name, init in (("starter", "starter"), ("scratch", None)):
        config = TrainConfig(data=str(data), run_dir=str(tmp_path / name), init=init, batch_size=8, device="cpu",
                             model=ModelConfig(width=8), max_steps=1, eval_subset=0, sample_count=0,
                             keep_checkpoints=0, log_interval_s=0.0)
        assert Trainer(config).run().status == "finished"
        with open(tmp_path / name / "metrics.csv", newline="", encoding="utf-8") as handle:
            first_l1[name] = float(next(csv.DictReader(handle))["loss_l1"])
    saved = json.loads((tmp_path / "starter" / "config.json").read_text(encoding="utf-8"))
    assert saved["init"] == "starter"
    assert saved["model"]["width"] == read_metadata(starter_model_path())["model_config"]["width"]
    assert first_l1["starter"] < 0.6 * first_l1["scratch"]  # it already colours on its first step


def test_the_colourise_tab_has_the_starter_model_chosen_at_first_start(qtbot, gui_settings) -> None:
    window = make_main_window(qtbot, gui_settings)
    tab = window.colorize_tab
    assert tab.model_path() == str(starter_model_path().resolve())
    assert tab.model_combo.currentText() == "Starter model (bundled)"
    assert tab.no_model_label.isHidden()
    window.shutdown()
    window.close()



def test_the_starter_model_carries_its_chroma_calibration() -> None:
    inference = read_metadata(starter_model_path())["inference"]
    assert 0 < inference["chroma_scale"] < 1  # shrunk towards gray: calibrated on held-out photos
    assert inference["chroma_sigma"] in CALIBRATION_SIGMAS
    report = inference["calibration"]
    assert report["photos"] and report["max_side"] == 768 and len(report["tried"]) == len(CALIBRATION_SIGMAS)
    chosen = max((row for row in report["tried"] if row["psnr"] is not None), key=lambda row: row["psnr"])
    assert (chosen["chroma_sigma"], chosen["best_chroma_scale"]) == (inference["chroma_sigma"],
                                                                     inference["chroma_scale"])
    assert chosen["colourfulness_ratio"] >= MIN_COLOURFULNESS_RATIO
    assert report["flip_average"] is inference["flip_average"] is True
    assert load_model(starter_model_path()).calibration == ChromaCalibration(
        inference["chroma_scale"], inference["chroma_sigma"], flip_average=True)


def test_the_calibration_blurs_then_scales_the_predicted_chroma(tmp_path: Path) -> None:
    import cv2

    gray = luma(read_image(samples_dir() / "chelsea.jpg"))
    calibrated = tmp_path / "calibrated.safetensors"
    calibrated.write_bytes(starter_model_path().read_bytes())
    write_calibration(calibrated, ChromaCalibration(scale=0.5, sigma=2.0), {"rule": "test"})
    raw_model = load_model(starter_model_path())
    raw_model.calibration = ChromaCalibration()
    model = load_model(calibrated)
    assert model.calibration == ChromaCalibration(0.5, 2.0)
    assert read_metadata(calibrated)["inference"]["calibration"] == {"rule": "test"}
    raw = predict_chroma(gray, raw_model, size=64)
    expected = 0.5 * cv2.GaussianBlur(raw, (0, 0), 2.0, borderType=cv2.BORDER_REFLECT)
    np.testing.assert_allclose(predict_chroma(gray, model, size=64), expected, atol=1e-4)


@pytest.mark.parametrize("fit", ["squash", "letterbox"])
def test_the_flip_average_is_the_mean_of_the_photo_and_its_mirror_image(fit: str) -> None:
    """With `flip_average` the chroma is the mean of the photo's prediction and the mirrored photo's
    prediction mirrored back, on the photo's own area also when it is letterboxed (a 4:3 photo)."""
    gray = luma(read_image(samples_dir() / "chelsea.jpg"))[:, :400]
    mirrored = np.ascontiguousarray(gray[:, ::-1])
    model = load_model(starter_model_path())
    model.calibration = ChromaCalibration()
    plain, of_mirror = (predict_chroma(g, model, size=64, fit=fit) for g in (gray, mirrored))
    model.calibration = ChromaCalibration(flip_average=True)
    averaged = predict_chroma(gray, model, size=64, fit=fit)
    assert averaged.shape == plain.shape
    difference = np.abs(averaged - 0.5 * (plain + of_mirror[:, ::-1]))  # mirroring before or after the
    assert difference.mean() < 0.01 and difference.max() < 0.5  # reduction to 64 px rounds a few pixels apart
    assert np.abs(averaged - plain).mean() > 0.1  # the mirror image's prediction does differ


def test_the_flip_average_of_a_letterboxed_portrait_lines_up_with_the_photo() -> None:
    """A 300x210 portrait is 45 px wide in the 64 px letterboxed input (a 9 px band left, 10 right):
    the mirror image of that input has its bands the other way round, and its prediction, mirrored
    back, must cover the photo's own columns, checked against the batch of two built by hand."""
    import cv2
    import torch

    from colorcore.core.tensors import gray_input_from_luma

    gray = luma(read_image(samples_dir() / "chelsea.jpg"))[:, :210]
    model = load_model(starter_model_path())
    model.calibration = ChromaCalibration(flip_average=True)
    boxed = cv2.copyMakeBorder(cv2.resize(gray, (45, 64), interpolation=cv2.INTER_AREA), 0, 0, 9, 10,
                               cv2.BORDER_REPLICATE)
    inputs = gray_input_from_luma(boxed)
    with torch.no_grad():
        rgb = model.eval().predict(torch.cat([inputs, inputs.flip(-1)]))["rgb"]

    def chroma(prediction: torch.Tensor) -> np.ndarray:
        rgb01 = ((prediction.clamp(-1, 1) + 1) * 0.5).permute(1, 2, 0).numpy()
        return cv2.cvtColor(np.ascontiguousarray(rgb01), cv2.COLOR_RGB2Lab)[:, :, 1:]

    expected = (0.5 * (chroma(rgb[0]) + chroma(rgb[1])[:, ::-1]))[:, 9:54]
    averaged = predict_chroma(gray, model, size=64, fit="letterbox")
    assert averaged.shape == (64, 45, 2)
    np.testing.assert_allclose(averaged, expected, atol=1e-3)
    shifted = (0.5 * (chroma(rgb[0]) + chroma(rgb[1])[:, ::-1]))[:, 10:55]  # off by the band difference
    assert np.abs(averaged - shifted).mean() > 0.1


def test_a_model_file_calibrated_before_the_mirror_average_loads_without_it(tmp_path: Path) -> None:
    """Files written before `flip_average` existed (scale and blur only) keep colouring as they did."""
    from safetensors.torch import load_file, save_file

    meta = read_metadata(starter_model_path())
    meta["inference"] = {"chroma_scale": 0.45, "chroma_sigma": 2.0}
    older = tmp_path / "older.safetensors"
    save_file(load_file(str(starter_model_path())), str(older), metadata={METADATA_KEY: json.dumps(meta)})
    assert load_model(older).calibration == ChromaCalibration(scale=0.45, sigma=2.0, flip_average=False)


@pytest.mark.parametrize("inference", [{"chroma_scale": "x"}, {"chroma_scale": 0}, {"chroma_scale": -1},
                                       {"chroma_scale": 10}, {"chroma_scale": True}, {"chroma_sigma": -1},
                                       {"chroma_sigma": 100}, {"flip_average": "yes"}, {"flip_average": 1},
                                       [1, 2]])
def test_an_unusable_calibration_is_refused_naming_the_file(tmp_path: Path, inference: object) -> None:
    from safetensors.torch import load_file, save_file

    meta = read_metadata(starter_model_path())
    meta["inference"] = inference
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(starter_model_path())), str(bad), metadata={METADATA_KEY: json.dumps(meta)})
    with pytest.raises(ModelFileError, match="bad.safetensors.*inference"):
        load_model(bad)


def test_calibration_picks_the_best_mean_psnr_that_keeps_colour(tmp_path: Path) -> None:
    import cv2

    from colorcore.inference.colorize import colorize_array
    from colorcore.evaluation.metrics import colourfulness, psnr

    photos = [samples_dir() / "chelsea.jpg", samples_dir() / "coffee.jpg"]
    model = load_model(starter_model_path())
    before = model.calibration
    scales = (0.2, 0.4, 0.6, 0.8, 1.0)
    calibration, report = calibrate_chroma(model, photos, max_side=256, sigmas=(0.0, 2.0), scales=scales)
    assert model.calibration == before  # restored
    assert calibration.flip_average and report["flip_average"]
    reals = []
    for path in photos:
        real = read_image(path)
        reals.append(cv2.resize(real, (256, round(real.shape[0] * 256 / real.shape[1])), interpolation=cv2.INTER_AREA))

    def scores(candidate: ChromaCalibration) -> tuple[float, float]:
        """(mean PSNR, mean colourfulness ratio) of the photos colourised as `colorcore colorize` does."""
        model.calibration = candidate
        outs = [colorize_array(luma(real), model) for real in reals]
        return (float(np.mean([psnr(o[None], r[None]).item() for o, r in zip(outs, reals)])),
                float(np.mean([colourfulness(o[None]).item() / colourfulness(r[None]).item()
                               for o, r in zip(outs, reals)])))

    best_psnr, best_colour = scores(calibration)
    chosen = next(row for row in report["tried"] if row["chroma_sigma"] == calibration.sigma)
    assert best_psnr == pytest.approx(chosen["psnr"], abs=0.02)  # the report is what colorize gives
    assert best_colour >= MIN_COLOURFULNESS_RATIO
    for sigma in (0.0, 2.0):
        for scale in scales:
            other_psnr, other_colour = scores(ChromaCalibration(scale, sigma, flip_average=True))
            assert other_colour < MIN_COLOURFULNESS_RATIO or other_psnr <= best_psnr + 0.02


def test_train_starter_calibrate_only_recalibrates_an_exported_file(tmp_path: Path) -> None:
    """`packaging/starter/train_starter.py --calibrate-only` (how the shipped file was recalibrated):
    it prepares the corpus once, fits the calibration on the held-out photos only, and rewrites the
    file's metadata, weights untouched; without an exported --out it is a usage error, not a traceback."""
    import shutil
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "packaging" / "starter" / "train_starter.py"
    corpus = tmp_path / "corpus"
    (corpus / "photos").mkdir(parents=True)
    for name in ("chelsea.jpg", "coffee.jpg", "sunset.jpg", "honey_bee.jpg", "dandelions.jpg"):
        shutil.copy(samples_dir() / name, corpus / "photos" / name)
    out = tmp_path / "starter.safetensors"
    args = [sys.executable, str(script), "--corpus", str(corpus), "--work", str(tmp_path / "work"), "--out", str(out),
            "--calibrate-only"]
    missing = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert missing.returncode == 2 and f"no exported model at {out}" in missing.stderr
    assert not (tmp_path / "work").exists()  # refused before any preparation
    out.write_bytes(starter_model_path().read_bytes())
    meta = read_metadata(out)
    meta["inference"] = {"chroma_scale": 1.0, "chroma_sigma": 0.0}
    from safetensors.torch import load_file, save_file

    weights = load_file(str(out))
    save_file(weights, str(out), metadata={METADATA_KEY: json.dumps(meta)})
    run = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "chroma calibration: flip-averaged, blur" in run.stdout
    inference = read_metadata(out)["inference"]
    held_out = json.loads((tmp_path / "work" / "data" / "manifest.json").read_text())["photos"]["test"]
    assert inference["flip_average"] is True and 0 < inference["chroma_scale"] <= 1
    assert inference["calibration"]["photos"] == held_out and len(held_out) == 1
    assert all(np.array_equal(load_file(str(out))[k].numpy(), v.numpy()) for k, v in weights.items())
