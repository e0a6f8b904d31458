"""The Colourise tab's colour tools in the real main window, with the bundled starter model: a hint
clicked on the result colours its region and leaves the other alone, undo/redo, saturation, Apply
writes the result and its hints which come back when the photo is opened again, and bad files
(reference photo, hints file) are named in the tab's message."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QPointF, Qt

from colorcore.inference.hints import Hints

from tests.gui_fixtures import gui_settings, isolated_qsettings, window  # noqa: F401 (fixtures)

TIMEOUT_MS = 120000
BLUE = "#2050c0"
W, H = 200, 120  # the test photo: a dark left half and a light right half, split at x = 100


def two_regions(path: Path, seed: int = 0) -> Path:
    """A gray PNG photo with two regions split by a strong luminance edge (a little noise on both)."""
    rng = np.random.default_rng(seed)
    gray = np.where(np.arange(W)[None, :] < W // 2, 70.0, 190.0) + rng.normal(0, 2, (H, W))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.clip(gray, 0, 255).astype(np.uint8))
    return path


def ab(image: np.ndarray) -> np.ndarray:
    """Lab (a, b) of an RGB uint8 image, float."""
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[:, :, 1:]


def hue_degrees(a: float, b: float) -> float:
    return float(np.degrees(np.arctan2(b, a)))


def hue_gap(first: float, second: float) -> float:
    return abs((first - second + 180.0) % 360.0 - 180.0)


LEFT = (slice(20, H - 20), slice(10, 80))  # inside the dark region, away from the edge
RIGHT = (slice(20, H - 20), slice(125, W - 10))  # inside the light region


def colourised(qtbot, window, tmp_path: Path, name: str = "photo.png"):
    """Queue the two-region photo, wait until it is colourised and shown with the colour tools open."""
    tab = window.colorize_tab
    window.tabs.setCurrentWidget(tab)
    tab.set_output_dir(str(tmp_path / "out"))
    assert tab.add_paths([str(two_regions(tmp_path / "in" / name))]) == 1
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.colour_tools.open_key() is not None, timeout=TIMEOUT_MS)
    assert tab.items()[0].status == "Done"
    return tab, tab.colour_tools


def wait_preview(qtbot, tools) -> np.ndarray:
    qtbot.waitUntil(lambda: not tools.preview_pending(), timeout=TIMEOUT_MS)
    return tools.view.after_image().copy()


def click(qtbot, view, x: float, y: float) -> None:
    """A real left click on the view at (x, y) relative to the photo."""
    rect = view.sceneRect()
    pos = view.mapFromScene(QPointF(rect.width() * x, rect.height() * y))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def drag(qtbot, view, points: list[tuple[float, float]]) -> None:
    """A real left-button drag through `points` (relative to the photo)."""
    rect = view.sceneRect()
    pos = [view.mapFromScene(QPointF(rect.width() * x, rect.height() * y)) for x, y in points]
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=pos[0])
    for p in pos[1:]:
        qtbot.mouseMove(view.viewport(), p)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=pos[-1])


def test_a_click_colours_its_region_only_and_undo_redo_and_saturation_work(qtbot, window, tmp_path):
    tab, tools = colourised(qtbot, window, tmp_path)
    view = tab.view
    model_only = view.after_image().copy()
    assert model_only.shape[:2] == (H, W)
    assert not tools.paint_action.isChecked() and not tools.undo_action.isEnabled()

    tools.paint_action.setChecked(True)
    tools.set_colour(BLUE)
    click(qtbot, view, 0.25, 0.5)
    assert tools.preview_pending()
    one_hint = wait_preview(qtbot, tools)
    assert [(round(p.x, 2), round(p.y, 2), p.color) for p in tools.state().hints.points] == [(0.25, 0.5, BLUE)]
    blue_ab = ab(np.array([[[0x20, 0x50, 0xC0]]], np.uint8))[0, 0]
    left = ab(one_hint)[LEFT].reshape(-1, 2).mean(axis=0)
    before = ab(model_only)[LEFT].reshape(-1, 2).mean(axis=0)
    assert hue_gap(hue_degrees(*left), hue_degrees(*blue_ab)) < 10, (left, before)
    assert np.hypot(*left) > np.hypot(*before) + 10  # clearly bluer, not only a hue turn of a gray
    far = np.abs(one_hint[RIGHT].astype(int) - model_only[RIGHT].astype(int))
    assert far.max() <= 2 and far.mean() < 0.5  # the other side of the edge keeps the model's colours

    tools.set_colour("#30a040")
    drag(qtbot, view, [(0.1, 0.8), (0.2, 0.82), (0.3, 0.85)])  # a stroke: a second change
    two_hints = wait_preview(qtbot, tools)
    assert len(tools.state().hints.strokes) == 1 and len(tools.state().hints.strokes[0].points) >= 2
    assert not np.array_equal(two_hints, one_hint)

    window.activateWindow()  # shortcuts reach the active window only
    qtbot.waitUntil(window.isActiveWindow)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo: the stroke goes
    assert not tools.state().hints.strokes
    assert np.array_equal(wait_preview(qtbot, tools), one_hint)
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(wait_preview(qtbot, tools), two_hints)

    tools.saturation_slider.setValue(0)  # live preview: gray
    gray = wait_preview(qtbot, tools)
    assert tools.saturation_label.text() == "0.00"
    assert np.array_equal(gray[:, :, 0], gray[:, :, 1]) and np.array_equal(gray[:, :, 1], gray[:, :, 2])
    tools.undo()
    assert tools.state().saturation == 1.0 and tools.saturation_slider.value() == 100
    assert np.array_equal(wait_preview(qtbot, tools), two_hints)

    tools.clear_action.trigger()
    assert not tools.state().hints
    cleared = wait_preview(qtbot, tools)
    assert np.abs(cleared.astype(int) - model_only.astype(int)).max() <= 2  # the model's colours again

    tools.eyedropper_action.setChecked(True)  # the eyedropper takes the shown result's colour
    assert not tools.paint_action.isChecked()
    click(qtbot, view, 0.8, 0.5)
    x, y = int(0.8 * W), H // 2  # the pixel under the click, give or take the view's rounding
    around = {"#" + "".join(f"{int(v):02x}" for v in pixel) for pixel in cleared[y - 2:y + 3, x - 2:x + 3].reshape(-1, 3)}
    assert tools.colour() in around
    assert tools.paint_action.isChecked() and len(tools.state().hints.points) == 0  # back to painting


def test_rapid_changes_render_only_the_latest_preview(qtbot, window, tmp_path):
    tab, tools = colourised(qtbot, window, tmp_path)
    rendered = []
    for value in range(96, -1, -4):  # a quick slider drag: 25 changes, one undo step
        tools.saturation_slider.setValue(value)
        if value == 96:  # the first change started the photo's editor thread
            tools._session.preview.connect(lambda preview: rendered.append(preview.state.saturation))  # noqa: SLF001
    final = wait_preview(qtbot, tools)
    assert rendered[-1] == 0.0 and len(rendered) < 10, rendered
    assert np.array_equal(final[:, :, 0], final[:, :, 2])
    tools.undo()
    assert tools.state().saturation == 1.0 and not tools.undo_action.isEnabled()


def test_edit_requests_keep_tasks_in_order_and_only_the_latest_preview():
    from app.colour_edit import EditRequests, EditState, ReferenceRequest

    requests = EditRequests()
    states = [EditState(saturation=s) for s in (0.5, 0.7, 0.9)]
    requests.preview(states[0])
    requests.task(ReferenceRequest(Path("a.jpg")))
    requests.preview(states[1])
    requests.preview(states[2])
    requests.task(ReferenceRequest(Path("b.jpg")))
    assert [requests.take() for _ in range(3)] == [ReferenceRequest(Path("a.jpg")), ReferenceRequest(Path("b.jpg")),
                                                   states[2]]
    requests.preview(states[0])
    requests.task(ReferenceRequest(Path("c.jpg")))
    requests.close()  # waiting tasks still run, the waiting preview is dropped
    assert requests.take() == ReferenceRequest(Path("c.jpg")) and requests.take() is None


def test_apply_writes_the_result_and_its_hints_which_come_back_when_reopened(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from colorcore.inference.hints import load_hints
    from colorcore.data.imageio import read_image

    tab, tools = colourised(qtbot, window, tmp_path)
    out = tab.items()[0].out_path
    model_only = read_image(out)
    tools.paint_action.setChecked(True)
    tools.set_colour(BLUE)
    click(qtbot, tab.view, 0.25, 0.5)
    wait_preview(qtbot, tools)
    assert tools.apply_action.isEnabled()
    tools.apply_action.trigger()
    qtbot.waitUntil(lambda: not tools.saving(), timeout=TIMEOUT_MS)
    hints_file = out.with_name("photo_colour.hints.json")
    assert hints_file.is_file() and str(out) in tab.message_label.text()
    assert load_hints(hints_file) == tools.state().hints
    applied = read_image(out)
    assert hue_gap(hue_degrees(*ab(applied)[LEFT].reshape(-1, 2).mean(axis=0)), hue_degrees(*ab(
        np.array([[[0x20, 0x50, 0xC0]]], np.uint8))[0, 0])) < 10
    assert np.abs(applied[RIGHT].astype(int) - model_only[RIGHT].astype(int)).max() <= 2
    assert not tools.apply_action.isEnabled()  # nothing left to apply

    tools.clear_action.trigger()  # Save... with edits not applied: applied first, then copied with its hints
    wait_preview(qtbot, tools)
    copy = tmp_path / "elsewhere" / "mine.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *args: (str(copy), "")))
    tab.save_button.click()
    qtbot.waitUntil(lambda: copy.is_file() and not tools.saving(), timeout=TIMEOUT_MS)
    assert not load_hints(copy.with_name("mine.hints.json")) and not load_hints(hints_file)
    assert np.array_equal(read_image(copy), read_image(out))
    assert np.abs(read_image(out).astype(int) - model_only.astype(int)).max() <= 2
    tools.undo()  # the blue point again, applied, for the reopening below
    tools.apply()
    qtbot.waitUntil(lambda: not tools.saving(), timeout=TIMEOUT_MS)

    tab.clear_finished()  # the photo opened again: its earlier result's hints are used and editable
    assert tab.add_paths([str(tmp_path / "in" / "photo.png")]) == 1
    assert "colour hints" in tab.message_label.text()
    qtbot.waitUntil(lambda: not tab.is_busy() and tools.open_key() is not None, timeout=TIMEOUT_MS)
    again = tab.items()[0]
    assert again.status == "Done" and again.out_path.name == "photo_colour_2.png"
    assert tools.state().hints == load_hints(hints_file)
    assert load_hints(again.out_path.with_name("photo_colour_2.hints.json")) == load_hints(hints_file)
    assert np.abs(read_image(again.out_path).astype(int) - applied.astype(int)).max() <= 2
    assert tools.clear_action.isEnabled() and not tools.apply_action.isEnabled()


def test_a_broken_reference_photo_and_a_broken_hints_file_are_named(qtbot, window, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cv2.imwrite(str(out_dir / "photo_colour.png"), np.zeros((H, W, 3), np.uint8))  # an earlier result
    (out_dir / "photo_colour.hints.json").write_text('{"points": [{"x": 2, "y": 0.5, "color": "#2050c0"}]}')
    tab, tools = colourised(qtbot, window, tmp_path)
    assert "photo_colour.hints.json" in tab.message_label.text()  # said when it was queued
    assert tab.items()[0].edits is None and tab.items()[0].out_path.name == "photo_colour_2.png"
    assert not tools.state().hints

    bad = tmp_path / "bad_reference.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a photo at all" + bytes(40))
    tools.set_reference(bad)
    qtbot.waitUntil(lambda: "Cannot use the reference photo" in tab.message_label.text(), timeout=TIMEOUT_MS)
    assert "bad_reference.jpg" in tab.message_label.text()
    assert tools.state().reference is None and not tools.undo_action.isEnabled()

    good = tmp_path / "warm.png"
    cv2.imwrite(str(good), np.full((40, 40, 3), (40, 120, 230), np.uint8))  # BGR: an orange photo
    tools.set_reference(good)
    qtbot.waitUntil(lambda: tools.state().reference is not None, timeout=TIMEOUT_MS)
    assert tools.reference_action.text() == "Reference: warm.png" and tools.no_reference_action.isEnabled()
    warm = wait_preview(qtbot, tools)
    a, b = ab(warm).reshape(-1, 2).mean(axis=0)
    assert a > 5 and b > 5  # moved towards the reference's orange


def test_apply_on_a_video_colours_the_whole_clip_again_as_a_new_file(qtbot, window, tmp_path):
    """A finished video's previewed frame takes the saturation and hints; Apply colours the whole clip
    again with them into a new file (the first one untouched) with its own row, progress and hints."""
    from colorcore.inference.hints import hints_path_for, load_hints
    from tests.video_clips import camera_clip, read_frames, write_clip

    tab, tools = window.colorize_tab, window.colorize_tab.colour_tools
    window.tabs.setCurrentWidget(tab)
    out_dir = tmp_path / "out"
    tab.set_output_dir(str(out_dir))
    (tmp_path / "in").mkdir()
    source = write_clip(tmp_path / "in" / "clip.mp4", camera_clip().frames[:12])
    assert tab.add_paths([str(source)]) == 1
    qtbot.waitUntil(lambda: not tab.is_busy() and tools.open_key() is not None, timeout=TIMEOUT_MS)
    first = tab.items()[0]
    assert first.status == "Done" and tools.open_key() == first.out_path
    written = first.out_path.read_bytes()
    assert tools.saturation_slider.isEnabled() and not tools.apply_action.isEnabled()

    tools.set_colour(BLUE)
    tools.add_point(0.25, 0.5)
    tools.set_saturation(0.0)
    frame = wait_preview(qtbot, tools)
    assert frame.shape[:2] == (120, 160) and np.array_equal(frame[:, :, 0], frame[:, :, 2])  # the frame, gray
    assert tools.apply_action.isEnabled()
    tools.apply_action.trigger()
    assert len(tab.items()) == 2 and not tools.apply_action.isEnabled()
    qtbot.waitUntil(lambda: not tab.is_busy() and tab.items()[1].status not in ("Queued", "Colourising..."),
                    timeout=TIMEOUT_MS)
    again = tab.items()[1]
    assert again.status == "Done" and again.out_path == out_dir / "clip_colour_2.mp4", again.message
    assert again.frames_total == 12 and tab.table.cellWidget(1, 2).value() == 1
    assert first.out_path.read_bytes() == written  # never over the existing output
    assert load_hints(hints_path_for(again.out_path)) == tools.history().current.hints == again.controls.hints
    chroma = [np.hypot(*ab(f).reshape(-1, 2).T).mean() for f in read_frames(again.out_path)]
    before = [np.hypot(*ab(f).reshape(-1, 2).T).mean() for f in read_frames(first.out_path)]
    assert len(chroma) == 12 and max(chroma) < 1.0 and np.mean(before) > 3.0  # gray now, coloured before
    assert sorted(p.name for p in out_dir.iterdir()) == ["clip_colour.mp4", "clip_colour_2.hints.json",
                                                         "clip_colour_2.mp4"]


def test_quit_asks_before_unapplied_hints_are_lost_and_the_split_comes_back_after_hints(
        qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    tab, tools = colourised(qtbot, window, tmp_path)
    assert tab.table.item(0, 3).text() == "Starter model (bundled)"  # which model made the row
    tab.view.set_split(0.4)
    tools.paint_action.setChecked(True)
    assert tab.view.split() == 0.0  # the whole result while painting
    tools.set_colour(BLUE)
    click(qtbot, tab.view, 0.25, 0.5)
    wait_preview(qtbot, tools)
    tools.paint_action.setChecked(False)
    assert tab.view.split() == 0.4  # the before/after split where it was

    answers = [QMessageBox.StandardButton.No]
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kwargs: asked.append(args[2]) or answers.pop(0))
    window.quit_action.trigger()  # Ctrl+Q
    assert window.isVisible() and len(asked) == 1
    assert "not applied to photo_colour.png" in asked[0] and "checkpoint" not in asked[0]
    assert tools.state().hints  # "No": nothing lost
    tools.apply()
    qtbot.waitUntil(lambda: not tools.saving(), timeout=TIMEOUT_MS)
    assert window.quit_question() == ""  # applied: nothing to ask


def test_reference_dialog_starts_where_the_photo_or_the_last_reference_is(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    tab, tools = colourised(qtbot, window, tmp_path)
    references = tmp_path / "references"
    references.mkdir()
    chosen = references / "warm.png"
    cv2.imwrite(str(chosen), np.full((40, 40, 3), (40, 120, 230), np.uint8))
    starts = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda parent, title, start, *rest: starts.append(start) or (str(chosen), "")))
    tools.reference_action.trigger()
    qtbot.waitUntil(lambda: tools.state().reference is not None, timeout=TIMEOUT_MS)
    tools.clear_reference()
    tools.reference_action.trigger()
    assert starts == [str(tmp_path / "in"), str(references)]  # the photo's folder, then the last one used


def test_add_run_folder_starts_in_the_last_folder_used(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    runs = tmp_path / "runs"
    (runs / "not_a_run").mkdir(parents=True)
    starts = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda parent, title, start, *rest: starts.append(start) or str(runs / "not_a_run")))
    window.results_tab._browse_run_folder()
    window.results_tab._browse_run_folder()
    assert starts[1] == str(runs)


def test_a_video_moves_the_status_bar_and_the_quit_prompt_names_it(qtbot, window, tmp_path, monkeypatch):
    from tests.video_clips import camera_clip, write_clip

    tab = window.colorize_tab
    window.tabs.setCurrentWidget(tab)
    tab.set_output_dir(str(tmp_path / "out"))
    (tmp_path / "in").mkdir()
    source = write_clip(tmp_path / "in" / "clip.mp4", camera_clip().frames[:40])
    seen, questions = [], []
    tab.job_progress.connect(lambda name, done, total: seen.append((name, done, total)))
    tab._on_frame = lambda event, frame=tab._on_frame: (frame(event), questions.append(window.quit_question()))
    assert tab.add_paths([str(source)]) == 1
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=TIMEOUT_MS)
    assert tab.items()[0].status == "Done"
    moving = [done / total for name, done, total in seen if name and total and 0 < done < total]
    assert moving and window.job_progress_bar.maximum() >= 0  # the frames moved the job's progress
    assert questions and "The video clip.mp4 stops at frame" in questions[0] and "checkpoint" not in questions[0]


def test_the_reference_and_saturation_are_saved_with_the_hints_and_come_back_when_requeued(qtbot, window, tmp_path):
    """An earlier result's hints file with a reference photo (global mode: its mean and spread) and a
    saturation: queuing the photo again colours it with all three, the colour tools open with them (the
    reference read again, no undo step, nothing to apply), and Apply after a change writes them back."""
    from colorcore.inference.hints import PointHint, SavedEdits, load_edits, save_edits
    from colorcore.data.imageio import read_image

    warm = tmp_path / "refs" / "warm.png"
    warm.parent.mkdir()
    cv2.imwrite(str(warm), np.full((40, 40, 3), (40, 120, 230), np.uint8))  # BGR: an orange photo
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cv2.imwrite(str(out_dir / "photo_colour.png"), np.zeros((H, W, 3), np.uint8))  # an earlier result
    saved = SavedEdits(Hints((PointHint(0.25, 0.5, BLUE),)), (str(warm),), "global", 1.5)
    save_edits(out_dir / "photo_colour.hints.json", saved)

    tab, tools = colourised(qtbot, window, tmp_path)
    item = tab.items()[0]
    assert item.edits == saved and item.out_path.name == "photo_colour_2.png"
    result = read_image(item.out_path)
    a, b = ab(result)[RIGHT].reshape(-1, 2).mean(axis=0)
    assert a > 5 and b > 10  # the right half (no hint reaches it) takes the reference's orange
    assert load_edits(out_dir / "photo_colour_2.hints.json") == saved  # written with the new result

    qtbot.waitUntil(lambda: tools.state().reference is not None, timeout=TIMEOUT_MS)
    state = tools.state()
    assert state.hints == saved.hints and state.saturation == 1.5 and tools.saturation_label.text() == "1.50"
    assert tools.reference_action.text() == "Reference: warm.png" and tools.no_reference_action.isEnabled()
    assert not tools.undo_action.isEnabled() and not tools.apply_action.isEnabled()

    tools.set_saturation(1.2)
    wait_preview(qtbot, tools)
    tools.apply()
    qtbot.waitUntil(lambda: not tools.saving() and not tools.apply_action.isEnabled(), timeout=TIMEOUT_MS)
    assert load_edits(out_dir / "photo_colour_2.hints.json") == SavedEdits(saved.hints, (str(warm),), "global", 1.2)


def test_a_missing_saved_reference_photo_is_named_and_the_hints_still_used(qtbot, window, tmp_path):
    from colorcore.inference.hints import PointHint, SavedEdits, save_edits

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    cv2.imwrite(str(out_dir / "photo_colour.png"), np.zeros((H, W, 3), np.uint8))
    gone = tmp_path / "gone.jpg"
    save_edits(out_dir / "photo_colour.hints.json",
               SavedEdits(Hints((PointHint(0.25, 0.5, BLUE),)), (str(gone),), "semantic", 0.5))
    tab, tools = colourised(qtbot, window, tmp_path)
    assert "gone.jpg" in tab.message_label.text() and "missing" in tab.message_label.text()
    state = tools.state()
    assert state.hints and state.saturation == 0.5 and state.reference is None and state.reference_path == ""


def test_the_reference_button_stays_on_the_toolbar_at_the_default_width(qtbot, window, tmp_path):
    """At the window's first-start size (1280 x 820) the Reference button, also with a long file name chosen,
    is on the toolbar itself, not in its "»" overflow menu."""
    window.resize(1280, 820)
    tab, tools = colourised(qtbot, window, tmp_path)
    button = tools.widgetForAction(tools.reference_action)
    qtbot.waitUntil(lambda: button.isVisible(), timeout=TIMEOUT_MS)
    reference = tmp_path / "a_rather_long_reference_photo_name_from_a_camera_0001.png"
    cv2.imwrite(str(reference), np.full((40, 40, 3), (40, 120, 230), np.uint8))
    tools.set_reference(reference)
    qtbot.waitUntil(lambda: tools.state().reference is not None, timeout=TIMEOUT_MS)
    assert tools.reference_action.text().startswith("Reference: a_rather_long") and "\u2026" in tools.reference_action.text()
    assert tools.reference_action.toolTip().endswith(reference.name)  # the whole name
    qtbot.wait(50)
    assert button.isVisible() and tools.widgetForAction(tools.no_reference_action).isVisible()


def test_the_saturation_slider_ends_where_the_engine_refuses_more():
    """One SATURATION_MAX (colorcore.inference.settings, torch-free): the app's slider ends there and the
    engine's colour controls accept that value and refuse more; importing the settings loads no torch."""
    import subprocess
    import sys

    import pytest

    from app.widgets.colour_tools import SATURATION_STEPS
    from colorcore.inference.colour_control import ColourControls
    from colorcore.inference.settings import SATURATION_MAX

    assert ColourControls(saturation=SATURATION_MAX).saturation == SATURATION_MAX
    with pytest.raises(ValueError):
        ColourControls(saturation=SATURATION_MAX + 1 / SATURATION_STEPS)
    code = "import sys; import colorcore.inference.settings, app.colour_edit; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
