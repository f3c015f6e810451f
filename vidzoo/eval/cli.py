"""``vidzoo-eval-tracking``: score tracker (and detector) output against ground truth from the shell.

    vidzoo-eval-tracking gt=data/MOT17/train pred=runs/tracker metrics=[hota,clear,identity] workers=4 out=eval

Arguments are ``key=value``: gt, pred (files or folders, see vidzoo.eval.load), metrics (any of hota,
clear, identity, ca_hota, detection, speed, delay), workers (processes over sequences), per_class,
convention (trackeval | motmetrics, for CLEAR), preset (none | mot17 | mot20: MOTChallenge's
distractor preprocessing of the ground truth), out (folder for report.json and the PNGs), plot,
progress. Bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import difflib
import json
import sys
import time
from pathlib import Path

from vidzoo.files import atomic_write_text
from vidzoo.cli import _fail
from vidzoo.eval.errors import EvalInputError

TOOL = "vidzoo-eval-tracking"
TRACKING = ("hota", "clear", "identity", "ca_hota")
FRAME_LEVEL = ("detection", "speed", "delay")
DEFAULTS = {"gt": None, "pred": None, "metrics": "hota,clear,identity", "workers": "1", "per_class": "false",
            "convention": "trackeval", "preset": "none", "out": "eval_tracking", "plot": "true", "progress": "true"}


def parse_args(argv: list[str]) -> dict:
    """``key=value`` words -> options (EvalInputError on an unknown key, a bad value, or a missing gt/pred)."""
    opts = dict(DEFAULTS)
    for word in argv:
        key, eq, value = word.partition("=")
        if not eq or key not in DEFAULTS:
            close = difflib.get_close_matches(key, DEFAULTS, n=1)
            hint = f"did you mean {close[0]}=?" if close else f"keys: {', '.join(DEFAULTS)}"
            raise EvalInputError(f"unknown argument {word!r}; {hint}")
        opts[key] = value
    for key in ("gt", "pred"):
        if not opts[key]:
            raise EvalInputError(f"missing {key}=PATH (a MOTChallenge file or folder, or a vidzoo .json dump)")
    metrics = [m.strip() for m in opts["metrics"].strip("[]").split(",") if m.strip()]
    for m in metrics:
        if m not in TRACKING + FRAME_LEVEL:
            raise EvalInputError(f"metrics: unknown metric {m!r}; choose from {', '.join(TRACKING + FRAME_LEVEL)}")
    opts["metrics"] = metrics
    for key in ("per_class", "plot", "progress"):
        if opts[key].lower() not in ("true", "false"):
            raise EvalInputError(f"{key}={opts[key]!r}; use {key}=true or {key}=false")
        opts[key] = opts[key].lower() == "true"
    if not opts["workers"].isdigit() or int(opts["workers"]) < 1:
        raise EvalInputError(f"workers={opts['workers']!r}; use a whole number >= 1")
    opts["workers"] = int(opts["workers"])
    if opts["convention"] not in ("trackeval", "motmetrics"):
        raise EvalInputError(f"convention={opts['convention']!r}; use trackeval or motmetrics")
    return opts


def _output_dir(out: str) -> Path:
    """The report folder (made only once the inputs have been read); an existing report.json there must be one
    this tool wrote (it is then replaced)."""
    folder = Path(out)
    report = folder / "report.json"
    if report.exists():
        try:
            ours = json.loads(report.read_text()).get("tool") == TOOL
        except (json.JSONDecodeError, AttributeError):
            ours = False
        if not ours:
            raise EvalInputError(f"out={out}: {report} exists and was not written by {TOOL}; choose another out=")
    return folder


def run(opts: dict) -> dict:
    """Load, score, print the table, write report.json and the plots; returns the report."""
    from vidzoo.eval import report as rep
    from vidzoo.eval.load import load_sequences
    from vidzoo.eval.tracking import evaluate_tracking

    folder = _output_dir(opts["out"])
    sequences = load_sequences(opts["gt"], opts["pred"], opts["preset"])
    start = time.perf_counter()
    tracking = [m for m in opts["metrics"] if m in TRACKING]
    result: dict = {"tool": TOOL, "gt": str(opts["gt"]), "pred": str(opts["pred"]), "metrics": opts["metrics"],
                    "convention": opts["convention"], "sequences": [s.name for s in sequences]}
    if tracking:
        result.update(evaluate_tracking(sequences, tracking, per_class=opts["per_class"],
                                        convention=opts["convention"], workers=opts["workers"],
                                        progress=opts["progress"]))
        print(rep.format_table(result["per_sequence"], result["combined"]))
    result.update(_frame_level(sequences, opts["metrics"]))
    result["seconds"] = time.perf_counter() - start
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "report.json", json.dumps(rep.jsonable(result), indent=1))
    if opts["plot"] and "hota" in tracking:
        rep.plot_hota_alpha(result["combined"]["hota"], folder / "hota_alpha.png")
    if opts["plot"] and "detection" in opts["metrics"]:
        from vidzoo.eval.detection import pr_curves

        rep.plot_pr_curves(pr_curves(sequences), folder / "pr_curve.png")
    print(f"report: {folder / 'report.json'}")
    return result


def _frame_level(sequences: list, metrics: list[str]) -> dict:
    out = {}
    if "detection" in metrics:
        from vidzoo.eval.detection import detection_map

        out["detection"] = detection_map(sequences)
        print(f"detection: mAP@0.5 {out['detection']['mAP@0.5']:.4f}  mAP@[.5:.95] "
              f"{out['detection']['mAP@[.5:.95]']:.4f}")
    if "speed" in metrics:
        from vidzoo.eval.speed import speed_map

        out["speed"] = speed_map(sequences)
        print("speed mAP: " + "  ".join(f"{k} {v['mAP']:.4f} ({v['num_gt']} boxes)" for k, v in out["speed"].items()))
    if "delay" in metrics:
        from vidzoo.eval.delay import average_delay

        out["delay"] = average_delay(sequences)
        print(f"average delay: {out['delay']['AD']:.3f} frames over {out['delay']['num_objects']} objects")
    return out


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``vidzoo-eval-tracking``."""
    try:
        run(parse_args(sys.argv[1:] if argv is None else argv))
    except (EvalInputError, FileNotFoundError, PermissionError) as e:
        _fail(TOOL, str(e))


if __name__ == "__main__":
    main()
