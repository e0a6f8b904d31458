"""Atomic writes: a failing write leaves the previous file intact and no temp file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from colorcore.core.atomic import atomic_copy, atomic_link, atomic_write, atomic_write_bytes, atomic_write_text


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "results.csv"
    atomic_write_text(target, "good\n")

    def half_then_fail(handle) -> None:
        handle.write(b"half a fi")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "good\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["results.csv"]


def test_bytes_and_text_round_trip(tmp_path: Path) -> None:
    assert atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert atomic_write_text(tmp_path / "ü.txt", "ünïcode").read_text(encoding="utf-8") == "ünïcode"


@pytest.mark.parametrize("links", [True, False])
def test_atomic_link_snapshots_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, links: bool) -> None:
    if not links:  # a file system without hard links (FAT, some shares): the bytes are copied
        def no_links(*args: object) -> None:
            raise OSError(1, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_links)
    source, target = tmp_path / "last.pt", tmp_path / "epoch_0001.pt"
    atomic_write_bytes(source, b"state 1")
    atomic_write_bytes(target, b"old")
    atomic_link(source, target)
    assert target.read_bytes() == b"state 1"
    atomic_write_bytes(source, b"state 2")  # the next save replaces last.pt; the snapshot keeps its bytes
    assert target.read_bytes() == b"state 1" and source.read_bytes() == b"state 2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0001.pt", "last.pt"]
    with pytest.raises(FileNotFoundError):
        atomic_link(tmp_path / "missing.pt", target)
    assert target.read_bytes() == b"state 1"


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    """Not mkstemp's private 0600: a colourised photo must be readable like any other file."""
    import os
    import stat

    from colorcore.core.atomic import UMASK, atomic_write_bytes

    path = atomic_write_bytes(tmp_path / "photo.png", b"data")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~UMASK


def test_atomic_copy_streams_into_new_folders_and_keeps_the_old_file_on_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "clip.mp4"
    source.write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    target = tmp_path / "new" / "folder" / "copy.mp4"
    assert atomic_copy(source, target) == target
    assert target.read_bytes() == source.read_bytes()
    target.write_bytes(b"old")

    def broken(src, dst, *args, **kwargs):
        dst.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("shutil.copyfileobj", broken)
    with pytest.raises(OSError, match="disk full"):
        atomic_copy(source, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["copy.mp4"]  # no temporary file left
