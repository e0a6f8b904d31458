"""Tests for packaging/corpus/build_corpus.py (pure logic, no network)."""
from __future__ import annotations

import bz2
import hashlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SCRIPT = Path(__file__).resolve().parents[1] / "packaging" / "corpus" / "build_corpus.py"


def _load_module():
    spec = importlib.util.spec_from_file_location("build_corpus", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_corpus"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


bc = _load_module()


def _jpeg(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    rng = np.random.default_rng(0)
    arr = np.clip(np.array(colour, np.int16) + rng.integers(-20, 20, (size[1], size[0], 3)), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def _entry(source: str = "pkg", pattern: str = "*.jpg", licence: str = "CC0-1.0",
           kind: str = "deb", **kw) -> "bc.Entry":
    return bc.Entry(kind, source, pattern, licence, "Someone", **kw)


def _selection(tmp_path: Path, debian: dict, refused=("mate-backgrounds", "ukui-wallpapers")) -> Path:
    path = tmp_path / "selection.json"
    path.write_text(json.dumps({"rule": "r", "refused_packages": list(refused),
                                "debian": debian, "wheels": {}}))
    return path


# --- allowlist ---------------------------------------------------------------------------

def test_shipped_selection_is_valid_and_excludes_reserved_packages() -> None:
    rule, entries, excluded = bc.load_selection()
    assert rule and excluded
    assert len(entries) >= 20
    assert not {e.package for e in entries} & {"mate-backgrounds", "ukui-wallpapers"}
    names = [bc.corpus_name(e, e.pattern) for e in entries if "*" not in e.pattern]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("package", ["mate-backgrounds", "ukui-wallpapers"])
def test_selection_naming_reserved_package_is_refused(tmp_path: Path, package: str) -> None:
    sel = _selection(tmp_path, {package: [{"glob": "*.jpg", "licence": "CC0-1.0", "author": "a"}]})
    with pytest.raises(bc.RefusedPackageError, match=package):
        bc.load_selection(sel)


def test_selection_must_keep_refusal_list(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="refused_packages"):
        bc.load_selection(_selection(tmp_path, {}, refused=("mate-backgrounds",)))


def test_selection_rejects_unaccepted_licence(tmp_path: Path) -> None:
    sel = _selection(tmp_path, {"pkg": [{"glob": "*.jpg", "licence": "CC-BY-NC-4.0", "author": "a"}]})
    with pytest.raises(ValueError, match="CC-BY-NC-4.0"):
        bc.load_selection(sel)


@pytest.mark.parametrize("package", ["mate-backgrounds", "ukui-wallpapers"])
def test_fetcher_refuses_reserved_package_before_downloading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    def no_subprocess(*args, **kwargs):
        raise AssertionError("must not run anything for a refused package")

    monkeypatch.setattr(bc.subprocess, "run", no_subprocess)
    with pytest.raises(bc.RefusedPackageError):
        bc.Fetcher(tmp_path).deb(package)


def test_licence_tiers() -> None:
    assert bc.licence_tier("CC0-1.0") == "permissive"
    assert bc.licence_tier("LicenseRef-Public-Domain") == "permissive"
    assert bc.licence_tier("CC-BY-SA-3.0") == "copyleft"
    with pytest.raises(ValueError):
        bc.licence_tier("GPL-2.0-or-later")


# --- selection on an unpacked tree -------------------------------------------------------

def test_select_files_matches_globs_and_skips_symlinks(tmp_path: Path) -> None:
    bg = tmp_path / "usr/share/backgrounds"
    bg.mkdir(parents=True)
    for name in ("a_by_X.jpg", "b_by_X.jpg", "c_by_Y.jpg", "notes.txt"):
        (bg / name).write_bytes(b"x")
    (bg / "alias_by_X.jpg").symlink_to(bg / "a_by_X.jpg")
    by_x = _entry(pattern="usr/share/backgrounds/*_by_X.jpg")
    exact = _entry(pattern="usr/share/backgrounds/c_by_Y.jpg", licence="CC-BY-4.0")

    got = bc.select_files(tmp_path, [by_x, exact])

    assert [(e, p.name) for e, p in got] == [
        (by_x, "a_by_X.jpg"), (by_x, "b_by_X.jpg"), (exact, "c_by_Y.jpg")]


def test_corpus_name_uses_package_and_optional_override() -> None:
    assert bc.corpus_name(_entry(source="p"), "/usr/x/pic.jpg") == "p__pic.jpg"
    wheel = _entry(source="scipy==1.13.1", kind="wheel", name="face.png")
    assert bc.corpus_name(wheel, "scipy/misc/face.dat") == "scipy__face.png"


# --- decoding and quality checks ---------------------------------------------------------

def test_decode_face_dat_round_trips_raw_rgb() -> None:
    arr = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    image = bc.decode_face_dat(bz2.compress(arr.tobytes()), shape=(2, 3, 3))
    assert image.mode == "RGB" and image.size == (3, 2)
    np.testing.assert_array_equal(np.asarray(image), arr)
    with pytest.raises(ValueError, match="expected"):
        bc.decode_face_dat(bz2.compress(b"\0" * 10), shape=(2, 3, 3))


def test_quality_problem_flags_small_and_grayscale() -> None:
    colourful = Image.open(io.BytesIO(_jpeg((640, 480), (200, 80, 40))))
    assert bc.quality_problem(colourful) is None
    assert "too small" in bc.quality_problem(colourful.resize((500, 399)))
    assert "grayscale" in bc.quality_problem(colourful.convert("L").convert("RGB"))


# --- gathering, writing, attribution -----------------------------------------------------

class FakeFetcher:
    """Serves one unpacked tree per package; packages not in ``trees`` fail."""

    def __init__(self, trees: dict[str, Path]) -> None:
        self.trees = trees

    def deb(self, package: str) -> tuple[Path, str]:
        if package not in self.trees:
            raise bc.FetchError("E: Unable to locate package")
        return self.trees[package], "1:2.0-1"


def test_gather_reports_failed_package_and_continues(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    (tmp_path / "good/photo.jpg").write_bytes(b"data")
    messages: list[str] = []
    entries = [_entry(source="missing-pkg"), _entry(source="good")]

    got = bc.gather(entries, FakeFetcher({"good": tmp_path / "good"}), report=messages.append)

    assert [(c.entry.source, c.version, c.original_path, c.data) for c in got] == [
        ("good", "1:2.0-1", "/photo.jpg", b"data")]
    assert len(messages) == 1 and "missing-pkg" in messages[0]


def _candidates() -> list["bc.Candidate"]:
    return [
        bc.Candidate(_entry(source="pd"), "1.0", "/a.jpg", _jpeg((600, 450), (30, 120, 200))),
        bc.Candidate(_entry(source="sa", licence="CC-BY-SA-4.0"), "2.0", "/b.jpg",
                     _jpeg((450, 600), (220, 60, 60))),
        bc.Candidate(_entry(source="tiny"), "1.0", "/c.jpg", _jpeg((300, 300), (220, 60, 60))),
    ]


def test_write_corpus_and_attribution(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos/old__gone.jpg").write_bytes(b"stale")
    (tmp_path / "photos/keep-me.txt").write_bytes(b"not ours")
    skipped: list[str] = []

    records = bc.write_corpus(_candidates(), tmp_path, report=skipped.append)
    bc.write_attribution(records, tmp_path, "RULE TEXT", [{"source": "s", "path": "p", "reason": "why"}])

    assert sorted(p.name for p in (tmp_path / "photos").iterdir()) == [
        "keep-me.txt", "pd__a.jpg", "sa__b.jpg"]
    assert len(skipped) == 1 and "tiny__c.jpg" in skipped[0]
    data = json.loads((tmp_path / "attribution.json").read_text())
    assert data["count"] == 2 and data["rule"] == "RULE TEXT"
    for rec in data["files"]:
        body = (tmp_path / "photos" / rec["file"]).read_bytes()
        assert rec["sha256"] == hashlib.sha256(body).hexdigest()
    assert {(r["file"], r["licence"], r["licence_tier"], r["width"]) for r in data["files"]} == {
        ("pd__a.jpg", "CC0-1.0", "permissive", 600), ("sa__b.jpg", "CC-BY-SA-4.0", "copyleft", 450)}
    md = (tmp_path / "ATTRIBUTION.md").read_text()
    assert "RULE TEXT" in md and "`sa__b.jpg`" in md and "CC-BY-SA-4.0" in md and "why" in md
    assert not list(tmp_path.rglob("*.tmp"))


def test_write_corpus_is_idempotent_and_honours_permissive_only(tmp_path: Path) -> None:
    first = bc.write_corpus(_candidates(), tmp_path, report=lambda _: None)
    mtime = (tmp_path / "photos/pd__a.jpg").stat().st_mtime_ns
    assert bc.write_corpus(_candidates(), tmp_path, report=lambda _: None) == first
    assert (tmp_path / "photos/pd__a.jpg").stat().st_mtime_ns == mtime

    only = bc.write_corpus(_candidates(), tmp_path, permissive_only=True, report=lambda _: None)
    assert [r.file for r in only] == ["pd__a.jpg"]
    assert not (tmp_path / "photos/sa__b.jpg").exists()


def test_write_corpus_converts_face_dat_to_png(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arr = np.zeros((400, 420, 3), np.uint8)
    arr[..., 0] = 200
    monkeypatch.setattr(bc, "FACE_SHAPE", arr.shape)
    entry = _entry(source="scipy==1.13.1", kind="wheel", pattern="scipy/misc/face.dat",
                   name="face.png", decode="face_dat")
    cand = bc.Candidate(entry, "1.13.1", "w.whl:scipy/misc/face.dat", bz2.compress(arr.tobytes()))

    [record] = bc.write_corpus([cand], tmp_path, report=lambda _: None)

    assert record.file == "scipy__face.png" and (record.width, record.height) == (420, 400)
    with Image.open(tmp_path / "photos/scipy__face.png") as png:
        assert png.format == "PNG"
        np.testing.assert_array_equal(np.asarray(png), arr)


def test_main_exits_non_zero_when_nothing_gathered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    sel = _selection(tmp_path, {"absent-pkg": [{"glob": "*.jpg", "licence": "CC0-1.0", "author": "a"}]})
    monkeypatch.setattr(bc, "Fetcher", lambda cache: FakeFetcher({}))

    assert bc.main([str(tmp_path / "out"), "--selection", str(sel)]) == 1
    out = capsys.readouterr()
    assert "absent-pkg" in out.out and "no photo" in out.err
