"""The Colourise tab in the real main window: drops of real photo files, videos and folders are
colourised at full size with a real model (tiny, or the bundled starter); non-image drops are refused;
a broken photo or video fails alone; a video shows its frames, speed and time left while it runs and
a cancelled one leaves no file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.gui_fixtures import gui_settings, isolated_qsettings, tiny_model_file, window  # noqa: F401 (fixtures)
from tests.helpers import write_photo

QUEUE_TIMEOUT_MS = 60000


def drop_paths(win, paths: list[Path]) -> None:
    """Send real drag-enter and drop events with file URLs to the main window."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(win.width() / 2, win.height() / 2)
    enter = QDragEnterEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, drop)


def wait_idle(qtbot, tab) -> None:
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=QUEUE_TIMEOUT_MS)


def test_without_a_model_the_tab_says_how_to_get_one_and_keeps_the_photos(qtbot, gui_settings, tmp_path,  # noqa: F811
                                                                           monkeypatch):
    """An installation without the starter model (its resources folder lacks models/) and no model
    opened yet: the tab explains how to get one and keeps dropped photos queued."""
    import shutil
    import sys

    from colorcore.core.resources import resources_dir

    bundle = tmp_path / "bundle"
    shutil.copytree(resources_dir(), bundle / "resources", ignore=shutil.ignore_patterns("models"))
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)  # where a frozen app looks first
    from app.main_window import MainWindow

    window = MainWindow(gui_settings)
    qtbot.addWidget(window)
    window.show()
    tab = window.colorize_tab
    assert tab.model_path() is None
    assert tab.no_model_label.isVisibleTo(tab)
    assert "Training" in tab.no_model_label.text() and "colorcore demo" in tab.no_model_label.text()
    photo = write_photo(tmp_path / "one.jpg", 80, 60, seed=1)
    drop_paths(window, [photo])
    assert window.tabs.currentWidget() is tab
    assert [item.status for item in tab.items()] == ["Queued"]
    assert not tab.is_busy()
    window.shutdown()


