"""Every picture Pillow reads is colourised, and no single file stops a batch (issues 27 and 29).

The corpus is made here with Pillow (and OpenCV for 16-bit colour): every mode Pillow has a writer
for (1, L, LA, P with and without transparency, PA, I, I;16, F, RGB, RGBA, CMYK, LAB, YCbCr), 16-bit
PNG and TIFF, 1x1, 1xN and Nx1 pictures, EXIF-rotated ones, animated GIF, APNG and WebP and a
multi-page TIFF, and the other formats Pillow reads (PPM, TGA, JPEG 2000, ...). It goes through
`colorcore colorize` (in-process and as a real process), the engine's `colorize_many`, the Colourise
tab, `colorcore prepare` and the reference photo reader. Also: symbolic link loops, a second colorize
run into the same folder, model files no model can be (image_size 0, NaN weights), a hints file nested
100,000 deep, an impossible --inference-size, the empty --out folder of a batch that failed, and
`prepare` leaving colorize's own outputs out.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from colorcore.inference.batch import BatchItem, colorize_many, output_path
from colorcore.cli import main
from colorcore.inference.chroma import L_TOLERANCE, lab_l8
from colorcore.commands.colorize import collect_items
from colorcore.core.events import ItemEvent
from colorcore.data.imageio import read_image
from tests.helpers import make_photo_array, write_photo
from tests.gui_fixtures import gui_settings, isolated_qsettings  # noqa: F401 (fixtures)

WIDTH, HEIGHT = 48, 36
LOSSLESS_OUTPUTS = (".png", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class OddFile:
    """One picture of the corpus: its name, the (height, width) it shows upright, its frame count,
    and whether it has transparency (its output then keeps an alpha channel)."""

    name: str
    shape: tuple[int, int]
    frames: int = 1
    alpha: bool = False


def write_odd_corpus(folder: Path) -> list[OddFile]:
    """Write the corpus into `folder`; returns what each file is."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = make_photo_array(WIDTH, HEIGHT, seed=3)
    base = Image.fromarray(rgb)
    gray = base.convert("L")
    palette = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    alpha = Image.fromarray(np.tile(np.linspace(40, 255, WIDTH).astype(np.uint8), (HEIGHT, 1)))
    rgba = base.copy()
    rgba.putalpha(alpha)
    files: list[OddFile] = []

    def save(name: str, image: Image.Image, *, shape: tuple[int, int] = (HEIGHT, WIDTH), has_alpha: bool = False,
             **options: object) -> None:
        image.save(folder / name, **options)
        files.append(OddFile(name, shape, alpha=has_alpha))

    for ext in ("png", "bmp", "tif", "pbm", "xbm", "msp"):
        save(f"bilevel.{ext}", base.convert("1"))
    save("bilevel_g4.tif", base.convert("1"), compression="group4")
    save("gray.png", gray)
    save("gray.jpg", gray)
    save("gray.pgm", gray)
    save("gray_alpha.png", Image.merge("LA", (gray, alpha)), has_alpha=True)
    save("gray_alpha.tif", Image.merge("LA", (gray, alpha)), has_alpha=True)
    for ext in ("png", "gif", "bmp", "tif", "pcx"):
        save(f"palette.{ext}", palette)
    save("palette_transparent.png", palette, transparency=3, has_alpha=True)
    save("palette_transparent.gif", palette, transparency=3, has_alpha=True)
    save("palette_alpha.tif", palette.convert("PA"), has_alpha=True)
    save("int32.tif", gray.convert("I"))
    save("float.tif", gray.convert("F"))
    save("float_unit.tif", Image.fromarray(np.asarray(gray, np.float32) / 255.0))
    save("gray16.png", Image.fromarray(np.asarray(gray, np.uint16) * 257))
    save("gray16.tif", Image.fromarray(np.asarray(gray, np.uint16) * 257))
    for ext in ("png", "jpg", "webp", "tif", "ppm", "tga", "sgi", "qoi", "jp2"):
        save(f"rgb.{ext}", base)
    save("icon.ico", base.resize((32, 32)), shape=(32, 32), sizes=[(32, 32)])
    save("rgba.png", rgba, has_alpha=True)
    save("rgba.webp", rgba, has_alpha=True, lossless=True)
    save("rgba.tif", rgba, has_alpha=True)
    save("rgba.dds", rgba, has_alpha=True)
    save("cmyk.jpg", base.convert("CMYK"))
    save("cmyk.tif", base.convert("CMYK"))
    save("lab.tif", base.convert("LAB"))
    save("ycbcr.tif", base.convert("YCbCr"))
    for ext in ("png", "tif"):
        cv2.imwrite(str(folder / f"rgb16.{ext}"), cv2.cvtColor(rgb.astype(np.uint16) * 257, cv2.COLOR_RGB2BGR))
        files.append(OddFile(f"rgb16.{ext}", (HEIGHT, WIDTH)))
    save("one_pixel.png", Image.new("RGB", (1, 1), (200, 30, 40)), shape=(1, 1))
    save("one_pixel.jpg", Image.new("RGB", (1, 1), (200, 30, 40)), shape=(1, 1))
    save("one_pixel_gray.png", Image.new("L", (1, 1), 7), shape=(1, 1))
    save("one_pixel_bilevel.tif", Image.new("1", (1, 1), 1), shape=(1, 1))
    save("one_row.png", base.resize((37, 1)), shape=(1, 37))
    save("one_column.jpg", base.resize((1, 29)), shape=(29, 1))
    save("one_row_palette.gif", palette.resize((40, 1)), shape=(1, 40))
    for orientation, ext in ((6, "jpg"), (8, "png"), (3, "webp"), (5, "tif")):
        exif = Image.Exif()
        exif[0x0112] = orientation
        turned = (WIDTH, HEIGHT) if orientation >= 5 else (HEIGHT, WIDTH)
        save(f"rotated{orientation}.{ext}", base, shape=turned, exif=exif.tobytes())
    frames = [Image.fromarray(make_photo_array(40, 30, seed=s)) for s in range(3)]
    for name in ("animated.gif", "animated.png", "animated.webp", "pages.tif"):
        frames[0].save(folder / name, save_all=True, append_images=frames[1:], duration=100, loop=0)
        files.append(OddFile(name, (30, 40), frames=3))
    return files


