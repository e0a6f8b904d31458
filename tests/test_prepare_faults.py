"""`colorcore prepare` when things go wrong around it: a full disk (conftest's `small_disk`, a 3 MB tmpfs),
a prepare killed earlier, the umask."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from colorcore.core.atomic import UMASK
from colorcore.data.prepare import OWNER_FILE, PARTIAL_INFIX, prepare
from colorcore.data.prepared import is_prepared_dataset

from tests.helpers import write_photo

REPO_ROOT = Path(__file__).resolve().parents[1]


def run_prepare(*args: object) -> subprocess.CompletedProcess[str]:
    """`colorcore prepare` in its own process, so that a crash (SIGBUS) shows as its exit status."""
    return subprocess.run([sys.executable, "-m", "colorcore", "prepare", *map(str, args)],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)


def photos(folder: Path, count: int = 6) -> Path:
    for index in range(count):
        write_photo(folder / f"photo{index}.jpg", 160, 120, seed=index)
    return folder


def assert_no_space_message(done: subprocess.CompletedProcess[str], disk: Path) -> None:
    assert 0 < done.returncode < 128, (done.returncode, done.stderr)
    assert "not enough free disk space" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert [p.name for p in disk.iterdir() if p.name != "fill"] == []  # no partial folder, no dataset


def test_prepare_larger_than_the_disk_says_so_and_leaves_nothing(small_disk: Path, tmp_path: Path) -> None:
    # 6 photos x 21 samples x 128 px x 5 bytes, twice: about 21 MB for a 3 MB disk (sparse memmaps
    # used to die with SIGBUS once the disk filled)
    done = run_prepare(photos(tmp_path / "photos"), small_disk / "data", "--size", "128",
                       "--crops-per-photo", "20", "--workers", "1")
    assert_no_space_message(done, small_disk)


def test_prepare_onto_a_full_disk_says_so_and_leaves_nothing(small_disk: Path, tmp_path: Path) -> None:
    with open(small_disk / "fill", "wb") as handle:  # fill the disk to the last byte
        try:
            while True:
                handle.write(bytes(1 << 16))
                handle.flush()
        except OSError:
            pass
    done = run_prepare(photos(tmp_path / "photos", 2), small_disk / "data", "--workers", "1")
    assert_no_space_message(done, small_disk)


def finished_process_id() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_prepares_partial_folder_is_removed_by_the_next_one(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    stale = tmp_path / f".data{PARTIAL_INFIX}stale"
    stale.mkdir()
    (stale / OWNER_FILE).write_text(str(finished_process_id()))
    (stale / "all_rgb.npy").write_bytes(bytes(1000))
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        busy = tmp_path / f".data{PARTIAL_INFIX}busy"  # a prepare still at work into the same folder
        busy.mkdir()
        (busy / OWNER_FILE).write_text(str(running.pid))
        messages: list[str] = []

        class Messages:
            def on_progress(self, event: object) -> None:
                messages.append(getattr(event, "message", ""))

        prepare(photo_folder, out, size=16, workers=1, callbacks=[Messages()])
        assert is_prepared_dataset(out)
        assert not stale.exists()
        assert busy.is_dir()
        assert any(stale.name in message for message in messages)
        assert [p.name for p in tmp_path.glob(f".data{PARTIAL_INFIX}*")] == [busy.name]  # nothing of this run left
    finally:
        running.kill()
        running.wait()


def test_the_prepared_folder_has_the_permissions_mkdir_gives(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "data"
    prepare(photo_folder, out, size=16, workers=1)
    assert out.stat().st_mode & 0o777 == 0o777 & ~UMASK  # e.g. 0755 under umask 022 (mkdtemp gave 0700)
    assert not (out / OWNER_FILE).exists()
