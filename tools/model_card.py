"""The model card: one row per registered model (size, cost, input, the paper's numbers, our synthetic result).

    python tools/model_card.py --train [--models a,b]    # retrain CPU recipes -> results/synthetic_cpu.json
    python tools/model_card.py --record NAME=RUN_DIR     # record a finished tools/train.py run instead
    python tools/model_card.py                           # write MODEL_CARD.md

* ``--train``: run the CPU recipe of every registered ``*_small`` model through the real CLI
  (``tools/train.py``, one subprocess per model, one at a time) and record its held-out ``video_top1``
  with the command, epochs, wall seconds and date in ``results/synthetic_cpu.json`` (``tools/card_runs.py``);
* ``--record NAME=RUN_DIR``: record a finished ``tools/train.py`` run of that model instead (its command is
  rebuilt from the overrides Hydra saved in ``RUN_DIR/.hydra/overrides.yaml``), so a recipe tried by hand is
  not trained twice;
* without ``--train``: write ``MODEL_CARD.md`` from the registry (parameters, forward GFLOPs counted with
  ``torch.utils.flop_counter.FlopCounterMode``), the paper numbers in ``tools/paper_numbers.yaml`` (each with
  its paper, table and whether it was verified) and ``results/synthetic_cpu.json``.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
import yaml
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))  # card_runs beside this file, when run as a script

from card_runs import RESULTS_FILE, load_results, record_runs, small_models, train_models  # noqa: E402
from vidzoo.arguments import OneLineArgumentParser  # noqa: E402
from vidzoo.files import atomic_write_text  # noqa: E402
from vidzoo.models.registry import get_model_info, list_models  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CARD_FILE = REPO / "MODEL_CARD.md"
PAPER_FILE = Path(__file__).resolve().parent / "paper_numbers.yaml"
DEVIATIONS_FILE = Path(__file__).resolve().parent / "deviations.yaml"


@dataclass(frozen=True)
class PaperResult:
    """What a paper reports for one model: accuracies (percent, ``None`` = not reported), where, and whether the
    number and its setting were checked against the paper."""

    ucf101: float | None
    hmdb51: float | None
    pretraining: str
    paper: str
    table: str
    verified: bool
    note: str = ""

    @property
    def source(self) -> str:
        return f"{self.paper}, {self.table}"


_FIELDS = {"paper", "table", "ucf101", "hmdb51", "pretraining", "note", "verified"}


def load_paper_results(path: Path = PAPER_FILE) -> dict[str, PaperResult]:
    """``tools/paper_numbers.yaml`` as ``{model name: PaperResult}``; a malformed entry names its key."""
    data = yaml.safe_load(path.read_text()) or {}
    results = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - _FIELDS or not {"paper", "table", "verified"} <= set(entry):
            raise ValueError(f"{path}: entry {name!r} must have paper, table, verified (and only {sorted(_FIELDS)})")
        if not isinstance(entry["verified"], bool):
            raise ValueError(f"{path}: {name}.verified must be true or false")
        results[name] = PaperResult(entry.get("ucf101"), entry.get("hmdb51"), str(entry.get("pretraining", "")),
                                    entry["paper"], entry["table"], entry["verified"], str(entry.get("note") or ""))
    return results


PAPER_RESULTS: dict[str, PaperResult] = load_paper_results()


def load_deviations(path: Path = DEVIATIONS_FILE) -> dict[str, list[str]]:
    """``tools/deviations.yaml``: model -> lines on where it differs from its paper or what is unverified."""
    data = yaml.safe_load(path.read_text()) or {}
    for name, lines in data.items():
        if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
            raise ValueError(f"{path}: {name} must be a list of strings")
    return data


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


def _pct(value: float | None, verified: bool = True) -> str:
    """A paper percentage; ``†`` marks a number not checked against the paper."""
    return "—" if value is None else f"{value:.1f}%" + ("" if verified else " †")


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
        "unless noted), with its pre-training; `—` where the paper reports none; `†`: not verified against the "
        "paper. Each number's paper and table are listed under the table (data: `tools/paper_numbers.yaml`). The "
        "`*_small` rows are our CPU variants; the paper numbers do not apply to them.",
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
            f"{_pct(p.ucf101, p.verified) if p else '—'} | {_pct(p.hmdb51, p.verified) if p else '—'} | "
            f"{p.pretraining if p else '—'} | "
            f"{r['synthetic']} |"
        )
    lines += ["", "## Sources of the paper numbers", ""]
    for name, p in PAPER_RESULTS.items():
        if name in {r["name"] for r in rows}:
            check = "verified" if p.verified else "not verified"
            lines.append(f"* `{name}`: {p.source} ({check})." + (f" {p.note}." if p.note else ""))
    names = {r["name"] for r in rows}
    deviations = {n: d for n, d in load_deviations().items() if n in names}
    if deviations:
        lines += ["", "## Deviations and unverified details", "", "From `tools/deviations.yaml`.", ""]
        for name, items in deviations.items():
            lines += [f"* `{name}`:"] + [f"  * {item}" for item in items]
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
    """``tools/model_card.py [--train [--models a,b]] [--record NAME=RUN_DIR ...]``."""
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


if __name__ == "__main__":
    raise SystemExit(main())