def test_file_open_photos_queues_the_chosen_files(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    photos = [write_photo(tmp_path / "a.jpg", 80, 60, seed=1), write_photo(tmp_path / "b.png", 64, 48, seed=2)]
    asked = []

    def choose(parent, title, folder, filters):
        asked.append(filters)
        return [str(p) for p in photos], filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(choose))
    window.colorize_tab.set_output_dir(str(tmp_path / "out"))
    window.tabs.setCurrentWidget(window.dataset_tab)
    assert "Open photos" in window.open_photos_action.text().replace("&", "")
    window.open_photos_action.trigger()
    tab = window.colorize_tab
    assert window.tabs.currentWidget() is tab
    assert [Path(item.path).name for item in tab.items()] == ["a.jpg", "b.png"]
    assert "*.jpg" in asked[0] and "*.png" in asked[0] and "*.mp4" in asked[0] and "*.mkv" in asked[0]
    wait_idle(qtbot, tab)  # the starter model is chosen at first start: they are colourised at once
    assert [item.status for item in tab.items()] == ["Done", "Done"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_colour.jpg", "b_colour.png"]


def test_dropping_two_photos_colourises_both_at_full_size(qtbot, window, tmp_path, tiny_model_file):
    from colorcore.data.imageio import read_image

    tab = window.colorize_tab
    out_dir = tmp_path / "out"
    tab.set_output_dir(str(out_dir))
    tab.open_model(str(tiny_model_file))
    assert not tab.no_model_label.isVisibleTo(tab)
    photos = [write_photo(tmp_path / "in" / "wide.jpg", 150, 90, seed=2),
              write_photo(tmp_path / "in" / "tall.png", 70, 110, seed=3)]
    drop_paths(window, photos)
    assert window.tabs.currentWidget() is tab
    wait_idle(qtbot, tab)
    items = tab.items()
    assert [item.status for item in items] == ["Done", "Done"]
    for photo, item in zip(photos, items):
        assert item.out_path.parent == out_dir and item.out_path.is_file()
        assert read_image(item.out_path).shape == read_image(photo).shape
    assert tab.view.has_image()
    # the model is remembered for the next session
    from app.tabs.colorize import ColorizeTab

    again = ColorizeTab(window.settings)
    qtbot.addWidget(again)
    assert again.model_path() == str(tiny_model_file.resolve())


def test_selecting_a_finished_photo_reads_it_off_the_gui_thread(qtbot, window, tmp_path, tiny_model_file,
                                                                monkeypatch):
    import threading

    from app.tabs import colorize as colorize_module

    reader_threads = []
    real_result_previews = colorize_module.result_previews

    def recording_result_previews(*args):  # the real reader, noting which thread runs it
        reader_threads.append(threading.current_thread())
        return real_result_previews(*args)

    monkeypatch.setattr(colorize_module, "result_previews", recording_result_previews)
    tab = window.colorize_tab
    tab.set_output_dir(str(tmp_path / "out"))
    tab.open_model(str(tiny_model_file))
    photos = [write_photo(tmp_path / "in" / f"p{k}.jpg", 90, 60, seed=k) for k in range(3)]
    drop_paths(window, photos)
    wait_idle(qtbot, tab)
    items = tab.items()
    assert [item.status for item in items] == ["Done"] * 3
    items[0].out_path.write_bytes(b"not a JPEG any more")  # changed on disk after it was colourised
    # the queue showed whichever result arrived first (events are rate-limited): move away from it
    good, other = (2, 1) if tab.table.currentRow() == 1 else (1, 2)

    tab.table.setCurrentCell(good, 0)
    qtbot.waitUntil(lambda: not tab.previews_pending(), timeout=QUEUE_TIMEOUT_MS)
    assert tab.view_caption.text() == f"p{good}.jpg -> {items[good].out_path}" and tab.view.has_image()
    assert reader_threads and threading.main_thread() not in reader_threads

    tab.table.setCurrentCell(0, 0)
    qtbot.waitUntil(lambda: not tab.previews_pending(), timeout=QUEUE_TIMEOUT_MS)
    assert "Cannot show" in tab.message_label.text() and items[0].out_path.name in tab.message_label.text()
    assert tab.view_caption.text() == "p0.jpg: cannot show it"

    tab.table.setCurrentCell(other, 0)  # a quick switch: only the last selection's preview is shown
    tab.table.setCurrentCell(good, 0)
    qtbot.waitUntil(lambda: not tab.previews_pending(), timeout=QUEUE_TIMEOUT_MS)
    qtbot.wait(50)
    assert tab.view_caption.text() == f"p{good}.jpg -> {items[good].out_path}"
    assert threading.main_thread() not in reader_threads


def test_a_text_file_drop_is_refused_with_a_message(qtbot, window, tmp_path):
    tab = window.colorize_tab
    notes = tmp_path / "notes.txt"
    notes.write_text("not a photo")
    messages: list[str] = []
    tab.status_message.connect(messages.append)
    drop_paths(window, [notes])
    assert tab.items() == []
    assert "notes.txt" in tab.message_label.text() and "not a photo" in tab.message_label.text()
    assert any("notes.txt" in m for m in messages)
    assert tab.add_paths([str(notes), str(tmp_path / "missing.jpg")]) == 0


def test_a_folder_with_a_broken_photo_finishes_the_others_and_shows_the_error(qtbot, window, tmp_path,
                                                                              tiny_model_file):
    tab = window.colorize_tab
    tab.set_output_dir(str(tmp_path / "out"))
    tab.open_model(str(tiny_model_file))
    folder = tmp_path / "album"
    good = [write_photo(folder / f"good_{i}.jpg", 64 + 8 * i, 48, seed=10 + i) for i in range(2)]
    broken = folder / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" + bytes(32))
    assert tab.add_paths([str(folder)]) == 3
    wait_idle(qtbot, tab)
    by_name = {item.path.name: item for item in tab.items()}
    assert by_name["broken.jpg"].status == "Error"
    assert "broken.jpg" in by_name["broken.jpg"].message
    assert all(by_name[p.name].status == "Done" and by_name[p.name].out_path.is_file() for p in good)
    row = [item.path.name for item in tab.items()].index("broken.jpg")
    assert tab.table.item(row, 1).text().startswith("Error")
    assert "broken.jpg" in tab.message_label.text()


def test_save_all_copies_every_result(qtbot, window, tmp_path, tiny_model_file):
    tab = window.colorize_tab
    tab.set_output_dir(str(tmp_path / "out"))
    tab.open_model(str(tiny_model_file))
    photos = [write_photo(tmp_path / "in" / f"p{i}.png", 64, 64, seed=20 + i) for i in range(2)]
    tab.add_paths([str(p) for p in photos])
    wait_idle(qtbot, tab)
    target = tmp_path / "saved"
    assert tab.save_all(str(target)) == 2
    saved = sorted(p.name for p in target.iterdir())
    assert saved == sorted(item.out_path.name for item in tab.items())
    assert np.array_equal(np.frombuffer((target / saved[0]).read_bytes(), np.uint8),
                          np.frombuffer((tmp_path / "out" / saved[0]).read_bytes(), np.uint8))


def test_before_after_split_line_drags_and_wheel_zooms(qtbot):
    from app.widgets.before_after import BeforeAfterView

    view = BeforeAfterView()
    qtbot.addWidget(view)
    view.resize(400, 300)
    view.show()
    before = np.zeros((100, 200, 3), np.uint8)
    after = np.full((100, 200, 3), 255, np.uint8)
    view.set_images(before, after)
    qtbot.wait(10)
    shot = view.grab().toImage()
    assert shot.pixelColor(100, 150).red() == 0 and shot.pixelColor(300, 150).red() == 255
    line_x = round(view._split_x_in_view())  # noqa: SLF001 (where the handle is drawn)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(line_x, 150))
    qtbot.mouseMove(view.viewport(), QPoint(300, 150))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(300, 150))
    assert view.split() > 0.7
    shot = view.grab().toImage()
    assert shot.pixelColor(250, 150).red() == 0  # "before" now covers more of the view
    zoom = view.zoom()
    view.zoom_by(2.0)
    assert view.zoom() == pytest.approx(2 * zoom)


