"""`colorcore downstream`: the CIFAR-10 representation-learning experiment (paper Table 1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = "downstream-results"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `downstream` command."""
    from colorcore.downstream.settings import (CONFIG_NAMES, DEFAULT_CONFIGS, DEFAULT_PROTOCOL, IMAGE_SIZES,
                                               INPUT_MODES, PROTOCOLS, DownstreamSettings)

    d = DownstreamSettings()
    p = subparsers.add_parser(
        "downstream",
        help="CIFAR-10 classification from the colouriser's encoder (paper Table 1)",
        description="Train the classifier (the generator's first five encoder blocks + three FC layers) on a "
        "stratified CIFAR-10 subset with blocks 1..k frozen and from scratch, over several seeds; write "
        "results.csv / results.md (mean ± std, paired difference to scratch with a 95 % interval, beside the "
        "paper's numbers) and per-epoch curves. By default each run follows the paper's protocol as far as it "
        "can be read: it trains until its validation accuracy stops improving; --preset quick is a CPU budget "
        "(5 epochs), not the paper's protocol. Re-running with the same --out resumes.",
    )
    p.add_argument("--cifar-root", required=True, type=Path,
                   help="folder that holds cifar-10-batches-py (the python version of CIFAR-10)")
    p.add_argument("--encoder", required=True, type=Path,
                   help="run folder, .pt checkpoint or .safetensors model of the paper (multipath) model, "
                   "or 'starter' for the bundled starter model")
    p.add_argument("--train-size", type=int, default=d.train_size,
                   help="training images, equal per class, all fitted (default %(default)s, the paper's)")
    p.add_argument("--val-size", type=int, default=d.val_size,
                   help="validation images, from the rest of the training batches (default %(default)s)")
    p.add_argument("--test-size", type=int, default=d.test_size,
                   help="images from the official test batch (default %(default)s)")
    p.add_argument("--data-seed", type=int, default=d.data_seed, help="seed of the subset (default %(default)s)")
    p.add_argument("--seeds", type=int, default=d.seeds, help="training seeds 0..N-1 per configuration (default %(default)s)")
    paper, quick = PROTOCOLS["paper"], PROTOCOLS["quick"]
    p.add_argument("--preset", choices=tuple(PROTOCOLS), default=DEFAULT_PROTOCOL,
                   help=f"paper (default): train until the validation accuracy has not improved for "
                        f"{paper['patience']} epochs, at most {paper['epochs']}, and evaluate the best validation "
                        f"epoch (patience and cap are ours: the paper states neither); quick: at most "
                        f"{quick['epochs']} epochs, no early stop, a CPU budget that is NOT the paper's protocol")
    p.add_argument("--epochs", type=int, default=None, help="at most this many epochs per run (default: the preset's)")
    p.add_argument("--patience", type=int, default=None,
                   help="stop a run when its validation accuracy has not improved for this many epochs; 0 never "
                        "stops early (default: the preset's)")
    p.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                   help=f"comma-separated, of {','.join(CONFIG_NAMES)}: 1..5 = frozen through block k, scratch, "
                   "0 = all blocks fine-tuned (default %(default)s)")
    p.add_argument("--input", choices=INPUT_MODES, default=d.input,
                   help="gray: what the encoder was trained on (default); rgb: colour input")
    p.add_argument("--image-size", type=int, choices=IMAGE_SIZES, default=d.image_size,
                   help="classifier input size; 32 (CIFAR's own, default) or 64 (the colouriser's)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="default %(default)s")
    p.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate (default %(default)s)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help="output folder (default %(default)s)")
    p.add_argument("--download", action="store_true", help="download CIFAR-10 into --cifar-root if missing")
    p.add_argument("--no-verify", action="store_true",
                   help="accept CIFAR-format files that are not the official ones (skip the md5 check)")
    p.add_argument("--overwrite", action="store_true",
                   help="discard results in --out that were made with other settings")
    p.set_defaults(func=run)


class TqdmProgress:
    """Engine callback that draws one tqdm bar (epochs over all runs) and logs finished configurations."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._bar = tqdm(total=0, unit="epoch", dynamic_ncols=True, file=sys.stderr)

    def on_progress(self, event) -> None:
        self._bar.total = event.total
        self._bar.n = event.done
        self._bar.set_description_str(event.message, refresh=False)
        self._bar.refresh()

    def on_epoch_end(self, event) -> None:
        m = event.metrics
        self._bar.set_postfix_str(f"train {m['train_acc']:.1f}% val {m['val_acc']:.1f}%")

    def on_config_end(self, event) -> None:
        from colorcore.downstream.tables import format_mean_std

        row = event.row
        note = " (finished earlier)" if event.resumed else ""
        self._tqdm.write(
            f"{event.label}: test {format_mean_std(row['test_mean'], row['test_std'])} % over {row['seeds']} "
            f"seed(s){note}",
            file=sys.stderr,
        )

    def close(self) -> None:
        """Close the bar."""
        self._bar.close()


def run(args: argparse.Namespace) -> int:
    """Handler of `colorcore downstream`."""
    from colorcore.downstream import experiment as ds
    from colorcore.downstream.settings import parse_configs
    from colorcore.downstream.cifar import CifarError, load_cifar10
    from colorcore.cli import CLIError
    from colorcore.core.device import DeviceError, describe_device, resolve_device

    try:
        lengths = {k: v for k, v in (("epochs", args.epochs), ("patience", args.patience)) if v is not None}
        settings = ds.DownstreamSettings.for_protocol(
            args.preset, train_size=args.train_size, val_size=args.val_size, test_size=args.test_size,
            data_seed=args.data_seed, seeds=args.seeds, **lengths,
            configs=parse_configs(args.configs),
            input=args.input, image_size=args.image_size, batch_size=args.batch_size, lr=args.lr,
        )
        settings.validate()
        device = resolve_device(args.device)
        cifar = load_cifar10(args.cifar_root, download=args.download, verify=not args.no_verify)
        encoder = ds.load_encoder(args.encoder)
    except (CifarError, ds.DownstreamError, DeviceError) as exc:
        raise CLIError(str(exc)) from exc
    print(
        f"CIFAR-10 experiment on {describe_device(device)}: configurations {','.join(settings.configs)}, "
        f"{settings.seeds} seed(s), {settings.protocol} protocol (at most {settings.epochs} epochs"
        + (f", patience {settings.patience}" if settings.patience else "") + f"); results in {args.out}",
        file=sys.stderr,
    )
    progress = TqdmProgress()
    try:
        result = ds.run_downstream(
            settings, encoder, cifar, args.out, device=device, callbacks=[progress], overwrite=args.overwrite
        )
    except (CifarError, ds.DownstreamError) as exc:
        raise CLIError(str(exc)) from exc
    except KeyboardInterrupt:
        print(f"finished runs are saved in {args.out}; run the same command again to resume", file=sys.stderr)
        raise
    finally:
        progress.close()
    print(result.markdown)
    print(f"CSV, Markdown, curves and provenance in {result.out_dir}", file=sys.stderr)
    return 0
