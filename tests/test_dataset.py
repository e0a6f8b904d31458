"""colorcore.data.prepare and colorcore.data.prepared: preparing real photo folders and loading them back."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorcore.data.prepare import halvings, prepare, preview_samples, random_crops, split_names
from colorcore.data.prepared import MANIFEST_NAME, DatasetError, Manifest, SkippedFile, load_prepared, read_manifest
from colorcore.data.settings import CROP_MIN_SCALE
from colorcore.core.advice import ON, Advice
from colorcore.core.events import StopFlag
from colorcore.data.imageio import read_image, to_square

from tests.helpers import BROKEN_FILES, PHOTO_FOLDER_SPECS, UNUSUAL_FILES, write_photo


class Recorder:
    """Collects every event a job emits."""

    def __init__(self) -> None:
        self.progress: list = []
        self.ends: list = []
        self.errors: list = []

    def on_progress(self, event) -> None:
        self.progress.append(event)

    def on_end(self, event) -> None:
        self.ends.append(event)

    def on_error(self, event) -> None:
        self.errors.append(event)


def leftovers(parent: Path, out_name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{out_name}"))


def test_prepared_folder_follows_the_contract(prepared_dataset: Path, photo_folder: Path) -> None:
    manifest = json.loads((prepared_dataset / MANIFEST_NAME).read_text())
    for key in ("format_version", "size", "saliency", "canny", "splits", "files", "skipped",
                "created", "versions"):
        assert key in manifest
    assert manifest["size"] == 64 and manifest["saliency"] == "spectral"
    assert manifest["splits"] == {"train": 6, "test": 2}
    all_files = sorted(manifest["files"]["train"] + manifest["files"]["test"])
    assert all_files == sorted(spec[0] for spec in PHOTO_FOLDER_SPECS)
    assert manifest["skipped"] == []

    data = load_prepared(prepared_dataset)
    assert data.size == 64
    train = data.split("train")
    assert len(train) == 6 and len(data.split("test")) == 2
    assert train.rgb.shape == (6, 64, 64, 3) and train.rgb.dtype == np.uint8
    assert train.edge.shape == train.saliency.shape == (6, 64, 64)
    assert isinstance(train.rgb, np.memmap)
    assert set(np.unique(train.edge)) == {0, 255}
    assert (train.saliency.reshape(6, -1).max(axis=1) == 255).all()
    first = data.files("train")[0]
    expected = to_square(read_image(photo_folder / first), 64)
    np.testing.assert_array_equal(train.rgb[0], expected)
    assert data.source_paths("train")[0] == (photo_folder / first).resolve()


def test_every_bad_input_is_skipped_with_its_reason_and_parallel_equals_inline(
    mixed_photo_folder: Path, tmp_path: Path
) -> None:
    inline = prepare(mixed_photo_folder, tmp_path / "inline", size=32, workers=1)
    parallel = prepare(mixed_photo_folder, tmp_path / "parallel", size=32, workers=2)
    for result in (inline, parallel):
        assert not result.cancelled
        assert result.n_train + result.n_test == 4 + len(UNUSUAL_FILES)
        reasons = {item.path: item.reason for item in result.skipped}
        assert set(reasons) == set(BROKEN_FILES)
        for name, fragment in BROKEN_FILES.items():
            assert fragment in reasons[name], (name, reasons[name])
    manifest = json.loads((tmp_path / "parallel" / MANIFEST_NAME).read_text())
    assert {item["path"] for item in manifest["skipped"]} == set(BROKEN_FILES)
    prepared = manifest["files"]["train"] + manifest["files"]["test"]
    assert set(UNUSUAL_FILES) <= set(prepared)
    a, b = load_prepared(tmp_path / "inline"), load_prepared(tmp_path / "parallel")
    for split in ("train", "test"):
        assert a.files(split) == b.files(split)
        for kind in ("rgb", "edge", "saliency"):
            np.testing.assert_array_equal(getattr(a.split(split), kind), getattr(b.split(split), kind))


def test_exif_rotation_reaches_the_prepared_image(mixed_photo_folder: Path, tmp_path: Path) -> None:
    prepare(mixed_photo_folder, tmp_path / "out", size=32, test_fraction=0.0, workers=1)
    data = load_prepared(tmp_path / "out")
    row = data.files("train").index("rotated.jpg")
    upright = to_square(read_image(mixed_photo_folder / "rotated.jpg", min_size=32), 32)
    np.testing.assert_array_equal(data.split("train").rgb[row], upright)
    as_stored = to_square(np.asarray(Image.open(mixed_photo_folder / "rotated.jpg").convert("RGB")), 32)
    assert np.abs(upright.astype(int) - as_stored.astype(int)).mean() > 5


def test_split_is_seeded_deterministic_and_stable() -> None:
    names = [f"img{i:03d}.jpg" for i in range(40)]
    train, test = split_names(names, 0.25, seed=0)
    assert len(test) == 10 and len(train) == 30 and not set(train) & set(test)
    assert split_names(names, 0.25, seed=0) == (train, test)
    assert split_names(names, 0.25, seed=1)[1] != test
    assert train == sorted(train) and test == sorted(test)
    _, test_more = split_names(names + ["zzz_new.jpg"], 0.25, seed=0)
    assert len(set(test) & set(test_more)) >= 8  # adding a file barely moves the split
    assert split_names(["a.jpg", "b.jpg"], 0.01, seed=0)[1] != []
    assert split_names(["a.jpg"], 0.5, seed=0) == (["a.jpg"], [])
    assert split_names(names, 0.0, seed=0) == (names, [])


def test_progress_and_end_events(photo_folder: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    result = prepare(photo_folder, tmp_path / "out", size=16, workers=1, callbacks=[recorder])
    done = [event.done for event in recorder.progress]
    assert done == list(range(0, len(PHOTO_FOLDER_SPECS) + 1))
    assert all(event.total == len(PHOTO_FOLDER_SPECS) for event in recorder.progress)
    assert [end.status for end in recorder.ends] == ["finished"]
    assert recorder.ends[0].summary["n_train"] == result.n_train


class StopAfter:
    def __init__(self, stop: StopFlag, count: int) -> None:
        self.stop, self.count = stop, count

    def on_progress(self, event) -> None:
        if event.done >= self.count:
            self.stop.request_stop()


@pytest.mark.parametrize("workers", [1, 2])
def test_cancel_leaves_no_dataset(mixed_photo_folder: Path, tmp_path: Path, workers: int) -> None:
    stop = StopFlag()
    recorder = Recorder()
    out = tmp_path / "out"
    result = prepare(mixed_photo_folder, out, size=16, workers=workers, stop=stop,
                     callbacks=[StopAfter(stop, 3), recorder])
    assert result.cancelled
    assert not out.exists()
    assert leftovers(tmp_path, "out") == []
    assert recorder.ends[-1].status == "stopped"


def test_crash_midway_leaves_no_dataset_and_keeps_the_old_one(photo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    prepare(photo_folder, out, size=16, workers=1)
    before = (out / MANIFEST_NAME).read_text()

    class Crash:
        def on_progress(self, event) -> None:
            if event.done == 3:
                raise RuntimeError("simulated crash")

    recorder = Recorder()
    with pytest.raises(RuntimeError, match="simulated crash"):
        prepare(photo_folder, out, size=32, workers=1, overwrite=True, callbacks=[Crash(), recorder])
    assert (out / MANIFEST_NAME).read_text() == before
    assert load_prepared(out).size == 16
    assert leftovers(tmp_path, "out") == []
    assert recorder.ends[-1].status == "failed" and recorder.errors


def test_pause_then_resume_finishes(photo_folder: Path, tmp_path: Path) -> None:
    stop = StopFlag()
    stop.pause()
    timer = threading.Timer(0.3, stop.resume)
    timer.start()
    result = prepare(photo_folder, tmp_path / "out", size=16, workers=1, stop=stop)
    timer.join()
    assert not result.cancelled and result.n_train + result.n_test == len(PHOTO_FOLDER_SPECS)


def test_output_folder_rules(photo_folder: Path, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.docx").write_text("important")
    with pytest.raises(DatasetError, match="not a prepared dataset"):
        prepare(photo_folder, busy, size=16, workers=1)
    assert (busy / "thesis.docx").read_text() == "important"

    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare(photo_folder, empty, size=16, workers=1).n_train == 6

    with pytest.raises(DatasetError, match="already holds a prepared dataset") as refused:
        prepare(photo_folder, empty, size=16, workers=1)
    assert refused.value.advice == (Advice("overwrite", ON),)  # worded by each front end
    prepare(photo_folder, empty, size=24, workers=1, overwrite=True)
    assert load_prepared(empty).size == 24
    assert leftovers(tmp_path, "empty") == []

    with pytest.raises(DatasetError, match="must not be the source"):
        prepare(photo_folder, photo_folder, size=16, workers=1)


def test_unusable_sources_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="source folder not found"):
        prepare(tmp_path / "missing", tmp_path / "out")
    file_source = write_photo(tmp_path / "one.jpg")
    with pytest.raises(DatasetError, match="not a folder"):
        prepare(file_source, tmp_path / "out")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        prepare(tmp_path / "nothing", tmp_path / "out")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match=r"none of the 1 image files.*a\.jpg: empty file"):
        prepare(broken, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "kwargs, message",
    [({"size": 4}, "size"), ({"test_fraction": 1.0}, "test fraction"), ({"saliency": "x"}, "saliency"),
     ({"canny_low": 200, "canny_high": 100}, "canny low"), ({"workers": 0}, "workers")],
)
def test_bad_parameters(photo_folder: Path, tmp_path: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        prepare(photo_folder, tmp_path / "out", **kwargs)


def test_load_prepared_rejects_what_is_not_a_dataset(prepared_dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="folder not found"):
        load_prepared(tmp_path / "missing")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(DatasetError, match="not a prepared dataset"):
        load_prepared(plain)
    (plain / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DatasetError, match="damaged") as info:
        load_prepared(plain)
    assert str(plain) in str(info.value)

    (prepared_dataset / "test_edge.npy").unlink()
    with pytest.raises(DatasetError, match="test_edge.npy is missing"):
        load_prepared(prepared_dataset)
    rgb = prepared_dataset / "train_rgb.npy"
    rgb.write_bytes(rgb.read_bytes()[:-1000])
    with pytest.raises(DatasetError, match="train_rgb.npy"):
        load_prepared(prepared_dataset)


def test_the_manifest_is_typed_and_reads_back_what_prepare_wrote(prepared_dataset: Path) -> None:
    written = json.loads((prepared_dataset / MANIFEST_NAME).read_text(encoding="utf-8"))
    manifest = load_prepared(prepared_dataset).manifest
    assert isinstance(manifest, Manifest) and manifest == read_manifest(prepared_dataset)
    assert manifest.to_dict() == written  # the file is exactly the typed object's dict
    assert Manifest.from_dict(written, "m.json") == manifest
    assert (manifest.size, manifest.saliency, manifest.seed, manifest.crops_per_photo) == (64, "spectral", 0, 0)
    assert manifest.splits == {"train": 6, "test": 2} and manifest.photos == manifest.files
    assert manifest.skipped == () and manifest.provenance["versions"] == written["versions"]
    skipped = Manifest.from_dict(written | {"skipped": [{"path": "a/b.jpg", "reason": "empty file"}]}, "m.json")
    assert skipped.skipped == (SkippedFile("a/b.jpg", "empty file"),)

    older = {k: v for k, v in written.items() if k not in ("photos", "crops_per_photo")}  # before crops existed
    assert Manifest.from_dict(older, "m.json").photos == manifest.photos


@pytest.mark.parametrize("change, message", [
    ({"format_version": 7}, "format version 7 is not supported"),
    ({"size": "64"}, "size must be an integer of at least 8"),
    ({"splits": {"train": 5, "test": 2}}, "split 'train' is inconsistent"),
    ({"files": {"train": [1, 2], "test": []}}, "split 'train' is inconsistent"),
    ({"skipped": ["a.jpg"]}, "skipped must be a list"),
    ({"canny": {"low": "high", "high": None}}, "canny low must be null or a number"),
    ({"seed": 1.5}, "seed must be an integer"),
])
def test_a_bad_manifest_is_a_dataset_error_naming_the_file(prepared_dataset: Path, change: dict,
                                                           message: str) -> None:
    path = prepared_dataset / MANIFEST_NAME
    path.write_text(json.dumps(json.loads(path.read_text(encoding="utf-8")) | change), encoding="utf-8")
    with pytest.raises(DatasetError, match=message) as info:
        load_prepared(prepared_dataset)
    assert str(path) in str(info.value)
    with pytest.raises(DatasetError, match="not a prepared-dataset manifest"):
        Manifest.from_dict(["a list"], path)


def test_the_old_module_name_still_loads_datasets(prepared_dataset: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import colorcore.data.prepared

    monkeypatch.delitem(sys.modules, "colorcore.dataset", raising=False)
    with pytest.warns(DeprecationWarning, match="colorcore.dataset moved to colorcore.data.prepare"):
        from colorcore.dataset import DatasetError as OldError, load_prepared as old_load_prepared
    assert old_load_prepared is colorcore.data.prepared.load_prepared and OldError is DatasetError
    assert old_load_prepared(prepared_dataset).manifest.splits == {"train": 6, "test": 2}


def test_tensors_feed_the_model_batch(prepared_dataset: Path) -> None:
    import torch

    from colorcore.core.tensors import batch_from_uint8

    rgb, edge, saliency = load_prepared(prepared_dataset).tensors("train", "cpu")
    assert rgb.dtype == edge.dtype == saliency.dtype == torch.uint8
    assert rgb.shape == (6, 64, 64, 3) and edge.shape == (6, 64, 64)
    batch = batch_from_uint8(rgb, edge, saliency)
    assert batch["edge"].unique().tolist() == [0.0, 1.0]
    assert float(batch["rgb"].min()) >= -1.0 and float(batch["rgb"].max()) <= 1.0


def test_dataset_module_does_not_import_torch() -> None:
    code = "import sys, colorcore.data.prepare; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def test_random_crops_cut_from_halvings_match_a_direct_resize() -> None:
    """Crops are resized from the halving that still holds `size` px: the box average of a direct
    INTER_AREA resize of the same square, up to rounding its position to that level's grid."""
    import cv2

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:600, 0:900].astype(np.float32)
    image = np.stack([xx / 900 * 255, yy / 600 * 255, 128 + 60 * np.sin(xx / 150) * np.cos(yy / 170)], axis=2)
    image = np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8)
    levels = halvings(image, 64)
    assert [lv.shape[:2] for lv in levels] == [(600, 900), (300, 450), (150, 225), (75, 112)]
    np.testing.assert_allclose(levels[1].astype(float), cv2.resize(image, (450, 300), interpolation=cv2.INTER_AREA),
                               atol=1)
    crops = random_crops(image, 64, 40, np.random.default_rng(5))
    replay = np.random.default_rng(5)
    for crop in crops:
        scale = np.exp(replay.uniform(np.log(CROP_MIN_SCALE), 0.0))
        side = int(min(600, max(64, round(scale * 600))))
        top, left = int(replay.integers(0, 600 - side + 1)), int(replay.integers(0, 900 - side + 1))
        direct = to_square(image[top:top + side, left:left + side], 64)
        if replay.random() < 0.5:
            direct = direct[:, ::-1]
        assert crop.shape == (64, 64, 3) and crop.dtype == np.uint8
        assert np.abs(crop.astype(float) - direct).mean() < 2.0  # same content, grid-rounded position


