"""`colorcore compare` on three tiny real runs (multipath, scgan, zhang): table, CSV, grid, bad runs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from colorcore.cli import main
from colorcore.evaluation.compare import CSV_FILE, GRID_FILE, GRID_PAD, LABEL_STRIP_WIDTH, MARKDOWN_FILE
from colorcore.data.imageio import read_image
from colorcore.models.base import ModelConfig
from colorcore.training.trainer import TrainConfig, Trainer
from tests.helpers import PHOTO_FOLDER_SPECS, PREPARED_SIZE, write_photo

MODELS = ("multipath", "scgan", "zhang")
TEST_IMAGES = 2


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A prepared dataset (6 train, 2 test photos at 64 px) and one 2-step run of each model on it."""
    from colorcore.data.prepare import prepare

    root = tmp_path_factory.mktemp("compare")
    for relative, width, height, seed in PHOTO_FOLDER_SPECS:
        write_photo(root / "photos" / relative, width, height, seed)
    data = root / "data"
    prepare(root / "photos", data, size=PREPARED_SIZE, test_fraction=0.25, seed=0, workers=1)
    runs = []
    for name in MODELS:
        run = root / f"run_{name}"
        config = TrainConfig(data=str(data), run_dir=str(run),
                             model=ModelConfig(name=name, width=4, resnet_weights="none"), epochs=1,
                             batch_size=3, device="cpu", log_interval_s=0.0, eval_subset=0, sample_count=0,
                             keep_checkpoints=0)
        assert Trainer(config).run().status == "finished"
        runs.append(run)
    return data, runs


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_compare_writes_a_table_with_three_rows_and_one_grid(
    three_runs: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, runs = three_runs
    out = tmp_path / "cmp"
    # no --data: the dataset comes from the first run's config.json
    assert main(["compare", *map(str, runs), "--out", str(out), "--device", "cpu", "--n", "2"]) == 0

    rows = read_rows(out / CSV_FILE)
    assert [r["model"] for r in rows] == list(MODELS)
    assert [r["run"] for r in rows] == [str(r) for r in runs]
    for row in rows:
        assert 5 < float(row["psnr"]) < 60 and 0 < float(row["ssim"]) <= 1
        assert float(row["colourfulness"]) >= 0 and int(row["params"]) > 1000
        assert float(row["img_per_s"]) > 0 and row["epochs"] == "1"
    assert len({r["params"] for r in rows}) == 3

    markdown = (out / MARKDOWN_FILE).read_text(encoding="utf-8")
    table = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert len(table) == 3 and all(f"| {m} |" in line for m, line in zip(MODELS, table))
    assert "gray, multipath, scgan, zhang, real" in markdown and str(data) in markdown
    assert "comparison.md" in capsys.readouterr().out

    grid = read_image(out / GRID_FILE)
    rows_shown = len(MODELS) + 2  # gray first, real last
    assert grid.shape == (rows_shown * (PREPARED_SIZE + GRID_PAD) + GRID_PAD,
                          LABEL_STRIP_WIDTH + TEST_IMAGES * (PREPARED_SIZE + GRID_PAD) + GRID_PAD, 3)
    cells = [grid[GRID_PAD + r * (PREPARED_SIZE + GRID_PAD):][:PREPARED_SIZE,
                  LABEL_STRIP_WIDTH + GRID_PAD:][:, :PREPARED_SIZE].astype(int) for r in range(rows_shown)]
    gray, real = cells[0], cells[-1]
    assert np.abs(gray[..., 0] - gray[..., 2]).max() <= 2  # the gray row has no colour
    assert np.abs(real[..., 0] - real[..., 2]).mean() > 5  # the real row has
    assert np.abs(grid[:, :LABEL_STRIP_WIDTH].astype(int) - 255).sum() > 0  # row names are written


def test_a_bad_run_is_named_and_left_out_while_the_others_are_compared(
    three_runs: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, runs = three_runs
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"this is not a checkpoint")
    missing = tmp_path / "no_such_run"
    out = tmp_path / "cmp"
    code = main(["compare", str(runs[1]), str(broken), str(missing), str(runs[2]), "--data", str(data),
                 "--out", str(out), "--device", "cpu"])
    assert code == 1
    err = capsys.readouterr().err
    assert f"left out {broken}: {broken}" in err
    assert f"left out {missing}: {missing}: file not found" in err
    assert "Traceback" not in err
    assert [r["model"] for r in read_rows(out / CSV_FILE)] == ["scgan", "zhang"]
    assert "Left out:" in (out / MARKDOWN_FILE).read_text(encoding="utf-8")
    assert (out / GRID_FILE).is_file()


def test_nothing_usable_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tmp_path / "nowhere"), "--out", str(tmp_path / "cmp")]) == 2
    err = capsys.readouterr().err
    assert "--data" in err and "Traceback" not in err
    assert not (tmp_path / "cmp").exists()


def test_the_starter_model_is_a_reference_row(three_runs: tuple[Path, list[Path]], tmp_path: Path) -> None:
    data, runs = three_runs
    out = tmp_path / "cmp"
    assert main(["compare", str(runs[0]), "starter", "--out", str(out), "--device", "cpu", "--n", "2"]) == 0
    rows = read_rows(out / CSV_FILE)
    assert [r["run"] for r in rows] == [str(runs[0]), "starter"]
    assert rows[1]["model"] == "multipath" and float(rows[1]["psnr"]) > 0
    assert rows[1]["psnr"] != rows[0]["psnr"]
    assert "starter" in (out / MARKDOWN_FILE).read_text(encoding="utf-8")


def test_a_model_file_inside_a_run_brings_its_runs_dataset_and_speed(
    three_runs: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    data, runs = three_runs
    out = tmp_path / "cmp"
    model_file = runs[1] / "model.safetensors"  # no --data: the dataset of the run it lies in
    assert main(["compare", str(model_file), "--out", str(out), "--device", "cpu", "--n", "2"]) == 0
    (row,) = read_rows(out / CSV_FILE)
    assert row["run"] == str(model_file) and row["model"] == "scgan"
    assert float(row["img_per_s"]) > 0  # from the run's metrics.csv
    assert str(data) in (out / MARKDOWN_FILE).read_text(encoding="utf-8")
