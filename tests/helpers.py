"""Helpers the test modules share (plain functions and constants; fixtures are in conftest.py and
gui_fixtures.py): real photos, the photo-folder layout, broken and unusual files, an event recorder, a
tiny exported model, CIFAR-format batch files, the 16-photo overfitting run."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import cv2
import numpy as np

PHOTO_FOLDER_SPECS = (
    # (relative path, width, height, seed)
    ("beach.jpg", 128, 96, 1),
    ("forest.jpg", 96, 128, 2),
    ("city.jpg", 160, 120, 3),
    ("portrait.png", 80, 80, 4),
    ("sunset.png", 120, 64, 5),
    ("nested/garden.jpg", 100, 75, 6),
    ("nested/market.jpg", 64, 96, 7),
    ("nested/harbour.png", 112, 84, 8),
)
PREPARED_SIZE = 64
PREPARED_TEST_FRACTION = 0.25


def make_photo_array(width: int = 96, height: int = 72, seed: int = 0) -> np.ndarray:
    """A structured RGB uint8 test photo (gradient, circle, rectangle, mild noise)."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = rng.uniform(40, 215, size=3)
    slope = rng.uniform(-80, 80, size=(2, 3))
    across, down = (xs / max(width - 1, 1))[..., None], (ys / max(height - 1, 1))[..., None]
    image = base + across * slope[0] + down * slope[1]
    image = np.clip(image, 0, 255).astype(np.uint8)
    centre = (int(rng.integers(width // 4, 3 * width // 4)), int(rng.integers(height // 4, 3 * height // 4)))
    radius = max(3, min(width, height) // 5)
    cv2.circle(image, centre, radius, tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    top_left = (int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2)))
    bottom_right = (top_left[0] + width // 3, top_left[1] + height // 4)
    cv2.rectangle(image, top_left, bottom_right, tuple(int(v) for v in rng.integers(0, 256, 3)), -1)
    noise = rng.normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def write_photo(path: Path, width: int = 96, height: int = 72, seed: int = 0) -> Path:
    """Write `make_photo_array(...)` to `path`, encoded by OpenCV from the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = make_photo_array(width, height, seed)
    ok, encoded = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok, f"could not encode {path.suffix}"
    path.write_bytes(encoded.tobytes())
    return path


# --- a folder mixing good photos, unusual-but-valid photos and broken files -------------------

# broken file (relative path) -> a fragment of the reason `read_image` gives
BROKEN_FILES = {
    "empty.jpg": "empty file",
    "notes.jpg": "not an image",
    "truncated.jpg": "truncated JPEG",
    "corrupt.png": "corrupt PNG",
    "x.jpg": "folder",
    "bomb.png": "too large: 40000x40000",
}
# unusual but valid photos: all must be prepared
UNUSUAL_FILES = (
    "gray16.png", "rgba.png", "palette.png", "cmyk.jpg", "rotated.jpg", "Straße 日本.jpg",
)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    import struct
    import zlib

    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def write_problem_photos(folder: Path) -> None:
    """Write `BROKEN_FILES` and `UNUSUAL_FILES` (real encodings, made here) into `folder`."""
    import io
    import struct
    import zlib

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "notes.jpg").write_text("not a photo\n")
    whole = write_photo(folder / "whole_tmp.jpg", 200, 150, seed=21).read_bytes()
    (folder / "whole_tmp.jpg").unlink()
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    png = bytearray(write_photo(folder / "good_tmp.png", 64, 64, seed=22).read_bytes())
    (folder / "good_tmp.png").unlink()
    png[120:170] = b"\x00garbage!" * 5 + b"\x00" * 5
    (folder / "corrupt.png").write_bytes(bytes(png))
    (folder / "x.jpg").mkdir()
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    (folder / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b"")
    )

    def save(image: Image.Image, name: str, fmt: str, **options: object) -> None:
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        (folder / name).write_bytes(buffer.getvalue())

    rgb = make_photo_array(90, 70, seed=23)
    save(Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)), "gray16.png", "PNG")
    save(Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]), "RGBA"), "rgba.png", "PNG")
    save(Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "palette.png", "PNG",
         transparency=0)
    save(Image.fromarray(rgb).convert("CMYK"), "cmyk.jpg", "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6
    save(Image.fromarray(rgb), "rotated.jpg", "JPEG", exif=exif.tobytes())
    save(Image.fromarray(rgb), "Straße 日本.jpg", "JPEG")


class Recorder:
    """Keeps every event it is given, by hook."""

    def __init__(self) -> None:
        self.events: dict[str, list[Any]] = {}

    def __getattr__(self, hook: str) -> Any:
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        return lambda event: self.events.setdefault(hook, []).append(event)

    def of(self, hook: str) -> list[Any]:
        return self.events.get(hook, [])


def save_tiny_model(path: Path, seed: int) -> Path:
    """Export an untrained tiny multipath model (seeded init) through a real checkpoint."""
    import torch

    from colorcore.models.base import ModelConfig, build_model
    from colorcore.models.checkpoint import export_model, make_checkpoint, save_checkpoint

    torch.manual_seed(seed)
    model = build_model(ModelConfig(width=8, resnet_weights="none"))
    checkpoint = save_checkpoint(path.with_suffix(".pt"), make_checkpoint(model, model.make_optimizers()))
    return export_model(checkpoint, path)


# --- CIFAR-format batch files (the downstream experiment) ----------------------------------------

TEST_WIDTH = 8  # the multipath width of the downstream tests' encoders
PER_BATCH = 100


def synthetic_images(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N, 3072) uint8 CIFAR rows: class-dependent brightness and stripe period, plus a colour tint
    and noise, so both gray and RGB inputs carry the label."""
    n = labels.shape[0]
    rows = np.arange(32)[None, :, None]
    period = 2 + labels[:, None, None] % 5
    stripes = ((rows // period) % 2) * 40.0
    base = 30.0 + 18.0 * labels[:, None, None] + stripes + rng.normal(0, 8, (n, 32, 32))
    tint = np.stack([np.sin(labels), np.cos(labels), np.sin(2 * labels)], axis=1)[:, :, None, None] * 25
    planes = np.clip(base[:, None] + tint, 0, 255).astype(np.uint8)  # (N, 3, 32, 32)
    return planes.reshape(n, -1)


def write_batch(path: Path, labels: np.ndarray, rng: np.random.Generator, protocol: int = 2) -> None:
    """One batch file in the pickled dict format torchvision reads."""
    entry = {b"batch_label": b"synthetic", b"labels": labels.tolist(), b"data": synthetic_images(labels, rng)}
    path.write_bytes(pickle.dumps(entry, protocol=protocol))


def write_cifar(root: Path, per_batch: int = PER_BATCH, seed: int = 0) -> Path:
    """A complete cifar-10-batches-py folder (5 training batches, a test batch, batches.meta)."""
    from colorcore.downstream.cifar import CIFAR_FOLDER, NUM_CLASSES, TEST_BATCH, TRAIN_BATCHES

    folder = root / CIFAR_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for k, name in enumerate((*TRAIN_BATCHES, TEST_BATCH)):
        labels = rng.permutation(np.arange(per_batch) % NUM_CLASSES)
        write_batch(folder / name, labels, rng, protocol=5 if k % 2 else 2)
    meta = {b"label_names": [f"class{c}".encode() for c in range(NUM_CLASSES)], b"num_cases_per_batch": per_batch}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return root


# --- 16 photos overfitted through the Trainer (scgan, zhang) ----------------------------------

OVERFIT_SIZE = 32
OVERFIT_TRAIN = 16


def prepare_overfit_photos(folder: Path, photo_factory: Any) -> Path:
    """20 real JPEG photos prepared at 32 px: 16 train, 4 test."""
    from colorcore.data.prepare import prepare

    for i in range(OVERFIT_TRAIN + 4):
        photo_factory(folder / "photos" / f"p{i:02d}.jpg", 48, 40, seed=200 + i)
    data = folder / "data"
    result = prepare(folder / "photos", data, size=OVERFIT_SIZE, test_fraction=0.2, seed=0, workers=1)
    assert result.n_train == OVERFIT_TRAIN
    return data


def overfit_losses(data: Path, run: Path, model: Any, steps: int) -> list[dict[str, float]]:
    """Per-step losses of a Trainer run on the whole train split as one batch."""
    from colorcore.training.trainer import TrainConfig, Trainer

    rec = Recorder()
    config = TrainConfig(data=str(data), run_dir=str(run), model=model, epochs=steps, max_steps=steps,
                         batch_size=OVERFIT_TRAIN, device="cpu", log_interval_s=0.0, eval_subset=0,
                         sample_count=0, keep_checkpoints=0)
    assert Trainer(config, [rec]).run().status == "finished"
    losses = [dict(event.losses) for event in rec.of("on_step")]
    assert len(losses) == steps
    return losses