def test_the_preview_is_the_first_sample_prepare_writes(photo_folder: Path, tmp_path: Path) -> None:
    """What the Dataset tab previews for a photo is byte for byte its centre sample in the dataset."""
    data = prepare(photo_folder, tmp_path / "data", size=48, test_fraction=0.0, seed=0, saliency="spectral")
    assert data.n_train > 0
    dataset = load_prepared(tmp_path / "data")
    names = dataset.files("train")
    split = dataset.split("train")
    for index, name in enumerate(names[:3]):
        photo = read_image(photo_folder / name, min_size=48)  # the reduced decode prepare uses
        [(shown_name, (rgb, gray, edges, saliency))] = preview_samples([(name, photo)], 48, None, "spectral")
        assert shown_name == name
        np.testing.assert_array_equal(rgb, split.rgb[index])
        np.testing.assert_array_equal(edges, split.edge[index])
        np.testing.assert_array_equal(saliency, split.saliency[index])
        assert gray.shape == (48, 48) and gray.dtype == np.uint8
    assert dataset.manifest.canny_auto and dataset.manifest.canny_description == "auto (image median)"
    half_auto = Manifest.from_dict(dataset.manifest.to_dict() | {"canny": {"low": 50, "high": None}}, "m.json")
    assert half_auto.canny_auto and half_auto.canny_description == "low 50, high auto"
