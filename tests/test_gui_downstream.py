"""The Downstream tab runs the real CIFAR-10 experiment on tiny synthetic CIFAR-format batch files
with a tiny real encoder, draws live curves and fills the Table 1 rows beside the paper's numbers."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest

from tests.gui_fixtures import gui_settings, isolated_qsettings, main_window, tiny_model_file  # noqa: F401 (fixtures)
from tests.helpers import write_cifar

RUN_TIMEOUT_MS = 180000


@pytest.fixture
def cifar_root(tmp_path: Path) -> Path:
    """A complete cifar-10-batches-py folder of real pickled batch files (100 images each)."""
    return write_cifar(tmp_path / "cifar")


@pytest.fixture
def tab(qtbot, gui_settings, tmp_path, cifar_root, tiny_model_file):  # noqa: F811 (fixtures)
    from app.tabs.downstream import DownstreamTab

    widget = DownstreamTab(gui_settings)
    qtbot.addWidget(widget)
    widget.set_cifar_folder(str(cifar_root), verify=False)
    widget.set_encoder(str(tiny_model_file))
    widget.set_output_dir(str(tmp_path / "downstream"))
    widget.set_sizes(train=200, val=50, test=100, seeds=2, epochs=2)
    yield widget
    widget.shutdown()


def tab_cifar_root(tmp_path: Path) -> Path:
    """The folder the `cifar_root` fixture wrote."""
    return tmp_path / "cifar"


def row_texts(tab, row: int) -> list[str]:
    return [tab.table.item(row, col).text() for col in range(tab.table.columnCount())]


def test_a_tiny_run_fills_its_table_row_and_exports(qtbot, tab, tmp_path):
    tab.set_configs(["1"])
    assert tab.table.rowCount() == 1
    assert row_texts(tab, 0)[6:] == ["62.98", "55.94", "56.47"]  # the paper's own numbers, before any run
    assert row_texts(tab, 0)[4] == ""
    progress: list[tuple[str, int, int]] = []
    tab.job_progress.connect(lambda name, done, total: progress.append((name, done, total)))
    assert tab.start()
    assert tab.is_busy() and not tab.run_button.isEnabled() and tab.stop_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    texts = row_texts(tab, 0)
    assert texts[0] == "frozen through block 1" and texts[1] == "2"
    runs = json.loads((tmp_path / "downstream" / "runs.json").read_text(encoding="utf-8"))["runs"]
    for split, cell in zip(("train", "val", "test"), texts[2:5]):  # mean ± sample std over the two seeds
        accuracies = [run[f"{split}_acc"] for run in runs if run["config"] == "1"]
        assert len(accuracies) == 2
        assert cell == f"{statistics.mean(accuracies):.2f} \u00b1 {statistics.stdev(accuracies):.2f}"
    assert len(tab.plot.listDataItems()) == 2  # one validation curve per seed
    assert all(len(item.xData) == 2 for item in tab.plot.listDataItems())  # two epochs each
    assert ("CIFAR-10 experiment", 4, 4) in progress and progress[-1] == ("", 0, 0)
    assert "finished" in tab.message_label.text()

    csv_path, md_path = tmp_path / "t1.csv", tmp_path / "t1.md"
    tab.export(str(csv_path), "csv")
    tab.export(str(md_path), "md")
    rows = list(csv.DictReader(csv_path.open()))
    assert [r["config"] for r in rows] == ["1"] and float(rows[0]["paper_test"]) == 56.47
    assert float(rows[0]["test_mean"]) == pytest.approx(float(texts[4].split(" \u00b1 ")[0]), abs=0.01)
    assert "| frozen through block 1 | 2 |" in md_path.read_text(encoding="utf-8")


def test_protocol_choice_sets_the_training_length_and_the_best_device_is_chosen(qtbot, tab):
    from colorcore.downstream.settings import PROTOCOLS

    def choose(name: str) -> None:
        index = tab.protocol_combo.findData(name)
        tab.protocol_combo.setCurrentIndex(index)
        tab.protocol_combo.activated.emit(index)

    tab.set_configs(["1"])
    assert tab.protocol_combo.currentData() == "custom"  # the fixture's 2 epochs
    choose("quick")
    assert (tab.epochs.value(), tab.patience.value()) == (PROTOCOLS["quick"]["epochs"], 0)
    assert tab.downstream_settings().protocol == "quick" and "not the paper" in tab.protocol_combo.currentText()
    choose("paper")
    assert (tab.epochs.value(), tab.patience.value()) == (PROTOCOLS["paper"]["epochs"], PROTOCOLS["paper"]["patience"])
    assert tab.downstream_settings().protocol == "paper"
    tab.patience.setValue(2)
    assert tab.protocol_combo.currentData() == "custom" and tab.downstream_settings().patience == 2
    tab.engine_ready()
    assert tab.device_combo.currentIndex() == 0 and tab.device_combo.itemData(tab.device_combo.count() - 1) == "cpu"


def test_stop_then_run_then_resume_from_the_same_folder(qtbot, tab):
    tab.set_configs(["1", "scratch"])
    tab.set_sizes(train=200, val=50, test=100, seeds=1, epochs=2)
    assert tab.start()
    tab.stop()  # before the first epoch ends
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    assert "stopped" in tab.message_label.text() and "resume" in tab.message_label.text()
    assert tab.result_rows() == []

    assert tab.start()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    first = [dict(r) for r in tab.result_rows()]
    assert [r["config"] for r in first] == ["1", "scratch"]
    assert row_texts(tab, 0)[5].startswith(("+", "-"))  # block 1 minus scratch, paired by seed
    assert len(tab.plot.listDataItems()) == 2

    assert tab.start()  # same folder and settings: both configurations come back without training
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    assert [r["test_mean"] for r in tab.result_rows()] == [r["test_mean"] for r in first]
    assert tab.plot.listDataItems() == []


def test_missing_cifar_and_bad_settings_give_messages_not_tracebacks(qtbot, tab, tmp_path):
    tab.set_configs([])
    assert not tab.start()
    assert "tick at least one configuration" in tab.message_label.text()
    tab.set_configs(["1"])
    tab.set_cifar_folder(str(tmp_path / "nowhere"), verify=False)
    assert tab.start()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    assert "CIFAR-10 not found" in tab.message_label.text()
    assert "nowhere" in tab.message_label.text()
    assert "tick \u201cDownload if missing\u201d" in tab.message_label.text()  # GUI words, not --download
    assert tab.run_button.isEnabled()
    tab.set_cifar_folder(str(tab_cifar_root(tmp_path)), verify=True)  # not the official files
    assert tab.start()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    assert "untick \u201cCheck official checksums\u201d" in tab.message_label.text()
    assert "--" not in tab.message_label.text()


def test_an_earlier_runs_results_come_back_in_a_new_tab(qtbot, tab, gui_settings):  # noqa: F811 (fixture)
    from app.tabs.downstream import DownstreamTab

    tab.set_configs(["2", "scratch"])
    tab.set_sizes(train=200, val=50, test=100, seeds=2, epochs=1)
    assert tab.start()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    shown = [row_texts(tab, row) for row in range(tab.table.rowCount())]

    again = DownstreamTab(gui_settings)  # the output folder is remembered: its results are shown
    qtbot.addWidget(again)
    assert [row_texts(again, row) for row in range(again.table.rowCount())] == shown
    assert again.selected_configs() == ("2", "scratch") and again.seeds.value() == 2
    assert not again.verify_check.isChecked()  # remembered: these are not the official files
    assert len(again.plot.listDataItems()) == 4  # two configurations x two seeds, from curves/*.csv
    assert not again.open_results(str(Path(tab.out_edit.text()).parent / "elsewhere"))
    assert "No experiment results" in again.message_label.text()


def test_progress_and_a_refused_start_tell_the_truth_in_the_window(qtbot, main_window, cifar_root,  # noqa: F811
                                                                   tiny_model_file, tmp_path):
    """Issue 15: the bar counts the epochs asked for and says how the run ended; a start the engine
    refuses (the Output folder holds other settings' results) keeps the table and curves shown and
    says what to do in the tab's words, cut short before the status bar's device label."""
    tab = main_window.downstream_tab
    main_window.tabs.setCurrentWidget(tab)
    tab.set_cifar_folder(str(cifar_root), verify=False)
    tab.set_encoder(str(tiny_model_file))
    tab.set_output_dir(str(tmp_path / "downstream"))
    tab.set_configs(["1"])
    tab.set_sizes(train=200, val=50, test=100, seeds=1, epochs=3)
    assert tab.start()
    assert not tab.settings_box.isEnabled()  # the run uses the settings it started with
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    bar = tab.progress_bar
    assert (bar.value(), bar.maximum(), bar.text()) == (3, 3, "3 / 3 epochs  finished")
    assert tab.settings_box.isEnabled()
    shown = row_texts(tab, 0)
    curves = [item.yData.tolist() for item in tab.plot.listDataItems()]
    assert shown[1] == "1" and len(curves) == 1 and len(curves[0]) == 3

    tab.set_sizes(train=200, val=50, test=100, seeds=1, epochs=2)  # other settings, same Output folder
    assert tab.start()
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=RUN_TIMEOUT_MS)
    message = tab.message_label.text()
    assert "holds results of different settings" in message and "choose another Output folder" in message
    assert "--" not in message
    assert row_texts(tab, 0) == shown  # the results shown before stay
    assert [item.yData.tolist() for item in tab.plot.listDataItems()] == curves
    assert bar.text() == "failed" and "starting" not in bar.text()

    status = main_window.statusBar()
    assert status.toolTip() == message  # the whole message, in the same words
    metrics, room = status.fontMetrics(), main_window.status_room()
    assert metrics.horizontalAdvance(message) > room  # long enough to need cutting
    assert metrics.horizontalAdvance(status.currentMessage()) <= room


def test_a_results_folder_opens_as_the_engine_reads_it(qtbot, gui_settings, tmp_path):  # noqa: F811 (fixture)
    """The tab is a view of `ResultsFolder`: the form takes the saved settings, the table the runs'
    rows in the engine's words, the plot each run's curve; a damaged file is named, not a traceback."""
    from app.tabs.downstream import DownstreamTab
    from colorcore.downstream.results import (CONFIG_JSON, RUNS_JSON, ExperimentConfig, RunRecord, RunsState,
                                              curves_csv, curves_path)
    from colorcore.downstream.settings import DownstreamSettings

    out = tmp_path / "results"
    out.mkdir()
    settings = DownstreamSettings(train_size=200, val_size=50, test_size=100, seeds=1, epochs=3, patience=0,
                                  configs=("3", "0"), input="rgb", image_size=64)
    runs = (RunRecord("3", 0, 61.0, 52.5, 50.25, 1.0, 1.1, 1.2, epochs=3, best_epoch=2),)
    (out / CONFIG_JSON).write_text(json.dumps(ExperimentConfig(
        settings, encoder={"path": "/models/paper.safetensors"},
        data={"cifar_folder": str(tmp_path / "cifar" / "cifar-10-batches-py")}).to_dict()), encoding="utf-8")
    (out / RUNS_JSON).write_text(json.dumps(RunsState({}, runs).to_dict()), encoding="utf-8")
    curve = curves_path(out, "3", 0)
    curve.parent.mkdir()
    curve.write_text(curves_csv([{"epoch": e, "train_loss": 1.0, "train_acc": 50.0, "val_loss": 1.0,
                                  "val_acc": 40.0 + e, "seconds": 1.0} for e in (1, 2, 3)]), encoding="utf-8")

    tab = DownstreamTab(gui_settings)
    qtbot.addWidget(tab)
    assert tab.open_results(str(out))
    assert tab.selected_configs() == ("3", "0") and tab.input_combo.currentText() == "rgb"
    assert (tab.seeds.value(), tab.epochs.value(), tab.size_combo.currentText()) == (1, 3, "64")
    assert tab.encoder_edit.text() == "/models/paper.safetensors" and tab.cifar_edit.text() == str(tmp_path / "cifar")
    assert row_texts(tab, 0)[1:5] == ["1", "61.00 (one seed)", "52.50 (one seed)", "50.25 (one seed)"]
    assert [item.yData.tolist() for item in tab.plot.listDataItems()] == [[41.0, 42.0, 43.0]]

    (out / RUNS_JSON).write_text('{"fingerprint": {}, "runs": [{"config": "3"}]}', encoding="utf-8")
    assert not tab.open_results(str(out))
    assert str(out / RUNS_JSON) in tab.message_label.text() and "lacks" in tab.message_label.text()
