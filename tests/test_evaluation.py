"""`colorcore.evaluation.evaluate` on a real prepared dataset with tiny real models: scores, kept predictions and
maps, a stop mid-way, and a saved model evaluated by file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from colorcore.data.prepared import load_prepared
from colorcore.evaluation.evaluate import evaluate_model, evaluate_model_file
from colorcore.core.events import StopFlag
from colorcore.evaluation.metrics import psnr
from colorcore.models.base import ModelConfig, build_model
from colorcore.core.tensors import gray_input, maps_to_uint8, to_uint8_images
from tests.helpers import PREPARED_SIZE

BATCH = 1  # the 2 test photos in two batches


def tiny(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return build_model(ModelConfig(name=name, width=4, resnet_weights="none")).eval()


def test_kept_predictions_are_the_models_outputs_in_split_order(prepared_dataset: Path) -> None:
    model = tiny("multipath")
    result = evaluate_model(model, prepared_dataset, "test", batch_size=BATCH, grid_count=0, keep_predictions=True)
    real = np.array(load_prepared(prepared_dataset).split("test").rgb)
    with torch.no_grad():
        out = model.predict(gray_input(torch.from_numpy(real)))
    assert result.fake is not None and result.fake.shape == real.shape and result.fake.dtype == np.uint8
    assert np.abs(result.fake.astype(int) - to_uint8_images(out["rgb"]).astype(int)).max() <= 1
    assert set(result.maps) == {"saliency", "edge"}
    for key in ("saliency", "edge"):
        assert result.maps[key].shape == (len(real), PREPARED_SIZE, PREPARED_SIZE)
        assert np.abs(result.maps[key].astype(int) - maps_to_uint8(out[key]).astype(int)).max() <= 1
    # the per-image scores belong to the kept images, one per photo
    assert result.metric("psnr") == pytest.approx(psnr(result.fake, real).numpy(), abs=1e-4)
    assert result.metric("ssim").tolist() == [m["ssim"] for m in result.per_image]
    assert result.summary["psnr"] == pytest.approx(float(np.mean(result.metric("psnr"))))


def test_predictions_are_kept_only_when_asked_and_a_model_without_maps_has_none(prepared_dataset: Path) -> None:
    plain = evaluate_model(tiny("multipath"), prepared_dataset, "test", grid_count=0)
    assert plain.fake is None and plain.maps == {} and len(plain.per_image) == 2
    scgan = evaluate_model(tiny("scgan"), prepared_dataset, "test", grid_count=0, keep_predictions=True)
    assert scgan.fake is not None and len(scgan.fake) == 2 and scgan.maps == {}


def test_a_stop_keeps_what_was_scored_so_far(prepared_dataset: Path) -> None:
    stop = StopFlag()

    class StopAfterFirstBatch:
        def on_progress(self, event) -> None:
            stop.request_stop()

    result = evaluate_model(tiny("multipath"), prepared_dataset, "test", batch_size=BATCH, grid_count=0,
                            callbacks=[StopAfterFirstBatch()], stop=stop, keep_predictions=True)
    assert result.stopped and len(result.per_image) == 1 and len(result.fake) == 1
    assert all(len(m) == 1 for m in result.maps.values())


def test_a_saved_model_is_evaluated_at_the_datasets_size_on_the_device_asked_for(
    prepared_dataset: Path, tmp_path: Path
) -> None:
    from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint
    from colorcore.core.device import DeviceError

    model = tiny("multipath", seed=3)
    checkpoint = save_checkpoint(tmp_path / "m.pt", make_checkpoint(model, model.make_optimizers()))
    saved = export_model(checkpoint, tmp_path / "m.safetensors")
    from_file = evaluate_model_file(saved, prepared_dataset, "test", device="cpu", grid_count=0,
                                    keep_predictions=True)
    direct = evaluate_model(model, prepared_dataset, "test", grid_count=0, keep_predictions=True)
    assert np.array_equal(from_file.fake, direct.fake)
    assert from_file.metric("psnr") == pytest.approx(direct.metric("psnr"))
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            evaluate_model_file(saved, prepared_dataset, "test", device="cuda")

    large = build_model(ModelConfig(name="multipath", image_size=128, width=4, resnet_weights="none"))
    checkpoint = save_checkpoint(tmp_path / "l.pt", make_checkpoint(large, large.make_optimizers()))
    with pytest.raises(ValueError, match="trained size 128"):  # 64 px photos are no multiple of its 128 px
        evaluate_model_file(export_model(checkpoint, tmp_path / "l.safetensors"), prepared_dataset, "test")