def test_cancel_leaves_the_rest_unprocessed_and_later_photos_still_run(qtbot, window, tmp_path, tiny_model_file):
    tab = window.colorize_tab
    out_dir = tmp_path / "out"
    tab.set_output_dir(str(out_dir))
    tab.open_model(str(tiny_model_file))
    photos = [write_photo(tmp_path / "in" / f"c{i}.jpg", 64, 64, seed=30 + i) for i in range(3)]
    assert tab.add_paths([str(p) for p in photos]) == 3
    assert tab.is_busy() and tab.cancel_button.isEnabled()
    tab.cancel()  # requested before the model has even loaded: no photo is started
    wait_idle(qtbot, tab)
    assert [item.status for item in tab.items()] == ["Cancelled"] * 3
    assert not out_dir.exists() or not any(out_dir.iterdir())
    late = write_photo(tmp_path / "in" / "late.png", 64, 64, seed=40)
    assert tab.add_paths([str(late)]) == 1
    wait_idle(qtbot, tab)
    assert [item.status for item in tab.items()] == ["Cancelled"] * 3 + ["Done"]


def film(path: Path, frames: int, audio: bool = False) -> Path:
    """A real H.264 clip made here: the test suite's grainy film clip at 320x180."""
    from tests.video_clips import film_clip, write_clip

    path.parent.mkdir(parents=True, exist_ok=True)
    return write_clip(path, film_clip((320, 180), frames).frames, audio=audio)


