"""The model card: one row per registered model (size, cost, input, the paper's numbers, our synthetic result).

Two jobs, both driven by ``tools/model_card.py``:

* ``--train``: run the CPU recipe of every registered ``*_small`` model through the real CLI
  (``tools/train.py``, one subprocess per model, one at a time) and record its held-out ``video_top1``
  with the command, epochs, wall seconds and date in ``results/synthetic_cpu.json``;
* ``--record NAME=RUN_DIR``: record a finished ``tools/train.py`` run of that model instead (its command is
  rebuilt from the overrides Hydra saved in ``RUN_DIR/.hydra/overrides.yaml``), so a recipe tried by hand is
  not trained twice;
* without ``--train``: write ``MODEL_CARD.md`` from the registry (parameters, forward GFLOPs counted with
  ``torch.utils.flop_counter.FlopCounterMode``), :data:`PAPER_RESULTS` and ``results/synthetic_cpu.json``.

The CPU recipe of a small model ``<family>_small`` is its model config (``configs/model/<family>_small.yaml``)
plus, when it exists, its experiment ``configs/experiment/<family>_synthetic.yaml``.
"""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from vidzoo.files import atomic_write_json, atomic_write_text
from vidzoo.models.registry import get_model_info, list_models
from vidzoo.arguments import OneLineArgumentParser

REPO = Path(__file__).resolve().parents[1]
RESULTS_FILE = REPO / "results" / "synthetic_cpu.json"
CARD_FILE = REPO / "MODEL_CARD.md"
RUNS_DIR = Path("runs") / "model_card"


@dataclass(frozen=True)
class PaperResult:
    """What a paper reports for one model: accuracies (percent, ``None`` = not reported) and where."""

    ucf101: float | None
    hmdb51: float | None
    pretraining: str
    source: str
    note: str = ""


_R21D = "Tran et al. 2018, CVPR (A Closer Look at Spatiotemporal Convolutions)"
_KARPATHY = "Karpathy et al. 2014, CVPR"
_TWO_STREAM = "Simonyan & Zisserman 2014, NeurIPS"
_KARPATHY_NO_UCF = "the paper transfers only the slow-fusion net to UCF101 (Table 3)"

#: Reported accuracies of the full-size models (the ``*_small`` CPU variants are ours; the paper numbers are
#: listed against the full-size row only). Percentages; UCF101 and HMDB51 are means over the three splits
#: unless the note says otherwise.
PAPER_RESULTS: dict[str, PaperResult] = {
    "c3d": PaperResult(82.3, None, "Sports-1M", "Tran et al. 2015, ICCV, Table 3",
                       "C3D (1 net) fc6 features + linear SVM"),
    "karpathy_single": PaperResult(None, None, "Sports-1M", f"{_KARPATHY}, Table 1",
                                   f"Sports-1M video hit@1 59.3%; {_KARPATHY_NO_UCF}"),
    "karpathy_early": PaperResult(None, None, "Sports-1M", f"{_KARPATHY}, Table 1",
                                  f"Sports-1M video hit@1 57.7%; {_KARPATHY_NO_UCF}"),
    "karpathy_late": PaperResult(None, None, "Sports-1M", f"{_KARPATHY}, Table 1",
                                 f"Sports-1M video hit@1 59.3%; {_KARPATHY_NO_UCF}"),
    "karpathy_slow": PaperResult(65.4, None, "Sports-1M", f"{_KARPATHY}, Tables 1 and 3",
                                 "UCF101: fine-tune top 3 layers (41.3% from scratch); Sports-1M video hit@1 60.9%"),
    "karpathy_multires": PaperResult(None, None, "Sports-1M", f"{_KARPATHY}, Table 1",
                                     f"single-frame + multires: Sports-1M video hit@1 60.0%; {_KARPATHY_NO_UCF}"),
    "two_stream_spatial": PaperResult(73.0, 40.5, "ImageNet", f"{_TWO_STREAM}, Table 4", "spatial stream alone"),
    "two_stream_temporal": PaperResult(83.7, 54.6, "none (flow, multi-task UCF101+HMDB51)", f"{_TWO_STREAM}, Table 4",
                                       "temporal stream alone"),
    "two_stream_late": PaperResult(86.9, 58.0, "ImageNet (spatial stream)", f"{_TWO_STREAM}, Table 4",
                                   "fusion by averaging; 88.0% / 59.4% with fusion by SVM"),
    "two_stream_conv": PaperResult(92.5, 65.4, "ImageNet (VGG-16 streams)",
                                   "Feichtenhofer et al. 2016, CVPR, comparison with the state of the art",
                                   "conv fusion; 93.5% / 69.2% with IDT"),
    "two_stream_residual": PaperResult(93.4, 66.4, "ImageNet (ResNet-50 streams)",
                                       "Feichtenhofer et al. 2016, NeurIPS, comparison with the state of the art",
                                       "ST-ResNet; 94.6% / 70.3% with IDT"),
    "r2plus1d_34": PaperResult(96.8, 74.5, "Kinetics", f"{_R21D}, Table 5", "RGB clips; 97.3% / 78.7% two-stream"),
    "r2plus1d_18": PaperResult(None, None, "—", f"{_R21D}, Table 2", "18-layer nets compared on Kinetics only"),
    "r3d_18": PaperResult(None, None, "—", f"{_R21D}, Table 2", "18-layer nets compared on Kinetics only"),
    "mc3_18": PaperResult(None, None, "—", f"{_R21D}, Table 2", "18-layer nets compared on Kinetics only"),
    "fstcn": PaperResult(88.1, 59.1, "ImageNet (spatial layers)", "Sun et al. 2015, ICCV, comparison with the state of "
                         "the art", "SCI-weighted fusion of crops and clips"),
    "ji3d": PaperResult(None, None, "none", "Ji et al. 2013, TPAMI, KTH comparison table",
                        "KTH 90.2% (no UCF101/HMDB51); TRECVID 2008 surveillance events"),
    "cnn_lstm": PaperResult(None, None, "none", "Baccouche et al. 2011, HBU workshop", "KTH only (no UCF101/HMDB51)"),
}


