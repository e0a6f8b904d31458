"""The Results tab on a real tiny prepared dataset with real tiny models: photo count, per-image
PSNR matching the metrics module, sorting, keyboard navigation, synchronised zoom, PNG export and
two runs compared on the same photo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from tests.helpers import PHOTO_FOLDER_SPECS, write_photo
from tests.gui_fixtures import gui_settings, isolated_qsettings  # noqa: F401 (fixtures)
from tests.helpers import save_tiny_model

TEST_FRACTION = 0.5
PREDICT_TIMEOUT_MS = 60000


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """The shared 8 test photos prepared at 64 px with half of them in the test split."""
    from colorcore.data.prepare import prepare

    photos = tmp_path / "photos"
    for relative, width, height, seed in PHOTO_FOLDER_SPECS:
        write_photo(photos / relative, width, height, seed)
    out = tmp_path / "prepared"
    prepare(photos, out, size=64, test_fraction=TEST_FRACTION, seed=0, workers=1)
    return out


@pytest.fixture
def tab(qtbot, gui_settings):  # noqa: F811 (fixture)
    from app.tabs.results import ResultsTab

    widget = ResultsTab(gui_settings)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    yield widget
    widget.shutdown()


def open_and_wait(qtbot, tab, dataset: Path, *models: Path) -> None:
    tab.open_dataset(str(dataset))
    for model in models:
        tab.open_run(str(model))
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=PREDICT_TIMEOUT_MS)


def table_psnr(tab) -> list[float]:
    return [float(tab.table.item(row, 2).text()) for row in range(tab.table.rowCount())]


def test_shows_every_test_photo_with_psnr_and_sorts_by_it(qtbot, tab, dataset, tmp_path):
    from colorcore.models.checkpoint import load_model
    from colorcore.data.prepared import load_prepared
    from colorcore.evaluation.metrics import psnr
    from colorcore.core.tensors import gray_input, to_uint8_images

    model_path = save_tiny_model(tmp_path / "a.safetensors", seed=1)
    open_and_wait(qtbot, tab, dataset, model_path)
    split = load_prepared(dataset).split("test")
    assert tab.photo_count() == len(split.rgb) == tab.table.rowCount() >= 4
    # the PSNR column is the real model's PSNR on each photo, in dataset order
    real = np.array(split.rgb)
    expected = psnr(to_uint8_images(load_model(model_path).predict(gray_input(torch.from_numpy(real)))["rgb"]), real)
    assert table_psnr(tab) == pytest.approx([round(v, 2) for v in expected.tolist()], abs=0.011)

    tab.set_sort("best")
    assert table_psnr(tab) == sorted(table_psnr(tab), reverse=True)
    assert tab.photo_order() == [int(i) for i in np.argsort(-expected.numpy(), kind="stable")]
    tab.set_sort("worst")
    assert table_psnr(tab) == sorted(table_psnr(tab))
    assert tab.photo_order()[0] == int(np.argmin(expected.numpy()))
    tab.set_sort("dataset")
    assert tab.photo_order() == list(range(tab.photo_count()))


def test_views_show_gray_fake_real_and_the_maps_the_model_predicts(qtbot, tab, dataset, tmp_path):
    from colorcore.data.prepared import load_prepared

    open_and_wait(qtbot, tab, dataset, save_tiny_model(tmp_path / "a.safetensors", seed=1))
    captions = {key: cell.caption.text() for key, cell in tab._cells.items()}  # noqa: SLF001
    assert captions[(0, 0)] == "gray (input)" and captions[(0, 1)].startswith("fake: a")
    assert captions[(0, 2)] == "real"
    # the multipath model predicts both maps: predicted and true saliency and edge below
    assert captions[(1, 1)] == "predicted saliency: a" and captions[(1, 2)] == "true saliency"
    assert captions[(2, 1)] == "predicted edge: a" and captions[(2, 2)] == "true edge"
    real = load_prepared(dataset).split("test").rgb[tab.current_photo()]
    shown = tab._cells[(0, 2)].view  # noqa: SLF001
    assert shown.has_image() and shown._image_shape == real.shape  # noqa: SLF001

    # zooming one view zooms and pans all of them
    views = [cell.view for cell in tab._cells.values()]  # noqa: SLF001
    views[0].set_zoom(6.0)
    views[0].horizontalScrollBar().setValue(views[0].horizontalScrollBar().maximum())
    assert all(v.zoom() == pytest.approx(6.0) for v in views)
    assert len({v.horizontalScrollBar().value() for v in views}) == 1


def test_keyboard_navigation(qtbot, tab, dataset, tmp_path):
    open_and_wait(qtbot, tab, dataset, save_tiny_model(tmp_path / "a.safetensors", seed=1))
    tab.activateWindow()
    tab.table.setFocus()
    qtbot.waitUntil(tab.table.hasFocus)
    order = tab.photo_order()
    qtbot.keyClick(tab.table, Qt.Key.Key_End)
    assert tab.current_photo() == order[-1]
    qtbot.keyClick(tab.table, Qt.Key.Key_Home)
    assert tab.current_photo() == order[0]
    qtbot.keyClick(tab.table, Qt.Key.Key_Right)
    assert tab.current_photo() == order[1]
    qtbot.keyClick(tab.table, Qt.Key.Key_Left)
    assert tab.current_photo() == order[0]


def test_two_runs_side_by_side_and_png_export(qtbot, tab, dataset, tmp_path):
    from PySide6.QtGui import QImage

    from app.tabs.results import CAPTION_HEIGHT, EXPORT_PAD, EXPORT_SCALE

    first = save_tiny_model(tmp_path / "a.safetensors", seed=1)
    second = save_tiny_model(tmp_path / "b.safetensors", seed=2)
    open_and_wait(qtbot, tab, dataset, first, second)
    assert [run.label for run in tab.runs()] == ["a", "b"]
    a, b = (run.predictions for run in tab.runs())
    assert a is not None and b is not None and not np.array_equal(a.fake, b.fake)
    headers = [tab.table.horizontalHeaderItem(c).text() for c in range(tab.table.columnCount())]
    assert headers == ["#", "Photo", "PSNR a", "SSIM a", "PSNR b", "SSIM b"]
    captions = {key: cell.caption.text() for key, cell in tab._cells.items()}  # noqa: SLF001
    assert captions[(0, 1)].startswith("fake: a") and captions[(0, 2)].startswith("fake: b")
    assert captions[(0, 3)] == "real"

    view_png, grid_png = tmp_path / "view.png", tmp_path / "grid.png"
    tab.export_view(str(view_png))
    tab.export_grid(str(grid_png), 3)
    view, grid = QImage(str(view_png)), QImage(str(grid_png))
    assert not view.isNull() and not grid.isNull()
    def size(cols: int, rows: int, tile: int) -> tuple[int, int]:
        return cols * (tile + EXPORT_PAD) + EXPORT_PAD, rows * (tile + CAPTION_HEIGHT + EXPORT_PAD) + EXPORT_PAD

    # the view: gray | a | b | real, with the saliency and edge rows below, 64 px tiles upscaled
    assert (view.width(), view.height()) == size(4, 3, 64 * EXPORT_SCALE)
    # the grid: three photos as rows of gray | a | b | real
    assert (grid.width(), grid.height()) == size(4, 3, 64 * (EXPORT_SCALE // 2))
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, no temp files left


def test_an_unusable_run_is_reported_and_the_others_still_show(qtbot, tab, dataset, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"not a model")
    good = save_tiny_model(tmp_path / "good.safetensors", seed=3)
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    open_and_wait(qtbot, tab, dataset, broken, good)
    assert "broken.safetensors" in tab.hint_label.text()
    assert any("broken.safetensors" in m for m in messages)
    assert tab.runs()[1].predictions is not None
    assert tab.table.rowCount() == tab.photo_count()


def test_dialogs_start_where_the_app_last_found_models_runs_and_datasets(qtbot, tab, dataset, tmp_path,
                                                                          gui_settings, monkeypatch):
    """The tab shares the app's remembered folders (app.tabs.last_folder) with the other tabs and File menu."""
    from PySide6.QtWidgets import QFileDialog

    from app.tabs import last_folder

    model = save_tiny_model(tmp_path / "models" / "tiny.safetensors", seed=0)
    run = tmp_path / "runs" / "run_a"
    run.mkdir(parents=True)
    open_and_wait(qtbot, tab, dataset, model)
    assert last_folder(gui_settings, "model") == str(model.parent)
    tab.open_run(str(run))
    assert last_folder(gui_settings, "run") == str(run.parent)

    started: dict[str, str] = {}

    def folder_dialog(parent, title, start):
        started[title] = start
        return str(dataset) if "dataset" in title else ""  # cancel the run dialog, choose the dataset

    def file_dialog(parent, title, start, filters):
        started[title] = start
        return "", ""

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(folder_dialog))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(file_dialog))
    tab._browse_run()
    tab._browse_run_folder()
    assert started["Open model or checkpoint"] == str(model.parent)
    assert started["Open run folder"] == str(run.parent)
    tab._browse_dataset()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=PREDICT_TIMEOUT_MS)
    assert last_folder(gui_settings, "dataset") == str(dataset.parent)