def test_a_dropped_video_shows_its_frames_as_it_goes_and_a_broken_one_fails_alone(qtbot, window, tmp_path):
    """The starter model (chosen at first start) colours a dropped clip: its row counts frames with
    speed and time left, the view shows the current frame beside its gray input; a broken video is
    named with its reason and the photo after it is still colourised."""
    from colorcore.inference.video import probe_video

    tab = window.colorize_tab
    out_dir = tmp_path / "out"
    tab.set_output_dir(str(out_dir))
    clip = film(tmp_path / "in" / "walk.mp4", 48, audio=True)
    broken = tmp_path / "in" / "broken.mkv"
    broken.write_bytes(b"\x1aE\xdf\xa3 this is no Matroska file" + bytes(64))
    photo = write_photo(tmp_path / "in" / "after.png", 64, 48, seed=5)
    drop_paths(window, [clip, broken, photo])
    assert [item.path.name for item in tab.items()] == ["walk.mp4", "broken.mkv", "after.png"]
    assert "1 video" not in tab.message_label.text() and "2 videos" in tab.message_label.text()
    seen = []

    def progress_shown() -> bool:
        item = tab.items()[0]
        if item.status == "Colourising..." and item.frames_total:
            bar = tab.table.cellWidget(0, 2)
            seen.append((item.frames_done, bar.maximum(), bar.value(), tab.table.item(0, 1).text(),
                         tab.view.has_image(), tab.view_caption.text()))
        return item.status not in ("Queued", "Colourising...")

    qtbot.waitUntil(progress_shown, timeout=QUEUE_TIMEOUT_MS)
    assert seen, "no frame of the video was shown while it ran"
    done, maximum, value, status, has_image, caption = seen[0]
    assert maximum == 48 and value == done and 1 <= done <= 48
    assert f"frame {done} of 48" in status and " fps" in status
    assert has_image and caption.startswith("walk.mp4: frame")
    assert any("left" in s[3] for s in seen if s[0] < 48)
    wait_idle(qtbot, tab)
    video, bad, still = tab.items()
    assert video.status == "Done" and video.out_path == out_dir / "walk_colour.mp4"
    info = probe_video(video.out_path)
    assert (info.frames, info.width, info.height, info.audio_streams) == (48, 320, 180, 1)
    assert bad.status == "Error" and "broken.mkv" in bad.message and "not a readable video" in bad.message
    assert tab.table.item(1, 1).text().startswith("Error") and tab.table.cellWidget(1, 2).value() == 0
    assert still.status == "Done" and still.out_path.is_file()
    assert sorted(p.name for p in out_dir.iterdir()) == ["after_colour.png", "walk_colour.mp4"]
    tab.table.setCurrentCell(0, 0)  # a finished video shows its middle frame, read from the files
    qtbot.waitUntil(lambda: not tab.previews_pending(), timeout=QUEUE_TIMEOUT_MS)
    assert tab.view_caption.text() == f"walk.mp4 -> {video.out_path}" and tab.view.has_image()


def test_cancelling_a_video_stops_it_at_once_and_leaves_no_file(qtbot, window, tmp_path):
    tab = window.colorize_tab
    out_dir = tmp_path / "out"
    tab.set_output_dir(str(out_dir))
    clip = film(tmp_path / "in" / "long.mp4", 240, audio=True)
    assert tab.add_paths([str(clip), str(write_photo(tmp_path / "in" / "later.jpg", 64, 48, seed=6))]) == 2
    qtbot.waitUntil(lambda: tab.items()[0].frames_done > 0, timeout=QUEUE_TIMEOUT_MS)
    tab.cancel()
    wait_idle(qtbot, tab)
    video, photo = tab.items()
    assert video.status == "Cancelled" and video.frames_done < 240 and "no file" in video.message
    assert photo.status == "Cancelled"
    assert not any(out_dir.iterdir())  # neither the video nor its temporary file


def test_the_queue_runs_on_the_chosen_device_the_best_found_by_default(qtbot, window, tmp_path, tiny_model_file):
    from app.devices import detected_devices

    tab = window.colorize_tab
    qtbot.waitUntil(window.is_engine_loaded, timeout=QUEUE_TIMEOUT_MS)
    combo = tab.device_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [name for name, _ in detected_devices()]
    assert combo.currentIndex() == 0 and combo.device() == detected_devices()[0][0]
    tab.set_output_dir(str(tmp_path / "out"))
    tab.open_model(str(tiny_model_file))
    combo.addItem("a GPU this machine lacks", "cuda:7")  # the choice must reach the engine: it refuses this one
    combo.setCurrentIndex(combo.count() - 1)
    assert tab.add_paths([str(write_photo(tmp_path / "in" / "a.jpg", 64, 48, seed=20))]) == 1
    wait_idle(qtbot, tab)
    item = tab.items()[0]
    assert item.status == "Error" and "cuda:7" in item.message
    assert "choose the CPU as Device" in item.message and "--device" not in item.message  # the engine's advice
    combo.setCurrentIndex(0)
    assert tab.add_paths([str(write_photo(tmp_path / "in" / "b.jpg", 64, 48, seed=21))]) == 1
    wait_idle(qtbot, tab)
    assert tab.items()[-1].status == "Done" and tab.items()[-1].out_path.is_file()