def small_counterpart(name: str) -> str | None:
    """The registered CPU variant of a full-size model (``r2plus1d_34 -> r2plus1d_small``), if any."""
    if name.endswith("_small"):
        return None
    registered = set(list_models())
    base = name
    for suffix in ("_18", "_34"):
        base = base.removesuffix(suffix)
    candidate = f"{base}_small"
    return candidate if candidate in registered else None


def paper_result(name: str) -> PaperResult | None:
    """The paper's reported result for ``name`` (full-size rows only)."""
    return None if name.endswith("_small") else PAPER_RESULTS.get(name)


# --------------------------------------------------------------------------------------------- size and cost


def default_num_classes(name: str) -> int:
    """The ``num_classes`` default of the model's builder (the dataset the paper trained on)."""
    param = inspect.signature(get_model_info(name).builder).parameters.get("num_classes")
    if param is None or param.default is inspect.Parameter.empty:
        raise ValueError(f"model {name!r}: its builder has no default num_classes; give it one")
    return int(param.default)


def count_parameters(model: nn.Module) -> int:
    """``sum(p.numel())`` over all parameters."""
    return sum(p.numel() for p in model.parameters())


def parameters_of(name: str, num_classes: int) -> int:
    """Parameters of ``name`` built for ``num_classes`` classes (built on the meta device: no memory)."""
    with torch.device("meta"):
        model = get_model_info(name).builder(num_classes=num_classes)
    return count_parameters(model)


def dummy_input(name: str, batch: int = 1, device: str | torch.device = "cpu") -> torch.Tensor | dict[str, torch.Tensor]:
    """A zero input at the model's native size: ``(batch, *input_shape)`` or the two-stream dict."""
    info = get_model_info(name)
    rgb_shape = (batch, *info.input_shape)
    if len(info.inputs) > 1:
        if "flow_shape" not in info.extra:
            raise ValueError(f"model {name!r} reads {info.inputs} but registers no flow_shape; add it to @register_model")
        return {"rgb": torch.zeros(rgb_shape, device=device),
                "flow": torch.zeros((batch, *info.extra["flow_shape"]), device=device)}
    return torch.zeros(rgb_shape, device=device)


def forward_gflops(name: str) -> float:
    """Forward GFLOPs of one clip at the native input size (multiply-add = 2 FLOPs).

    Counted on the meta device; models whose forward leaves torch (e.g. Ji et al.'s hardwired optical flow
    in OpenCV) are counted on the CPU at batch 1 instead.
    """
    from torch.utils.flop_counter import FlopCounterMode

    num_classes = default_num_classes(name)
    for device in ("meta", "cpu"):
        with torch.device(device):
            model = get_model_info(name).builder(num_classes=num_classes)
        model.eval()
        counter = FlopCounterMode(display=False)
        try:
            with torch.no_grad(), counter:
                model(dummy_input(name, 1, device))
        except (NotImplementedError, RuntimeError, TypeError, ValueError):
            if device == "cpu":
                raise
            continue
        return counter.get_total_flops() / 1e9
    raise RuntimeError(f"model {name!r}: could not count FLOPs")


