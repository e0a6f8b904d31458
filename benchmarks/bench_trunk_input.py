"""At what size the EfficientNet-Lite0 trunk recognises a training sample best.

    python benchmarks/bench_trunk_input.py [--sample-sizes 64 128] [--trunk-sizes 64 128 224 320]

Our training samples are 64 px; the multipath generator's trunk path enlarges its gray input
(`colorcore.models.generator.TRUNK_INPUT_SIZE`). For each bundled sample photo, in gray, the class the
trunk gives it at 224 px is the reference; the photo reduced to each sample size and enlarged to
each trunk size is classified again. Printed as JSON: how many photos keep the reference's top-1
class and the mean probability of that class.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorcore.data.imageio import read_image  # noqa: E402
from colorcore.models.trunks import imagenet_input, load_efficientnet_lite0  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "resources" / "samples"


@torch.no_grad()
def probabilities(net: torch.nn.Module, image: np.ndarray, size: int) -> torch.Tensor:
    """ImageNet class probabilities of an RGB uint8 image resized to `size` x `size`."""
    interpolation = cv2.INTER_LINEAR if image.shape[0] < size else cv2.INTER_AREA
    resized = cv2.resize(image, (size, size), interpolation=interpolation)
    return net(imagenet_input(torch.from_numpy(resized).permute(2, 0, 1)[None].float())).softmax(1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=SAMPLES)
    parser.add_argument("--sample-sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--trunk-sizes", type=int, nargs="+", default=[64, 128, 224, 320])
    args = parser.parse_args(argv)
    net = load_efficientnet_lite0()
    grays = []
    for photo in sorted(args.photos.glob("*.jpg")):
        gray = cv2.cvtColor(read_image(photo), cv2.COLOR_RGB2GRAY)
        grays.append(np.repeat(gray[:, :, None], 3, axis=2))
    references = [int(probabilities(net, cv2.resize(g, (224, 224), interpolation=cv2.INTER_AREA), 224).argmax())
                  for g in grays]
    rows = []
    for sample in args.sample_sizes:
        for trunk in args.trunk_sizes:
            agree, kept = 0, []
            for gray, reference in zip(grays, references):
                small = cv2.resize(gray, (sample, sample), interpolation=cv2.INTER_AREA)
                p = probabilities(net, small, trunk)
                agree += int(int(p.argmax()) == reference)
                kept.append(float(p[reference]))
            rows.append({"sample_px": sample, "trunk_px": trunk, "top1_kept": agree, "photos": len(grays),
                         "p_reference_class": round(float(np.mean(kept)), 3)})
    print(json.dumps({"reference": "the gray photo at 224 px", "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
