"""Build the one-folder ColorCore Studio bundle with PyInstaller, report its size, optionally smoke-test it.

    python packaging/build.py              # build dist/colorcore-studio/ (GUI + CLI, one folder)
    python packaging/build.py --smoke      # build, then run the frozen `colorcore-studio --self-test`
    python packaging/build.py --smoke --no-build   # only smoke-test an existing bundle
    python packaging/build.py --cpu-note   # how to build the much smaller CPU-only bundle
    python packaging/build.py --probe      # build the small frozen probe (same datas, no heavy libraries), run it

The last line printed is a JSON summary (build seconds, bundle bytes, largest parts, self-test result).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "colorcore-studio.spec"
APP_NAME = "colorcore-studio"
CLI_NAME = "colorcore"
PROBE_NAME = "colorcore-probe"
PROBE_ENV = "COLORCORE_BUNDLE_PROBE"  # the spec builds the probe when this is "1"
PROBE_TIMEOUT_S = 1800  # a hang guard
DEFAULT_DIST = ROOT / "dist"
DEFAULT_WORK = ROOT / "build" / "pyinstaller"
LARGEST_PARTS = 12
SMOKE_TIMEOUT_S = 1800
# shared libraries whose path names one of these belong to CUDA only (NVIDIA libraries, torch's CUDA
# parts): their total, subtracted from the bundle, estimates a CPU-only bundle of the same app
CUDA_ONLY_NAMES = re.compile(
    r"(^|[^a-z]|lib)(nvidia|cuda|cudnn|cublas|cufft|curand|cusolver|cusparse|nccl|nvrtc|nvjitlink|nvshmem|cupti|nvtx)"
)
SHARED_LIBRARY_SUFFIXES = (".so", ".dll", ".dylib")
# libraries of Qt modules and Qt bindings the spec excludes: any found in the bundle is reported
UNWANTED_LIBRARIES = re.compile(
    r"Qt6?(WebEngine|Quick|Qml|3D|Multimedia|Charts|DataVisualization|Graphs|Pdf|Sql|Test)|PyQt[56]|PySide2"
    r"|_tkinter|(^|/)(lib)?(tcl|tk)\d"
)
CPU_NOTE = """\
CPU-only bundle (runs on every machine; estimated about 1.1 GiB against 4.5 GiB for the CUDA one):

  python -m venv .venv-cpu
  . .venv-cpu/bin/activate            # Windows: .venv-cpu\\Scripts\\activate
  pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu
  pip install -e ".[package]"         # the rest from PyPI; torch stays the CPU build
  python packaging/build.py --smoke

The bundle carries whichever torch the building environment has: a CUDA wheel (PyPI's default on
Linux) brings the NVIDIA libraries (several GB), a CPU wheel does not. macOS wheels are CPU/MPS only.
Check which one you have with: python -c "import torch; print(torch.__version__, torch.version.cuda)"
"""


def format_bytes(count: int) -> str:
    """Human size with binary units (e.g. 4.2 GiB)."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    raise AssertionError("unreachable")


def folder_size(path: Path) -> int:
    """Bytes of every regular file below `path` (symbolic links not followed or counted)."""
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def largest_parts(bundle: Path, count: int = LARGEST_PARTS) -> list[tuple[str, int]]:
    """The biggest top-level entries of the bundle's library folder (or the bundle itself)."""
    internal = bundle / "_internal"
    base = internal if internal.is_dir() else bundle
    sizes = []
    for entry in base.iterdir():
        size = folder_size(entry) if entry.is_dir() else (0 if entry.is_symlink() else entry.stat().st_size)
        sizes.append((str(entry.relative_to(bundle)), size))
    return sorted(sizes, key=lambda item: item[1], reverse=True)[:count]


def is_shared_library(name: str) -> bool:
    """True for libfoo.so, libfoo.so.12, foo.dll and foo.dylib."""
    return name.endswith(SHARED_LIBRARY_SUFFIXES) or ".so." in name


def cuda_only_bytes(bundle: Path) -> int:
    """Bytes of the bundle's shared libraries that a CPU-only torch would not bring."""
    total = 0
    for root, _, files in os.walk(bundle):
        for name in files:
            file = Path(root) / name
            path = file.relative_to(bundle).as_posix().lower()
            if is_shared_library(name) and not file.is_symlink() and CUDA_ONLY_NAMES.search(path):
                total += file.stat().st_size
    return total


def unwanted_libraries(bundle: Path) -> list[str]:
    """Shared libraries in the bundle that belong to excluded Qt modules or other Qt bindings."""
    found = []
    for root, _, files in os.walk(bundle):
        for name in files:
            path = (Path(root) / name).relative_to(bundle).as_posix()
            if is_shared_library(name) and UNWANTED_LIBRARIES.search(path):
                found.append(path)
    return sorted(found)


def torch_build() -> str:
    """Which torch the build will bundle, e.g. "2.6.0+cu124 (CUDA 12.4)" or "2.6.0+cpu (CPU-only)"."""
    code = "import torch; print(torch.__version__, torch.version.cuda or '')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return f"{out[0]} (CUDA {out[1]})" if len(out) > 1 else f"{out[0]} (CPU-only)"


