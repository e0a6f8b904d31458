"""Build the unseen evaluation photos: 53 real photographs from Debian's gcompris-qt-data.

    python benchmarks/evaluation_photos.py OUT [--cache DIR]

The starter model's own held-out photos are few (a fifth of its corpus), so its quality is also
measured on photos from a source the corpus never draws from: the animal, farm and monument
photographs of GCompris's activities (`erase`, `explore_farm_animals`, `explore_world_animals`,
`explore_monuments`; every other file in name order, 53 in all), read out of the package's Qt resource
bundles (`usr/share/gcompris-qt/rcc/*.rcc`) with `QResource` and written as PNG. They are used for
measurement only: most are GPL-3 (the package's copyright file), so they never enter the training
corpus (`packaging/corpus/selection.json` lists gcompris-qt-data as excluded) and are not shipped.
Needs `apt-get download` (a Debian/Ubuntu machine with the package index) and PySide6.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "gcompris-qt-data"
RCC_DIR = "usr/share/gcompris-qt/rcc"
ACTIVITIES = ("erase/resource/", "explore_farm_animals/resource/animals/", "explore_world_animals/resource/animals/",
              "explore_monuments/resource/")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MIN_SHORT_SIDE = 300


def unpack(cache: Path) -> Path:
    """The package unpacked under `cache` (downloaded with apt-get the first time)."""
    root = cache / PACKAGE
    if (root / RCC_DIR).is_dir():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        subprocess.run(["apt-get", "download", PACKAGE], cwd=tmp, check=True, capture_output=True)
        deb = next(Path(tmp).glob(f"{PACKAGE}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the PNG photos")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "colorcore-evaluation-cache")
    args = parser.parse_args(argv)
    from PySide6.QtCore import QDirIterator, QResource
    from PySide6.QtGui import QImage

    root = unpack(args.cache)
    for bundle in sorted((root / RCC_DIR).glob("*.rcc")):
        QResource.registerResource(str(bundle.resolve()))
    found = []
    it = QDirIterator(":/", QDirIterator.IteratorFlag.Subdirectories)
    while it.hasNext():
        path = it.next()
        rel = path.split("/src/activities/", 1)[-1]
        if rel.lower().endswith(PHOTO_SUFFIXES) and rel.startswith(ACTIVITIES):
            found.append((rel.replace("/", "__").rsplit(".", 1)[0] + ".png", path))
    usable = []
    for name, path in sorted(found):
        image = QImage(path)
        if not image.isNull() and min(image.width(), image.height()) >= MIN_SHORT_SIDE:
            usable.append((name, image))
    chosen = usable[::2]
    args.out.mkdir(parents=True, exist_ok=True)
    for name, image in chosen:
        if not image.save(str(args.out / name)):
            print(f"could not write {args.out / name}", file=sys.stderr)
            return 1
    print(f"{len(chosen)} photos in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