def tiny_model_file(path: Path, *, image_size: int = 64, weights: float | None = None) -> Path:
    """A real exported model file of a tiny multipath model (seeded init); `image_size` is written into
    its metadata as given, `weights` (e.g. NaN) fills every generator weight."""
    from safetensors.torch import save_file

    from colorcore.models.checkpoint import METADATA_KEY, model_metadata
    from colorcore.models.base import ModelConfig, build_model

    torch.manual_seed(0)
    config = ModelConfig(width=8, resnet_weights="none")
    model = build_model(config)
    tensors = {k: v.detach().clone().contiguous() for k, v in model.generator.state_dict().items()}
    if weights is not None:
        for tensor in tensors.values():
            if tensor.is_floating_point():
                tensor.fill_(weights)
    meta = model_metadata(config, {})
    meta["model_config"]["image_size"] = image_size
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={METADATA_KEY: json.dumps(meta)})
    return path


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model_file(tmp_path_factory.mktemp("model") / "tiny.safetensors")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[OddFile]]:
    folder = tmp_path_factory.mktemp("odd")
    return folder, write_odd_corpus(folder)


def tiny_model():
    from colorcore.models.base import ModelConfig, build_model

    torch.manual_seed(0)
    return build_model(ModelConfig(width=8, resnet_weights="none")).eval()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """`colorcore ARGS` as a real process (as a user runs it)."""
    return subprocess.run([sys.executable, "-m", "colorcore", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def luminance_kept(output: Path, source: Path) -> bool:
    return int(np.abs(lab_l8(read_image(output)).astype(int) - lab_l8(read_image(source))).max()) <= L_TOLERANCE


def test_every_picture_of_the_corpus_is_read_upright_as_writable_rgb(corpus) -> None:
    folder, files = corpus
    for odd in files:
        image = read_image(folder / odd.name, keep_alpha=True)
        assert image.shape == (*odd.shape, 4 if odd.alpha else 3), odd.name
        assert image.dtype == np.uint8 and image.flags.writeable and image.flags.c_contiguous, odd.name
    gray = read_image(folder / "gray.png")
    for name in ("float.tif", "float_unit.tif", "int32.tif", "gray16.png", "gray16.tif"):
        assert np.abs(read_image(folder / name).astype(int) - gray).max() <= 1, name  # the same picture


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw", "tiff_deflate", "packbits"])
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK", "1", "P"])
def test_a_tiff_is_turned_upright_once_whichever_decoder_reads_it(tmp_path, mode, compression) -> None:
    """OpenCV and (for most TIFFs) Pillow apply a TIFF's orientation tag while decoding: never twice."""
    from colorcore.data.imageio import _apply_orientation

    source = Image.fromarray(make_photo_array(48, 36, seed=1)).convert(mode)
    plain = np.asarray(source.convert("RGB"))
    for orientation in range(1, 9):
        path = tmp_path / f"o{orientation}.tif"
        source.save(path, compression=compression, tiffinfo={0x0112: orientation})
        assert np.array_equal(read_image(path), _apply_orientation(plain, orientation)), orientation


def test_a_header_its_format_recognises_but_cannot_read_is_named_as_damaged(tmp_path) -> None:
    from colorcore.data.imageio import ImageReadError

    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDX" + bytes(40))
    with pytest.raises(ImageReadError, match="damaged or unsupported PNG header"):
        read_image(path)
    path.write_bytes(b"just text, not a picture")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(path)


def test_colorize_takes_every_picture_of_the_corpus_at_its_own_size(corpus, model_file, tmp_path, capsys) -> None:
    folder, files = corpus
    out = tmp_path / "out"
    code = main(["colorize", str(model_file), str(folder), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Traceback" not in captured.err and f"colourised {len(files)} of {len(files)} file(s)" in captured.err
    written = [Path(line) for line in captured.out.splitlines()]
    items, problems = collect_items([folder], out, "_colour", "same")
    by_source = {item.source.name: item.target for item in items}
    assert not problems and sorted(by_source) == sorted(odd.name for odd in files)
    assert sorted(written) == sorted(by_source.values()) and len(set(written)) == len(files)  # one output each
    for odd in files:
        target = by_source[odd.name]
        result = read_image(target, keep_alpha=True)
        assert result.shape[:2] == odd.shape, odd.name
        if target.suffix in LOSSLESS_OUTPUTS and not odd.alpha:
            assert luminance_kept(target, folder / odd.name), odd.name
        if odd.frames > 1:
            assert f"{odd.name}: animated or multi-page file: only the first of its 3 frames" in captured.err
    assert {by_source["animated.gif"].name, by_source["animated.png"].name} == {"animated_colour.png",
                                                                                "animated_colour_2.png"}
    colour = read_image(by_source["cmyk.tif"])
    assert not np.array_equal(colour[..., 0], colour[..., 1])  # colourised, not copied gray


def test_a_symlink_loop_is_named_and_the_valid_photos_are_colourised(model_file, tmp_path) -> None:
    if not hasattr(os, "symlink"):
        pytest.skip("no symbolic links here")
    folder = tmp_path / "album"
    folder.mkdir()
    rgb = Image.fromarray(make_photo_array(64, 48, seed=5))
    rgb.convert("CMYK").save(folder / "print.jpg")
    rgb.convert("CMYK").save(folder / "print.tif")
    rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(folder / "icon.png")
    rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(folder / "clear.png", transparency=0)
    rgb.convert("1").save(folder / "fax.png")
    rgb.convert("LAB").save(folder / "lab.tif")
    try:
        os.symlink("loop_b.jpg", folder / "loop_a.jpg")
    except OSError as exc:
        pytest.skip(f"cannot make symbolic links here: {exc}")
    os.symlink("loop_a.jpg", folder / "loop_b.jpg")
    os.symlink("self.png", folder / "self.png")
    os.symlink("gone.jpg", folder / "dangling.jpg")
    out = tmp_path / "out"
    result = run_cli("colorize", str(model_file), str(folder), "--out", str(out))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    for name in ("loop_a.jpg", "loop_b.jpg", "self.png"):
        assert f"{folder / name}: symbolic link loop" in result.stderr
    assert f"{folder / 'dangling.jpg'}: broken symbolic link" in result.stderr
    produced = sorted(p.name for p in out.iterdir())
    assert produced == ["clear_colour.png", "fax_colour.png", "icon_colour.png", "lab_colour.tif",
                        "print_colour.jpg", "print_colour.tif"]
    assert "colourised 6 of 10 file(s); 4 failed" in result.stderr
    direct = run_cli("colorize", str(model_file), str(folder / "loop_a.jpg"), "--out", str(out))
    assert direct.returncode == 2 and "symbolic link loop" in direct.stderr and "Traceback" not in direct.stderr


def test_the_engine_fails_only_the_file_whatever_the_exception(corpus, tmp_path, caplog) -> None:
    """A model that cannot run (half-precision weights on the CPU: a RuntimeError, not an OSError or
    ValueError) fails each file by name; the batch goes on to the end and logs each traceback."""
    folder, files = corpus
    broken = tiny_model()
    broken.generator.to(torch.float16)
    names = ["one_pixel.png", "cmyk.jpg", "palette.gif"]
    items = [BatchItem(folder / name, output_path(folder / name, tmp_path / "out")) for name in names]
    events: list[ItemEvent] = []

    class Listener:
        def on_item(self, event: ItemEvent) -> None:
            events.append(event)

    with caplog.at_level(logging.ERROR, logger="colorcore.inference.batch"):
        result = colorize_many(items, broken, [Listener()])
    assert (result.status, result.done, result.failed) == ("finished", 0, 3)
    failures = [e for e in events if e.status == ItemEvent.FAILED]
    assert [e.source.name for e in failures] == names
    assert all(e.message.startswith(f"{e.source}: unexpected error (RuntimeError") for e in failures)
    tracebacks = [r for r in caplog.records if r.name == "colorcore.inference.batch" and r.exc_info]
    assert len(tracebacks) == 3 and "RuntimeError" in caplog.text
    assert not (tmp_path / "out").exists()  # the folder made for the outputs is not left empty

    good = colorize_many(items, tiny_model())
    assert (good.done, good.failed) == (3, 0)
    assert all(item.target.is_file() for item in items)


def test_an_engine_bug_shows_its_traceback_only_with_debug(model_file, tmp_path, capsys, monkeypatch) -> None:
    photo = write_photo(tmp_path / "p.jpg", 64, 48, seed=1)

    def broken_box_filter(*args, **kwargs):  # OpenCV failing in a way no photo explains
        raise KeyError("box filter")

    monkeypatch.setattr(cv2, "boxFilter", broken_box_filter)
    assert main(["colorize", str(model_file), str(photo), "--out", str(tmp_path / "a")]) == 1
    err = capsys.readouterr().err
    assert f"{photo}: unexpected error (KeyError" in err and "--debug" in err and "Traceback" not in err
    assert main(["colorize", str(model_file), str(photo), "--out", str(tmp_path / "b"), "--debug"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "broken_box_filter" in err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_an_output_another_run_writes_meanwhile_is_never_replaced(tmp_path) -> None:
    """The output appears while the batch works on a video (as a second colorize process into the same
    folder would write it): the batch refuses, as it does for a file there before, and keeps it."""
    from tests.video_clips import film_clip, write_clip

    clip = write_clip(tmp_path / "walk.mp4", film_clip((96, 64), 6).frames)
    target = tmp_path / "out" / "walk_colour.mp4"

    class OtherRun:
        def on_item_progress(self, event) -> None:
            if event.done == 2 and not target.exists():
                target.write_bytes(b"the other run's video")

    result = colorize_many([BatchItem(clip, target)], tiny_model(), [OtherRun()])
    assert (result.done, result.failed) == (0, 1)
    assert target.read_bytes() == b"the other run's video"
    assert sorted(p.name for p in target.parent.iterdir()) == ["walk_colour.mp4"]  # no hidden file left


def test_two_colorize_processes_into_one_folder_claim_each_output_once(model_file, tmp_path) -> None:
    folder = tmp_path / "photos"
    for index in range(6):
        write_photo(folder / f"p{index}.png", 96, 72, seed=40 + index)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "colorcore", "colorize", str(model_file), str(folder), "--out", str(out)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    claimed = [line for _, stdout, _ in results for line in stdout.splitlines()]
    assert sorted(claimed) == sorted(str(out / f"p{i}_colour.png") for i in range(6))  # each output by one run
    for code, _, stderr in results:
        assert code in (0, 1, 2) and "Traceback" not in stderr
        refused = [line for line in stderr.splitlines() if line.startswith("colorcore colorize: ")]
        assert all("exists" in line for line in refused)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"p{i}_colour.png" for i in range(6))


def test_an_out_folder_is_not_left_empty_when_every_file_failed(model_file, tmp_path, capsys) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "made" / "by" / "colorize"
    assert main(["colorize", str(model_file), str(folder), "--out", str(out)]) == 1
    assert not (tmp_path / "made").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    assert main(["colorize", str(model_file), str(folder), "--out", str(kept)]) == 1
    assert kept.is_dir()  # the user's own folder stays
    capsys.readouterr()


@pytest.mark.parametrize(
    "flag, message",
    [("--inference-size 99968", "--inference-size must be between 1 and 2048"),
     ("--hints {deep}", "nested too deeply"),
     ("--model {zero}", "image_size 0"),
     ("--model {nan}", "NaN or infinite")],
)
def test_impossible_settings_are_one_line_and_exit_2(model_file, tmp_path, capsys, flag, message) -> None:
    photo = write_photo(tmp_path / "p.jpg", 64, 48, seed=2)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    values = {"deep": deep, "zero": tiny_model_file(tmp_path / "zero.safetensors", image_size=0),
              "nan": tiny_model_file(tmp_path / "nan.safetensors", weights=float("nan"))}
    args = [part.format(**values) for part in flag.split()]
    if args[0] != "--model":
        args += ["--model", str(model_file)]
    assert main(["colorize", str(photo), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p_colour.jpg").exists()


def test_non_finite_predictions_fail_the_file_instead_of_colouring_it_gray(tmp_path) -> None:
    model = tiny_model()
    with torch.no_grad():
        for param in model.generator.parameters():
            param.fill_(float("inf"))
    photo = write_photo(tmp_path / "p.png", 64, 48, seed=3)
    events: list[ItemEvent] = []

    class Listener:
        def on_item(self, event: ItemEvent) -> None:
            events.append(event)

    result = colorize_many([BatchItem(photo, tmp_path / "p_colour.png")], model, [Listener()])
    assert result.failed == 1 and "NaN or infinite colours" in events[-1].message
    assert not (tmp_path / "p_colour.png").exists()


def test_prepare_reads_the_corpus_and_leaves_colorize_outputs_out(corpus, tmp_path, capsys) -> None:
    import shutil

    folder, files = corpus
    photos = tmp_path / "photos"
    shutil.copytree(folder, photos)
    write_photo(photos / "cat.jpg", 80, 60, seed=7)
    write_photo(photos / "cat_colour.jpg", 80, 60, seed=8)  # as `colorcore colorize cat.jpg` leaves it
    write_photo(photos / "cat_colour_2.jpg", 80, 60, seed=9)
    code = main(["prepare", str(photos), str(tmp_path / "data"), "--test-fraction", "0", "--workers", "1"])
    captured = capsys.readouterr()
    assert code == 0 and "Traceback" not in captured.err
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    prepared = set(manifest["files"]["train"]) | set(manifest["files"]["test"])
    skipped = {entry["path"]: entry["reason"] for entry in manifest["skipped"]}
    assert prepared == {odd.name for odd in files} | {"cat.jpg"}
    assert set(skipped) == {"cat_colour.jpg", "cat_colour_2.jpg"}
    assert all("colourised output of colorcore colorize" in reason for reason in skipped.values())


def test_the_reference_reader_takes_the_odd_pictures(corpus, model_file, tmp_path, capsys) -> None:
    """The reference photo path reads through `read_image` (every picture of the corpus: above); here
    through `load_reference` and `colorize --reference` for a few of the oddest."""
    from colorcore.inference.colour_control import load_reference

    folder, _ = corpus
    for name in ("cmyk.jpg", "palette_transparent.gif", "lab.tif", "one_pixel.png", "animated.webp"):
        assert load_reference(folder / name) is not None, name
    photo = write_photo(tmp_path / "p.jpg", 64, 48, seed=4)
    code = main(["colorize", str(model_file), str(photo), "--reference", str(folder / "cmyk.tif"),
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0 and "Traceback" not in err, err
    assert (tmp_path / "out" / "p_colour.jpg").is_file()


def test_the_colourise_tab_colourises_odd_photos_and_names_a_loop(qtbot, gui_settings, model_file, tmp_path):  # noqa: F811
    from app.main_window import MainWindow

    folder = tmp_path / "album"
    folder.mkdir()
    rgb = Image.fromarray(make_photo_array(64, 48, seed=6))
    rgb.convert("CMYK").save(folder / "print.jpg")
    rgb.convert("1").save(folder / "fax.png")
    Image.new("RGB", (1, 1), (10, 200, 30)).save(folder / "dot.png")
    frames = [rgb, rgb.rotate(90)]
    frames[0].save(folder / "spin.gif", save_all=True, append_images=frames[1:])
    try:
        os.symlink("loop.jpg", folder / "loop.jpg")
    except (OSError, AttributeError):
        pass  # the rest of the test still holds
    win = MainWindow(gui_settings)
    qtbot.addWidget(win)
    try:
        tab = win.colorize_tab
        tab.set_output_dir(str(tmp_path / "out"))
        tab.open_model(str(model_file))
        assert tab.add_paths([str(folder)]) == 4
        if (folder / "loop.jpg").is_symlink():
            assert "symbolic link loop" in tab.message_label.text()
        qtbot.waitUntil(lambda: not tab.is_busy(), timeout=120_000)
        assert [item.status for item in tab.items()] == ["Done"] * 4
        assert all(item.out_path.is_file() for item in tab.items())
        row = [item.path.name for item in tab.items()].index("spin.gif")
        from app.tabs.colorize import COL_STATUS

        assert tab.table.item(row, COL_STATUS).text().startswith("Done: animated or multi-page file: only the first")
    finally:
        win.shutdown()

