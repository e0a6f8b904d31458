"""Atomic writes: a failing write leaves the previous file intact and no temp file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from colorcore.atomic import atomic_write, atomic_write_bytes, atomic_write_text


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