# --------------------------------------------------------------------------------------------- CPU training


def _model_name_of(config: Path) -> str | None:
    from omegaconf import OmegaConf

    node = OmegaConf.load(config)
    return OmegaConf.select(node, "model.name")


def model_configs() -> dict[str, str]:
    """Registry name -> model config stem, from ``configs/model/*.yaml`` (first config per model)."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "configs" / "model").glob("*.yaml")):
        name = _model_name_of(path)
        if name:
            found.setdefault(name, path.stem)
    return found


def small_models() -> list[str]:
    """Every registered CPU variant (``*_small``)."""
    return [n for n in list_models() if n.endswith("_small")]


def recipe_overrides(name: str) -> list[str]:
    """The Hydra overrides of ``name``'s CPU recipe: its experiment if one exists, else its model config."""
    config = model_configs().get(name)
    if config is None:
        raise FileNotFoundError(f"no configs/model/*.yaml sets model.name: {name}; add one to train it")
    experiment = REPO / "configs" / "experiment" / f"{config.removesuffix('_small')}_synthetic.yaml"
    return [f"experiment={experiment.stem}"] if experiment.exists() else [f"model={config}"]


_EPOCH_LINE = re.compile(r"^\[vidzoo\] epoch (\d+)/(\d+): (.*)$")


def _run_streaming(cmd: list[str], name: str, start: float, log) -> tuple[int, list[str]]:
    """Run ``cmd``, echo each finished epoch with its rate and ETA through ``log``; return (exit code, lines)."""
    lines: list[str] = []
    with subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            match = _EPOCH_LINE.match(lines[-1])
            if match:
                done, total = int(match.group(1)), int(match.group(2))
                per_epoch = (time.perf_counter() - start) / done
                log(f"[model_card] {name} epoch {done}/{total} ({per_epoch:.1f} s/epoch, ETA "
                    f"{per_epoch * (total - done):.0f} s): {match.group(3)}")
    return proc.returncode, lines


def train_one(name: str, runs_dir: Path = RUNS_DIR, extra: Sequence[str] = (), log=print) -> dict[str, Any]:
    """Train ``name`` with its CPU recipe through ``tools/train.py`` and return its result record.

    Each call trains into a new folder ``runs_dir/<name>-<date>_<time>``: earlier runs are kept, never replaced.
    """
    out = runs_dir / f"{name}-{_dt.datetime.now():%Y-%m-%d_%H-%M-%S}"
    args = [*recipe_overrides(name), "trainer.progress=false", "trainer.tensorboard=false", f"trainer.output_dir={out}",
            *extra]
    command = ["python", "tools/train.py", *args]
    run_dir = out if out.is_absolute() else REPO / out
    start = time.perf_counter()
    returncode, output = _run_streaming([sys.executable, str(REPO / "tools" / "train.py"), *args], name, start, log)
    wall = time.perf_counter() - start
    if returncode != 0:
        tail = "\n".join(output[-5:])
        raise RuntimeError(f"training {name} failed (exit {returncode}): {shlex.join(command)}\n{tail}")
    report = json.loads((run_dir / "report.json").read_text())
    return _result_record(report, wall, args, _dt.datetime.now())


def _result_record(report: dict[str, Any], wall: float, args: Sequence[str], when: _dt.datetime) -> dict[str, Any]:
    """One model's entry in ``results/synthetic_cpu.json`` from its run's ``report.json`` and ``tools/train.py`` args."""
    return {
        "video_top1": report["video_top1"],
        "clip_top1": report.get("clip_top1"),
        "epochs": report["epochs"],
        "train_videos": report.get("num_train_videos"),
        "wall_seconds": round(wall, 1),
        "command": shlex.join(["python", "tools/train.py", *args]),
        "date": when.astimezone().isoformat(timespec="seconds"),
    }


def load_results(path: Path = RESULTS_FILE) -> dict[str, Any]:
    """``results/synthetic_cpu.json`` as a dict (an empty skeleton if it does not exist yet)."""
    if path.exists():
        return json.loads(path.read_text())
    return {"models": {}}


