"""``vidzoo-stream``: train (or load) a backbone, freeze it, and stream the remaining classes to the learners.

    vidzoo-stream streaming=slda ordering=class_iid
    vidzoo-stream streaming=all backbone_checkpoint=runs/my-run data=folder data.root=/data/clips

Overrides are Hydra's (``configs/stream.yaml``); bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import sys

from vidzoo.cli import _checked, _run_guarded, compose_or_explain

PROG = "vidzoo-stream"


def main(argv: list[str] | None = None) -> dict:
    """Compose ``configs/stream.yaml`` with ``argv`` overrides and run the stream; prints one line per learner."""
    from vidzoo.streaming.config import register_stream_configs

    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__.strip() + "\n\n`vidzoo-stream --cfg job [overrides]` prints every key with its value.")
        raise SystemExit(0)
    show = "--cfg" in argv
    if show:  # Hydra's `--cfg job`: print the composed config instead of running
        at = argv.index("--cfg")
        argv = argv[:at] + [a for a in argv[at + 1 :] if a not in ("job", "hydra", "all")]
    register_stream_configs()
    cfg = compose_or_explain(argv, prog=PROG, config_name="stream")
    if show:
        from omegaconf import OmegaConf

        print(OmegaConf.to_yaml(cfg))
        raise SystemExit(0)
    from vidzoo.streaming.checks import check_stream_config

    _checked(PROG, lambda: check_stream_config(cfg))
    from vidzoo.streaming.runner import run_stream  # torch: imported once the config is known to be good

    report = _run_guarded(PROG, lambda: run_stream(cfg))
    for name, r in report["learners"].items():
        om = "n/a" if r["omega"] is None else f"{r['omega']:.3f}"
        print(f"[{PROG}] {name:9s} final acc {r['final_accuracy']:.4f}  omega {om}  memory {r['memory_bytes']:,} B  "
              f"{r['updates_per_s']:,.0f} updates/s")
    print(f"[{PROG}] report -> {cfg.output_dir}/stream_report.json, plot -> {cfg.output_dir}/stream_accuracy.png")
    return report