def run_pyinstaller(dist: Path, work: Path, clean: bool, env: dict[str, str] | None = None) -> float:
    """Run PyInstaller on the spec; return the seconds it took. Exits with its code on failure."""
    command = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm",
               "--distpath", str(dist), "--workpath", str(work), "--log-level", "WARN"]
    if clean:
        command.append("--clean")
    print("$ " + " ".join(command), flush=True)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"build.py: PyInstaller failed with exit code {proc.returncode} after {seconds:.0f} s", file=sys.stderr)
        raise SystemExit(proc.returncode)
    return seconds


def executable(bundle: Path, name: str) -> Path:
    """Path of one of the bundle's executables on this OS."""
    return bundle / (name + (".exe" if sys.platform == "win32" else ""))


def smoke_test(bundle: Path) -> tuple[int, float]:
    """Run the frozen `colorcore-studio --self-test` offscreen; return (exit code, seconds)."""
    exe = executable(bundle, APP_NAME)
    if not exe.is_file():
        print(f"build.py: no executable at {exe}; build first", file=sys.stderr)
        raise SystemExit(2)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    print(f"$ QT_QPA_PLATFORM=offscreen {exe} --self-test", flush=True)
    start = time.perf_counter()
    try:
        code = subprocess.run([str(exe), "--self-test"], env=env, timeout=SMOKE_TIMEOUT_S).returncode
    except subprocess.TimeoutExpired:
        print(f"build.py: the self-test did not finish within {SMOKE_TIMEOUT_S} s", file=sys.stderr)
        code = 124
    return code, time.perf_counter() - start


def probe(dist: Path, work: Path, clean: bool) -> int:
    """Build the frozen probe (packaging/probe.py) from the spec and run it; print a JSON summary; its exit code."""
    folder = dist / PROBE_NAME
    if folder.exists():
        shutil.rmtree(folder)
    build_s = run_pyinstaller(dist, work / "probe", clean, env=dict(os.environ, **{PROBE_ENV: "1"}))
    exe = executable(folder, PROBE_NAME)
    print(f"$ {exe}", flush=True)
    start = time.perf_counter()
    code = subprocess.run([str(exe)], timeout=PROBE_TIMEOUT_S).returncode
    summary = {"probe": str(folder), "build_s": round(build_s, 1), "run_s": round(time.perf_counter() - start, 1),
               "probe_bytes": folder_size(folder), "exit_code": code}
    print(json.dumps(summary))
    return code


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="run the frozen self-test after the build")
    parser.add_argument("--no-build", action="store_true", help="skip PyInstaller (use with --smoke)")
    parser.add_argument("--clean", action="store_true", help="clear PyInstaller's cache and work folder first")
    parser.add_argument("--cpu-note", action="store_true", help="print how to build the CPU-only bundle and exit")
    parser.add_argument("--probe", action="store_true",
                        help="build and run only the small frozen probe (the spec's datas, resources and package "
                        "metadata checked frozen, without torch or Qt; for CI) and exit")
    parser.add_argument("--dist", type=Path, default=DEFAULT_DIST, help=f"output folder (default {DEFAULT_DIST})")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help=f"work folder (default {DEFAULT_WORK})")
    return parser.parse_args()


def main() -> int:
    """Build, measure and optionally smoke-test; return the exit code."""
    args = parse_args()
    if args.cpu_note:
        print(CPU_NOTE, end="")
        return 0
    if args.probe:
        return probe(args.dist, args.work, args.clean)
    bundle = args.dist / APP_NAME
    summary: dict[str, object] = {"platform": sys.platform, "torch": torch_build()}
    print(f"bundling torch {summary['torch']}", flush=True)
    if not args.no_build:
        try:
            import PyInstaller  # noqa: F401  (only checks that it is installed)
        except ImportError:
            print('build.py: PyInstaller is not installed: pip install -e ".[package]"', file=sys.stderr)
            return 2
        if bundle.exists():
            shutil.rmtree(bundle)
        summary["build_s"] = round(run_pyinstaller(args.dist, args.work, args.clean), 1)
        print(f"build time: {summary['build_s']:.0f} s", flush=True)
    if not bundle.is_dir():
        print(f"build.py: no bundle at {bundle}", file=sys.stderr)
        return 2
    size = folder_size(bundle)
    summary["bundle"] = str(bundle)
    summary["bundle_bytes"] = size
    summary["largest_parts"] = dict(largest_parts(bundle))
    print(f"bundle: {bundle} ({format_bytes(size)})")
    for name, part in summary["largest_parts"].items():
        print(f"  {format_bytes(part):>10}  {name}")
    summary["unwanted_libraries"] = unwanted_libraries(bundle)
    if summary["unwanted_libraries"]:
        print("warning: libraries of excluded Qt modules or bindings in the bundle: "
              + ", ".join(summary["unwanted_libraries"]))
    if not str(summary["torch"]).endswith("(CPU-only)"):
        cuda_bytes = cuda_only_bytes(bundle)
        summary["cuda_only_bytes"] = cuda_bytes
        summary["cpu_only_estimate_bytes"] = size - cuda_bytes
        print(f"CUDA-only parts: {format_bytes(cuda_bytes)}; a CPU-only bundle would be about "
              f"{format_bytes(size - cuda_bytes)} (see --cpu-note)")
    code = 0
    if args.smoke:
        code, seconds = smoke_test(bundle)
        summary["self_test_exit_code"] = code
        summary["self_test_s"] = round(seconds, 1)
        print(f"frozen self-test: {'passed' if code == 0 else f'FAILED (exit code {code})'} in {seconds:.0f} s")
    print(json.dumps(summary))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
