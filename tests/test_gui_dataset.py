"""The Dataset tab, driven for real offscreen: live previews, preparing with a broken photo, and
opening a prepared dataset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from tests.gui_fixtures import *  # noqa: F401,F403

from app.main_window import MainWindow
from app.tabs.dataset import PREVIEW_PHOTOS
from colorcore.data.prepare import preview_samples

SETTLE_MS = 60000


def _settle(qtbot, tab) -> None:
    qtbot.waitUntil(lambda: not tab.has_pending_work(), timeout=SETTLE_MS)


def test_preview_shows_original_gray_canny_saliency_for_a_few_photos(qtbot, main_window: MainWindow, photo_folder: Path) -> None:
    tab = main_window.dataset_tab
    assert tab.set_source_folder(str(photo_folder))
    assert tab.output_edit.text() == str(photo_folder.parent / "photos_prepared")
    _settle(qtbot, tab)
    rows = tab.preview_rows
    assert len(rows) == PREVIEW_PHOTOS
    size = tab.size_spin.value()
    for _path, (rgb, gray, edges, saliency) in rows:
        assert rgb.shape == (size, size, 3) and gray.shape == edges.shape == saliency.shape == (size, size)
        assert set(np.unique(edges)) <= {0, 255} and saliency.max() == 255
    assert all(not label.pixmap().isNull() for label in tab.preview_labels[0])


def test_moving_settings_quickly_ends_with_the_preview_of_the_last_settings(qtbot, main_window: MainWindow, photo_folder: Path) -> None:
    tab = main_window.dataset_tab
    tab.set_source_folder(str(photo_folder))
    _settle(qtbot, tab)
    auto_edges = [row[1][2].copy() for row in tab.preview_rows]
    tab.canny_auto.setChecked(False)
    for value in range(0, 200, 10):  # many moves, most of them superseded before they finish
        tab.canny_high.setValue(250 - value // 4)
        tab.canny_low.setValue(value)
        qtbot.wait(5)
    tab.size_spin.setValue(96)
    _settle(qtbot, tab)
    photos = [(path, tab._decoded[path]) for path, _ in tab.preview_rows]
    expected = preview_samples(photos, 96, (190, 250 - 190 // 4), tab.saliency_combo.currentText())
    assert tab.canny_thresholds() == (190, 250 - 190 // 4)
    for (_, shown), (_, wanted) in zip(tab.preview_rows, expected):
        for shown_tile, wanted_tile in zip(shown, wanted):
            np.testing.assert_array_equal(shown_tile, wanted_tile)
    assert any(a.shape != b.shape or (a != b).any() for a, b in zip(auto_edges, (r[1][2] for r in tab.preview_rows)))


def test_preparing_a_folder_with_a_broken_photo_lists_it_as_skipped(qtbot, main_window: MainWindow, photo_folder: Path, tmp_path: Path, monkeypatch) -> None:
    from colorcore.data.prepared import load_prepared

    broken = photo_folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG" + bytes(40))
    tab = main_window.dataset_tab
    tab.set_source_folder(str(photo_folder))
    out = tmp_path / "prepared"
    tab.output_edit.setText(str(out))
    with qtbot.waitSignal(tab.dataset_prepared, timeout=120000) as prepared:
        assert tab.start_prepare()
        assert tab.is_busy() and main_window.busy_tabs() == ["Dataset"]
    assert prepared.args == [str(out)]
    assert not tab.is_busy()
    entries = tab.skipped_entries()
    assert len(entries) == 1 and Path(entries[0][0]).name == "broken.jpg"
    assert entries[0][1].startswith("broken.jpg: ") and len(entries[0][1]) > len("broken.jpg: ")
    manifest = load_prepared(out).manifest
    assert manifest.splits["train"] + manifest.splits["test"] == 8
    assert "1 skipped" in tab.summary_label.text()
    assert f"{manifest.splits['train']} train" in tab.summary_label.text()
    # the Training tab is pointed at the new dataset
    assert main_window.training_tab.dataset_edit.text() == str(out)

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    tab.skipped_list.itemDoubleClicked.emit(tab.skipped_list.item(0))
    assert opened and Path(opened[0].toLocalFile()) == photo_folder

    # no file manager on this system (none on PATH; the offscreen platform opens nothing either): said so
    monkeypatch.undo()
    no_programs = tmp_path / "no_programs"
    no_programs.mkdir()
    monkeypatch.setenv("PATH", str(no_programs))
    tab.skipped_list.itemDoubleClicked.emit(tab.skipped_list.item(0))
    said = main_window.statusBar().toolTip()
    assert said == f"No file manager could be opened on this system; the file is {broken}"
    assert main_window.statusBar().currentMessage()


def test_open_prepared_dataset_shows_its_summary_and_settings(qtbot, main_window: MainWindow, prepared_dataset: Path, photo_folder: Path) -> None:
    tab = main_window.dataset_tab
    tab.size_spin.setValue(128)
    tab.saliency_combo.setCurrentText("fine")
    main_window.open_dataset(str(prepared_dataset))
    text = tab.summary_label.text()
    assert "6 train, 2 test" in text and "64 px" in text and "0 skipped" in text and "auto" in text
    assert tab.skipped_entries() == []
    assert (tab.size_spin.value(), tab.saliency_combo.currentText()) == (64, "spectral")
    assert tab.output_edit.text() == str(prepared_dataset)
    assert Path(tab.source_edit.text()) == photo_folder.resolve()
    _settle(qtbot, tab)
    assert len(tab.preview_rows) == PREVIEW_PHOTOS


@pytest.mark.filterwarnings("ignore:Function.*QDragEnterEvent:DeprecationWarning")  # Qt has no QPointF form
def test_dropping_a_folder_on_the_tab_makes_it_the_photo_folder(qtbot, main_window: MainWindow, photo_folder: Path) -> None:
    from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    tab = main_window.dataset_tab
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo_folder))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tab, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(tab, drop)
    assert tab.source_edit.text() == str(photo_folder)
    assert main_window.tabs.currentWidget() is tab  # a folder for the dataset is not sent to Colourise
    _settle(qtbot, tab)
    assert len(tab.preview_rows) == PREVIEW_PHOTOS


def test_crops_per_photo_reach_the_dataset_split_by_photo(qtbot, main_window: MainWindow, photo_folder: Path,
                                                          tmp_path: Path) -> None:
    from colorcore.data.prepared import load_prepared

    tab = main_window.dataset_tab
    tab.set_source_folder(str(photo_folder))
    tab.crops_spin.setValue(3)
    out = tmp_path / "cropped"
    tab.output_edit.setText(str(out))
    with qtbot.waitSignal(tab.dataset_prepared, timeout=120000):
        assert tab.start_prepare()
    manifest = load_prepared(out).manifest
    assert manifest.crops_per_photo == 3
    photos = len(manifest.photos["train"]) + len(manifest.photos["test"])
    assert manifest.splits["train"] + manifest.splits["test"] == 4 * photos
    assert not set(manifest.photos["train"]) & set(manifest.photos["test"])


def test_replacing_is_offered_only_for_a_folder_that_holds_a_prepared_dataset(
    qtbot, main_window: MainWindow, photo_folder: Path, prepared_dataset: Path, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *args, **kwargs: asked.append(args[2]) or QMessageBox.StandardButton.No)
    tab = main_window.dataset_tab
    tab.set_source_folder(str(photo_folder))
    tab.output_edit.setText(str(prepared_dataset))
    assert not tab.start_prepare()  # "No": the prepared dataset is kept
    assert len(asked) == 1 and "already holds a prepared dataset" in asked[0] and not tab.is_busy()

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "manifest.json").write_text("{half a manifest", encoding="utf-8")
    tab.output_edit.setText(str(damaged))
    assert tab.start_prepare()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=SETTLE_MS)
    assert len(asked) == 1  # never asked to replace what is no prepared dataset ...
    assert "is not a prepared dataset" in tab.summary_label.text()  # ... the engine says why it is left alone
    assert (damaged / "manifest.json").read_text(encoding="utf-8") == "{half a manifest"


def test_preparing_onto_a_disk_too_small_shows_one_dialog_naming_the_lack_of_space(
        qtbot, main_window: MainWindow, photo_folder: Path, small_disk: Path) -> None:
    from PySide6.QtWidgets import QMessageBox

    tab = main_window.dataset_tab
    tab.set_source_folder(str(photo_folder))
    tab.size_spin.setValue(256)  # 8 photos x 256 px x 5 bytes, twice: about 5 MB for a 3 MB disk
    tab.output_edit.setText(str(small_disk / "prepared"))
    assert tab.start_prepare()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=120000)
    boxes = [box for box in tab.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1 and "not enough free disk space" in boxes[0].text()
    assert list(small_disk.iterdir()) == []  # no partial folder left


@pytest.mark.parametrize("module", ["app.tabs.dataset", "app.tabs.downstream", "colorcore.data.settings",
                                    "colorcore.data.prepared", "colorcore.downstream.settings",
                                    "colorcore.downstream.results", "colorcore.downstream.tables"])
def test_the_tabs_and_the_settings_they_read_import_neither_torch_nor_cv2(module: str) -> None:
    """The Dataset and Downstream tabs read the engine's choices and formats before the engine is loaded."""
    script = (f"import importlib, json, sys\nimportlib.import_module({module!r})\n"
              "print(json.dumps(sorted(m for m in ('torch', 'cv2') if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
