"""Console entry points ``vidzoo-import-weights``, ``vidzoo-export`` and ``vidzoo-extract-features``.

Input a user can get wrong (a missing file, a foreign checkpoint, an unknown key) ends as one line on stderr
and exit status 2, through :func:`vidzoo.cli._fail` and the shared list of user errors.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from vidzoo.arguments import OneLineArgumentParser
from vidzoo.cli import _fail, _user_errors
from vidzoo.errors import checkpoint_not_found, weights_not_found


def _guarded(prog: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except _user_errors() as exc:
        _fail(prog, str(exc))


def _require_existing(prog: str, checkpoint: str) -> None:
    """A checkpoint path that does not exist is one line before torch is imported."""
    if not Path(checkpoint).expanduser().exists():
        _fail(prog, checkpoint_not_found(checkpoint))


def parse_key_values(argv: Sequence[str], prog: str, allowed: dict[str, str], required: Sequence[str]) -> dict[str, str]:
    """``key=value`` arguments -> dict; an unknown key, a missing ``=`` or a missing required key exits with status 2.

    ``allowed`` maps each key to its one-line help (shown by ``--help``).
    """
    if any(a in ("-h", "--help") for a in argv):
        print(f"usage: {prog} " + " ".join(f"{k}=..." for k in allowed))
        for key, text in allowed.items():
            print(f"  {key:<12} {text}")
        raise SystemExit(0)
    args: dict[str, str] = {}
    for a in argv:
        key, eq, value = a.partition("=")
        if not eq:
            _fail(prog, f"expected key=value, got {a!r} (e.g. {required[0]}=...)")
        if key not in allowed:
            _fail(prog, f"unknown argument {key!r}; use one of: {', '.join(allowed)}")
        args[key] = value
    missing = [k for k in required if k not in args]
    if missing:
        _fail(prog, f"{missing[0]}=... is required ({allowed[missing[0]]})")
    return args


def _class_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    path = Path(text)
    if path.is_file():
        return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    return [n.strip() for n in text.split(",")]


#: vidzoo-export's KEY=VALUE arguments and their help.
EXPORT_KEYS = {
    "checkpoint": "run directory, checkpoint directory or model.safetensors",
    "format": "onnx (the one format supported)",
    "output": "file to write (default: <model name>.onnx here); never replaced",
    "opset": "ONNX opset, >= 17 (default 17)",
    "which": "best or last checkpoint of a run directory (default best)",
}

#: vidzoo-extract-features' KEY=VALUE arguments and their help.
FEATURE_KEYS = {
    "checkpoint": "run directory, checkpoint directory or model.safetensors",
    "data": "folder of videos (searched recursively)",
    "output": "folder for one <video>.npy per video (mirrors data's layout)",
    "layer": "module name to read, e.g. fc6, fc7, layer4, avgpool (default fc6)",
    "list": "only the videos in this list file (first column, relative to data)",
    "step": "frames between clip starts (default 8, the C3D protocol)",
    "shard": "i/N: process only shard i (0-based) of N",
    "batch_size": "clips per forward pass (default 16)",
    "device": "cpu, cuda or auto (default auto)",
    "progress": "false hides the progress bar",
    "which": "best or last checkpoint of a run directory (default best)",
}


def import_weights_main(argv: Sequence[str] | None = None) -> None:
    """``vidzoo-import-weights SOURCE FILE --output DIR [--model M] [--num-classes N] [--class-names F]``."""
    from vidzoo.interop.sources import SOURCES

    p = OneLineArgumentParser(
        prog="vidzoo-import-weights",
        description="Turn a published weights file into a vidzoo checkpoint (model.safetensors + meta.json with "
        "the preprocessing the weights expect), loadable with vidzoo.load_model. Files are read with "
        "torch.load(weights_only=True): pickled code is refused, never run.",
    )
    p.add_argument("source", choices=list(SOURCES), help="where the file comes from")
    p.add_argument("file", help="the downloaded .pth / .pickle / .pyth file")
    p.add_argument("--output", required=True, help="new checkpoint directory (must not exist)")
    p.add_argument("--model", help="zoo model to build (default: the one the file's keys show)")
    p.add_argument("--num-classes", type=int, help="classes of a new classifier, for files without one")
    p.add_argument("--class-names", help="comma-separated names, or a text file with one name per line")
    args = p.parse_args(argv)
    if not Path(args.file).expanduser().is_file():
        _fail(p.prog, weights_not_found(args.file))
    from vidzoo.interop.importing import import_weights  # torch: imported once the arguments are known to be good

    out = _guarded(p.prog, lambda: import_weights(
        args.source, args.file, args.output, model=args.model, num_classes=args.num_classes,
        class_names=_class_names(args.class_names)))
    print(f"[vidzoo] imported {args.file} -> {out}")


def export_main(argv: Sequence[str] | None = None) -> None:
    """``vidzoo-export checkpoint=PATH format=onnx [output=FILE] [opset=17]``."""
    prog = "vidzoo-export"
    args = parse_key_values(sys.argv[1:] if argv is None else argv, prog, EXPORT_KEYS, required=("checkpoint",))
    if args.get("format", "onnx") != "onnx":
        _fail(prog, f"format={args['format']!r} is not supported; use format=onnx")
    if not args.get("opset", "17").isdigit():
        _fail(prog, f"opset={args['opset']!r} is not a number; use e.g. opset=17")
    _require_existing(prog, args["checkpoint"])
    from vidzoo.interop.export import export_checkpoint  # torch and onnx: imported once the arguments are good

    out = _guarded(prog, lambda: export_checkpoint(
        args["checkpoint"], args.get("output"), opset=int(args.get("opset", "17")), which=args.get("which", "best")))
    print(f"[vidzoo] exported {args['checkpoint']} -> {out}")


def extract_features_main(argv: Sequence[str] | None = None) -> None:
    """``vidzoo-extract-features checkpoint=PATH data=VIDEO_DIR output=DIR layer=fc6 [shard=i/N] ...``."""
    prog = "vidzoo-extract-features"
    args = parse_key_values(sys.argv[1:] if argv is None else argv, prog, FEATURE_KEYS,
                            required=("checkpoint", "data", "output"))
    _require_existing(prog, args["checkpoint"])
    from vidzoo.interop.features import FeatureOptions, extract_features_cli  # torch and the video decoders

    options = _guarded(prog, lambda: FeatureOptions.from_strings(args))
    summary = _guarded(prog, lambda: extract_features_cli(args, options))
    raise SystemExit(1 if summary.failed else 0)
