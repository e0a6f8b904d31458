"""`colorcore downstream` end to end: real CIFAR-format files, a real exported model file."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint
from colorcore.cli import main
from colorcore.models.base import ModelConfig, build_model
from tests.helpers import TEST_WIDTH, write_cifar

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = ["--train-size", "100", "--val-size", "50", "--test-size", "50", "--batch-size", "16", "--device", "cpu"]


def save_model(folder: Path, config: ModelConfig, export: bool) -> Path:
    """A run folder with checkpoints/last.pt; exported to a .safetensors model file when `export`."""
    model = build_model(config)
    last = save_checkpoint(folder / "checkpoints" / "last.pt", make_checkpoint(model, model.make_optimizers()))
    return export_model(folder, folder.parent / f"{folder.name}.safetensors") if export else last


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("cli")
    return {
        "cifar": write_cifar(base / "cifar", per_batch=60),
        "model": save_model(base / "paper_run", ModelConfig(width=TEST_WIDTH, resnet_weights="none"), export=True),
        "scgan": save_model(base / "scgan_run", ModelConfig(name="scgan", width=TEST_WIDTH, image_size=64), export=False),
    }


def test_cli_writes_the_table_and_resumes(files, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["downstream", "--cifar-root", str(files["cifar"]), "--encoder", str(files["model"]), "--no-verify",
            "--seeds", "1", "--preset", "quick", "--epochs", "1", "--configs", "1,scratch", "--out", str(out), *SMALL]
    assert main(args) == 0
    captured = capsys.readouterr()
    settings = json.loads((out / "config.json").read_text())["settings"]
    assert (settings["epochs"], settings["patience"]) == (1, 0)  # --epochs over the quick preset's no-patience
    assert "| frozen through block 1 | 1 |" in captured.out and "| from scratch | 1 |" in captured.out
    assert "56.47" in captured.out and "Traceback" not in captured.err
    with (out / "results.csv").open(newline="") as f:
        assert [row["config"] for row in csv.DictReader(f)] == ["1", "scratch"]
    provenance = json.loads((out / "config.json").read_text())["encoder"]
    assert provenance["file_sha256"] == hashlib.sha256(files["model"].read_bytes()).hexdigest()
    assert provenance["metadata"]["architecture"] == "multipath"

    assert main(args) == 0
    captured = capsys.readouterr()
    assert captured.err.count("(finished earlier)") == 2 and "| from scratch | 1 |" in captured.out

    assert main([*args, "--lr", "0.01"]) == 2
    assert "different settings (differs in: lr) (use another --out, or add --overwrite)" in capsys.readouterr().err


@pytest.mark.parametrize("case, expected", [
    ("no cifar", "cifar-10-batches-py"),
    ("unofficial files", "--no-verify"),
    ("missing encoder", "nope.safetensors: file not found"),
    ("scgan encoder", "multipath"),
    ("bad config", "unknown configuration"),
    ("bad sizes", "val size must be a positive multiple of 10"),
    ("bad patience", "patience must be 0"),
])
def test_cli_user_errors_are_one_clear_line(files, tmp_path, capsys, case, expected):
    cifar, encoder, extra = str(files["cifar"]), str(files["model"]), ["--no-verify"]
    if case == "no cifar":
        cifar = str(tmp_path / "empty")
    elif case == "unofficial files":
        extra = []
    elif case == "missing encoder":
        encoder = str(tmp_path / "nope.safetensors")
    elif case == "scgan encoder":
        encoder = str(files["scgan"])
    elif case == "bad config":
        extra += ["--configs", "1,7"]
    elif case == "bad sizes":
        extra += ["--val-size", "105"]
    elif case == "bad patience":
        extra += ["--preset", "quick", "--patience", "-1"]
    code = main(["downstream", "--cifar-root", cifar, "--encoder", encoder, "--out", str(tmp_path / "out"),
                 *SMALL, *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "out" / "runs.json").exists()