def test_the_starter_model_is_one_click_away_as_a_reference_row(qtbot, tab, dataset, tmp_path):
    from PySide6.QtWidgets import QPushButton

    from colorcore.models.settings import starter_model_path

    mine = save_tiny_model(tmp_path / "mine.safetensors", seed=4)
    open_and_wait(qtbot, tab, dataset, mine)
    button = next(b for b in tab.findChildren(QPushButton) if b.text() == "Add starter model")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=PREDICT_TIMEOUT_MS)
    assert [run.label for run in tab.runs()] == ["mine", "starter"]
    assert tab.runs()[1].path == str(starter_model_path().resolve())
    assert tab.runs()[1].predictions is not None  # scored on the same photos as the user's run
    headers = [tab.table.horizontalHeaderItem(c).text() for c in range(tab.table.columnCount())]
    assert "PSNR starter" in headers


def test_the_best_device_is_chosen_and_predictions_run_on_the_chosen_one(qtbot, tab, dataset, tmp_path):
    from app.devices import detected_devices
    from app.tabs.results import predict_split_job
    from colorcore.core.device import DeviceError
    from colorcore.core.events import StopFlag

    assert tab.device_combo.device() == "auto"  # before the engine lists the devices: the best one
    tab.engine_ready()
    names = [tab.device_combo.itemData(i) for i in range(tab.device_combo.count())]
    assert names == [name for name, _ in detected_devices()] and names[-1] == "cpu"
    assert tab.device_combo.currentIndex() == 0 and tab.device_combo.device() == names[0]
    model_path = str(save_tiny_model(tmp_path / "a.safetensors", seed=1))
    on_cpu = predict_split_job(model_path, str(dataset), "test", "cpu")([], StopFlag())
    if torch.cuda.is_available():
        on_gpu = predict_split_job(model_path, str(dataset), "test", "cuda")([], StopFlag())
        assert np.abs(on_gpu.metric("psnr") - on_cpu.metric("psnr")).max() < 0.5
    else:  # the device asked for is the one used: a GPU that is not there is refused
        with pytest.raises(DeviceError, match="CUDA is not available"):
            predict_split_job(model_path, str(dataset), "test", "cuda")([], StopFlag())
