"""benchmarks/bench_trunk.py without timm (timm is not a ColorCore dependency): its clear message when
timm is missing, and its renaming of the weight file's keys to timm's EfficientNet names."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "bench_trunk.py"


def _load_script():  # noqa: ANN202 - the script as a module
    spec = importlib.util.spec_from_file_location("bench_trunk", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_timm_it_says_so_and_exits() -> None:
    # `sys.modules["timm"] = None` makes `import timm` fail as if it were not installed
    run = subprocess.run(
        [sys.executable, "-c", "import runpy, sys; sys.modules['timm'] = None; sys.argv = [sys.argv[1]]; "
         "runpy.run_path(sys.argv[0], run_name='__main__')", str(SCRIPT)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stdout == ""
    assert "timm is not installed" in run.stderr and "pip install timm" in run.stderr
    assert "Traceback" not in run.stderr


def test_weight_keys_map_onto_timm_names_stage_by_stage() -> None:
    from colorcore.models.trunks import STAGES, efficientnet_lite0_weights_path

    bench = _load_script()
    state = torch.load(efficientnet_lite0_weights_path(), map_location="cpu", weights_only=True)
    mapped = bench.timm_state_dict(state)
    assert len(mapped) == len(state) == 296
    blocks = {tuple(int(p) for p in key.split(".")[1:3]) for key in mapped if key.startswith("blocks.")}
    assert [sum(1 for stage, _ in blocks if stage == s) for s in range(len(STAGES))] == [r for r, *_ in STAGES]
    # first block: depthwise then a 1x1 to 16; the last: expand 320 -> 1152 ... project 1152 -> 320
    assert mapped["blocks.0.0.conv_dw.weight"].shape == (32, 1, 3, 3)
    assert mapped["blocks.0.0.conv_pw.weight"].shape == (16, 32, 1, 1)
    assert mapped["blocks.1.0.conv_pw.weight"].shape == (96, 16, 1, 1)
    assert mapped["blocks.6.0.conv_pwl.weight"].shape == (320, 1152, 1, 1)
    assert mapped["blocks.6.0.bn3.running_var"].shape == (320,)
    assert mapped["bn1.weight"].shape == (32,) and mapped["bn2.weight"].shape == (1280,)
    assert mapped["classifier.weight"].shape == (1000, 1280)