def _machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__}


def _check_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in list_models()]
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; choose from: {', '.join(small_models())}")


def _store(name: str, record: dict[str, Any], path: Path, log) -> dict[str, Any]:
    """Merge one model's record into ``path`` (re-read first: keep what another run wrote meanwhile)."""
    record["machine"] = _machine()
    results = load_results(path)
    results["models"][name] = record
    results["models"] = dict(sorted(results["models"].items()))
    results["dataset"] = ("synthetic motions (vidzoo default: 9 classes, 30 train + 10 test videos per class; a recipe "
                          "that sets data.synthetic.train_per_class trains on more videos, tested on the same 90)")
    results["metric"] = "video_top1 on the held-out test split (multi-clip average)"
    atomic_write_json(path, results, sort_keys=False)
    log(f"[model_card] {name}: video_top1 {record['video_top1']:.3f} ({record['epochs']} epochs, "
        f"{record['wall_seconds']:.0f} s)")
    return results


def train_models(names: Sequence[str], path: Path = RESULTS_FILE, log=print) -> dict[str, Any]:
    """Train each model in turn and merge its record into ``path`` after every model (a crash keeps the rest)."""
    _check_names(names)
    results = load_results(path)
    for name in names:
        log(f"[model_card] training {name} ...")
        results = _store(name, train_one(name, log=log), path, log)
    return results


def run_record(name: str, run_dir: Path) -> dict[str, Any]:
    """The result record of a finished ``tools/train.py`` run of ``name`` in ``run_dir``.

    The command is rebuilt from Hydra's saved overrides; wall seconds span from the overrides file (written at
    start-up) to ``report.json`` (written at the end). A run of another model, or one that did not finish, is
    refused.
    """
    import yaml

    report_file, overrides_file = run_dir / "report.json", run_dir / ".hydra" / "overrides.yaml"
    for f in (report_file, overrides_file):
        if not f.is_file():
            raise FileNotFoundError(f"{f} does not exist: record a run that tools/train.py finished")
    report = json.loads(report_file.read_text())
    trained = report.get("model", {}).get("name")
    if trained != name:
        raise ValueError(f"{run_dir} trained {trained!r}, not {name!r}")
    overrides = [str(o) for o in yaml.safe_load(overrides_file.read_text())]
    end = report_file.stat().st_mtime
    return _result_record(report, end - overrides_file.stat().st_mtime, overrides, _dt.datetime.fromtimestamp(end))


def record_runs(pairs: Sequence[str], path: Path = RESULTS_FILE, log=print) -> dict[str, Any]:
    """``--record NAME=RUN_DIR ...``: store finished runs' results in ``path``."""
    parsed = []
    for pair in pairs:
        name, sep, run_dir = pair.partition("=")
        if not sep or not name or not run_dir:
            raise ValueError(f"--record takes NAME=RUN_DIR, got {pair!r}")
        parsed.append((name, Path(run_dir)))
    _check_names([n for n, _ in parsed])
    results = load_results(path)
    for name, run_dir in parsed:
        results = _store(name, run_record(name, run_dir), path, log)
    return results


# --------------------------------------------------------------------------------------------- the card