def test_the_queue_worker_passes_every_item_event_and_coalesces_a_files_own_progress(qtbot):
    """What the tab listens to: each `ItemEvent` of a batch arrives as the worker's `item` signal, in
    order; a video's per-frame `on_item_progress` is rate-limited like steps, its latest kept."""
    from app.workers import JobWorker
    from colorcore.core.events import ItemEvent, ProgressEvent, emit

    def job(callbacks, stop):
        emit(callbacks, "on_item", ItemEvent(0, ItemEvent.STARTED, Path("a.mp4"), Path("a_colour.mp4")))
        for frame in range(1, 1001):
            emit(callbacks, "on_item_progress", ProgressEvent(frame, 1000))
        emit(callbacks, "on_item", ItemEvent(0, ItemEvent.DONE, Path("a.mp4"), Path("a_colour.mp4")))

    worker = JobWorker(job, "batch", min_interval_s=10.0)
    items, frames = [], []
    worker.item.connect(items.append)
    worker.event.connect(lambda hook, event: frames.append(event.done) if hook == "on_item_progress" else None)
    with qtbot.waitSignal(worker.finished, timeout=QUEUE_TIMEOUT_MS):
        worker.start()
    assert [event.status for event in items] == ["started", "done"]
    assert frames == [1, 1000]  # the first at once, the latest flushed before the item's end


def test_every_colour_tool_is_on_the_toolbar_at_the_first_start_width(qtbot, window, tmp_path, tiny_model_file):
    """At the window's first-start size (1280 x 820), with a reference photo of a long name chosen, every
    control of the colour tools (hint tools, colour, brush, undo/redo, clear, reference and its cross,
    saturation slider and value) is on the toolbar itself: none has gone into its "»" overflow menu."""
    import cv2

    window.resize(1280, 820)
    tab = window.colorize_tab
    tab.set_output_dir(str(tmp_path / "out"))
    tab.open_model(str(tiny_model_file))
    drop_paths(window, [write_photo(tmp_path / "in" / "photo.png", 160, 100, seed=4)])
    tools = tab.colour_tools
    qtbot.waitUntil(lambda: not tab.is_busy() and tools.open_key() is not None, timeout=QUEUE_TIMEOUT_MS)
    reference = tmp_path / "a_rather_long_reference_photo_name_from_a_camera_0001.png"
    cv2.imwrite(str(reference), np.full((40, 40, 3), (40, 120, 230), np.uint8))
    tools.set_reference(reference)
    qtbot.waitUntil(lambda: tools.state().reference is not None, timeout=QUEUE_TIMEOUT_MS)
    tools.set_saturation(1.5)
    controls = [action for action in tools.actions() if not action.isSeparator()]
    assert len(controls) == 12  # 8 buttons, the brush, the saturation label, slider and value
    qtbot.waitUntil(lambda: all(tools.widgetForAction(a).isVisible() for a in controls), timeout=QUEUE_TIMEOUT_MS)
    hidden = [a.text() for a in controls if not tools.widgetForAction(a).isVisible()]
    assert not hidden
    slider = tools.saturation_slider
    assert slider.isVisible() and tools.saturation_label.text() == "1.50"
    right = slider.mapTo(tools, slider.rect().topRight()).x()
    assert right < tools.width()  # wholly on the toolbar, not cut by its edge


def test_hints_applied_to_a_video_are_fixed_to_the_frame_they_were_placed_on(qtbot, window, tmp_path):
    """A hint painted on a finished video's shown frame and applied records that frame (so it follows
    what it was put on through the clip): in the queued item's colours and in the hints file beside
    the new video."""
    from colorcore.inference.hints import hints_path_for, load_hints
    from colorcore.inference.video import frame_index_at, probe_video

    tab = window.colorize_tab
    tab.set_output_dir(str(tmp_path / "out"))
    clip = film(tmp_path / "in" / "walk.mp4", 12)
    drop_paths(window, [clip])
    tools = tab.colour_tools
    qtbot.waitUntil(lambda: not tab.is_busy() and tools.open_key() is not None, timeout=QUEUE_TIMEOUT_MS)
    shown = frame_index_at(clip, probe_video(clip).duration_s / 2)
    assert shown == 6
    tools.add_point(0.3, 0.5)
    tools.add_stroke(((0.6, 0.4), (0.7, 0.45)))
    assert tools.apply_action.isEnabled()
    tools.apply()
    wait_idle(qtbot, tab)
    first, again = tab.items()
    assert again.status == "Done" and again.out_path != first.out_path and again.out_path.is_file()
    hints = again.controls.hints
    assert [p.frame for p in hints.points] == [shown] and [s.frame for s in hints.strokes] == [shown]
    assert load_hints(hints_path_for(again.out_path)) == hints
    assert not tools.has_unapplied(first.out_path)
