"""The engine's errors say which option to change as data (`colorcore.core.advice`); the command line words
it in flags, the GUI in its controls' labels, and no front end rewrites the engine's text (issue 28)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.gui_fixtures import *  # noqa: F401,F403

from app.main_window import MainWindow
from app.tabs import DOWNSTREAM_WORDS, GUI_WORDS, error_text
from app.tabs.dataset import failure_event
from colorcore.cli import CLI_WORDS, main, with_advice
from colorcore.core.advice import GIVE, OFF, ON, OTHER, Advice, advice_of
from colorcore.data.prepare import prepare
from colorcore.data.prepared import DatasetError, load_prepared
from colorcore.downstream.cifar import CifarError, load_cifar10
from colorcore.downstream.results import RUNS_JSON, RunsState
from colorcore.downstream.settings import DownstreamError

APP = Path(__file__).resolve().parents[1] / "app"
REWRITING_NAMES = {"gui_words", "CLI_TO_GUI", "FLAG_NAMES", "FLAG"}
# the views, which show the engine's messages (the GUI's own command line, app/main.py and
# app/selftest.py, may name its flags)
VIEWS = (APP / "main_window.py", *sorted((APP / "tabs").rglob("*.py")))


def test_preparing_onto_a_prepared_dataset_names_the_flag_in_the_cli_and_the_answer_in_the_gui(
        qtbot, main_window: MainWindow, photo_folder: Path, prepared_dataset: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from PySide6.QtWidgets import QMessageBox

    size = load_prepared(prepared_dataset).size
    assert main(["prepare", str(photo_folder), str(prepared_dataset), "--size", str(size // 2), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "already holds a prepared dataset (add --overwrite)" in err
    with pytest.raises(DatasetError) as info:
        prepare(photo_folder, prepared_dataset, size=size // 2, workers=1)
    assert "--" not in str(info.value) and advice_of(info.value) == (Advice("overwrite", ON),)

    tab = main_window.dataset_tab  # the dataset appeared after Prepare was pressed: the engine refuses
    tab._on_error(failure_event(info.value))
    boxes = [box for box in tab.findChildren(QMessageBox) if box.isVisible()]
    assert len(boxes) == 1 and "already holds a prepared dataset" in boxes[0].text()
    assert boxes[0].informativeText() == "press Prepare again and confirm replacing it"
    assert load_prepared(prepared_dataset).size == size  # nothing replaced


def test_missing_cifar_names_download_in_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["downstream", "--cifar-root", str(tmp_path / "empty"), "--encoder", str(tmp_path / "nope.pt"),
                 "--device", "cpu", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "CIFAR-10 not found" in err and err.rstrip().endswith("(add --download)")
    with pytest.raises(CifarError) as info:
        load_cifar10(tmp_path / "empty")
    assert "--" not in str(info.value)
    assert error_text(info.value).endswith("(tick \u201cDownload if missing\u201d)")


def test_a_damaged_state_file_advises_another_output_folder(tmp_path: Path) -> None:
    runs = tmp_path / RUNS_JSON
    runs.write_text("{half", encoding="utf-8")
    with pytest.raises(DownstreamError) as info:
        RunsState.load(runs)
    assert "--" not in str(info.value)
    assert with_advice(str(info.value), advice_of(info.value)).endswith("(use another --out, or add --overwrite)")
    # the Downstream tab never replaces results: the Output folder is its one way out
    assert error_text(info.value, DOWNSTREAM_WORDS).endswith(
        "delete it (choose another Output folder; the results in this one stay as they are)")


@pytest.mark.parametrize("advice, cli, gui", [
    (Advice("overwrite", ON), "add --overwrite", ""),
    (Advice("out", OTHER), "use another --out", "choose another Output folder"),
    (Advice("download", ON), "add --download", "tick \u201cDownload if missing\u201d"),
    (Advice("verify", OFF), "pass --no-verify", "untick \u201cCheck official checksums\u201d"),
    (Advice("data", GIVE), "pass --data DATA", "choose the Dataset"),
])
def test_each_front_end_words_the_engine_advice_its_own_way(advice: Advice, cli: str, gui: str) -> None:
    assert CLI_WORDS.phrase(advice) == cli
    assert GUI_WORDS.phrase(advice) == gui


def test_the_app_rewrites_no_engine_text() -> None:
    """No phrase tables or flag matching left in app/, no flag in a view: the GUI words the engine's advice,
    never rewrites its text."""
    found = []
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node, "id", None) or getattr(node, "name", None) or getattr(node, "attr", None)
            if name in REWRITING_NAMES:
                found.append(f"{path.relative_to(APP)}:{node.lineno} {name}")
            if (path in VIEWS and isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and "colorcore " not in node.value  # a command the user is told to type in a terminal
                    and "--" in node.value and node.value.split("--", 1)[1][:1].isalpha()):
                found.append(f"{path.relative_to(APP)}:{node.lineno} flag {node.value[:40]!r}")
    assert found == []