def card_rows(names: Sequence[str] | None = None, results: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """One dict per model (every registered model by default) with everything the card prints."""
    results = load_results() if results is None else results
    measured = results.get("models", {})
    rows = []
    for name in list(names) if names is not None else list_models():
        info = get_model_info(name)
        num_classes = default_num_classes(name)
        paper = paper_result(name)
        own = measured.get(name)
        small = small_counterpart(name)
        if own is not None:
            synthetic = f"{100 * own['video_top1']:.1f}%"
        elif small is not None and small in measured:
            synthetic = f"— (small: {100 * measured[small]['video_top1']:.1f}%)"
        else:
            synthetic = "—"
        shape = "x".join(str(s) for s in info.input_shape)
        if "flow_shape" in info.extra:
            shape = f"rgb {shape} + flow {'x'.join(str(s) for s in info.extra['flow_shape'])}"
        elif info.inputs == ("flow",):
            shape = f"flow {shape}"
        rows.append({
            "name": name, "family": info.family, "paper": info.paper, "num_classes": num_classes,
            "params": parameters_of(name, num_classes), "params_101": parameters_of(name, 101),
            "gflops": forward_gflops(name), "input": shape, "paper_result": paper, "synthetic": synthetic,
        })
    return rows


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _millions(n: int) -> str:
    return f"{n / 1e6:.2f} M"


def render_card(rows: Sequence[dict[str, Any]], results: dict[str, Any]) -> str:
    """The Markdown text of ``MODEL_CARD.md``."""
    lines = [
        "# vidzoo model card",
        "",
        "Generated by `python tools/model_card.py` (do not edit by hand). One row per registered model.",
        "",
        "* **Params**: with the builder's default number of classes (in brackets) and with 101 classes (UCF101).",
        "* **GFLOPs**: forward pass of one clip at the native input size (C x T x H x W), multiply-add = 2 FLOPs, "
        "counted with `torch.utils.flop_counter.FlopCounterMode`.",
        "* **Paper UCF101 / HMDB51**: what the paper reports for the full-size model (mean over the three splits "
        "unless noted), with its pre-training; `—` where the paper reports none. The `*_small` rows are our CPU "
        "variants; the paper numbers do not apply to them.",
        "* **Synthetic top-1**: our held-out video top-1 on the synthetic-motions dataset (9 classes that differ "
        "only in motion; chance 11.1%) with the CPU recipe, from `results/synthetic_cpu.json` "
        "(`python tools/model_card.py --train`). Full-size rows show the CPU variant's number in brackets.",
        "",
        "| Model | Family | Params (default classes) | Params @101 | GFLOPs | Input | Paper UCF101 | Paper HMDB51 | "
        "Pre-training | Synthetic top-1 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        p: PaperResult | None = r["paper_result"]
        lines.append(
            f"| `{r['name']}` | {r['family']} | {_millions(r['params'])} ({r['num_classes']}) | "
            f"{_millions(r['params_101'])} | {r['gflops']:.3g} | {r['input']} | "
            f"{_pct(p.ucf101) if p else '—'} | {_pct(p.hmdb51) if p else '—'} | {p.pretraining if p else '—'} | "
            f"{r['synthetic']} |"
        )
    lines += ["", "## Sources of the paper numbers", ""]
    for name, p in PAPER_RESULTS.items():
        if name in {r["name"] for r in rows}:
            lines.append(f"* `{name}`: {p.source}." + (f" {p.note}." if p.note else ""))
    measured = results.get("models", {})
    if measured:
        lines += ["", "## Synthetic CPU runs", "",
                  "Each row is one `tools/train.py` run on the machine named in `results/synthetic_cpu.json`.", "",
                  "| Model | Video top-1 | Train videos | Epochs | Wall s | Date | Command |",
                  "|---|---|---|---|---|---|---|"]
        for name, rec in measured.items():
            lines.append(f"| `{name}` | {100 * rec['video_top1']:.1f}% | {rec.get('train_videos') or '—'} | "
                         f"{rec['epochs']} | {rec['wall_seconds']:.0f} | {rec['date'][:10]} | `{rec['command']}` |")
    return "\n".join(lines) + "\n"


def missing_models(card_text: str) -> list[str]:
    """Registered models without a row (a line starting ``| `name` |``) in the card text."""
    return [n for n in list_models() if f"| `{n}` |" not in card_text.split("## Sources")[0]]


def write_card(path: Path = CARD_FILE, results_path: Path = RESULTS_FILE) -> str:
    """Write ``MODEL_CARD.md`` for every registered model and return its text."""
    results = load_results(results_path)
    text = render_card(card_rows(results=results), results)
    atomic_write_text(path, text)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """``tools/model_card.py [--train [--models a,b]]``."""
    parser = OneLineArgumentParser(prog="model_card", description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", action="store_true", help="train the CPU recipes and update results/synthetic_cpu.json")
    parser.add_argument("--models", default="", help="comma-separated small models to train (default: all *_small)")
    parser.add_argument("--record", nargs="+", default=[], metavar="NAME=RUN_DIR",
                        help="record finished tools/train.py runs instead of training")
    args = parser.parse_args(argv)
    if args.models and not args.train:
        parser.error("--models needs --train")
    if args.record:
        try:
            record_runs(args.record)
        except (ValueError, FileNotFoundError) as exc:
            print(f"model_card: error: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.train:
        names = [m.strip() for m in args.models.split(",") if m.strip()] or small_models()
        try:
            train_models(names)
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            print(f"model_card: error: {exc}", file=sys.stderr)
            return 2
        return 0
    write_card()
    print(f"wrote {CARD_FILE.relative_to(REPO)}")
    return 0
