"""Command-line entry points: ``vidzoo-train`` (Hydra), ``vidzoo-test`` and the tool wrappers.

Hydra is imported here and in :mod:`vidzoo.sweep` (multirun) only. Every value is checked by
:mod:`vidzoo.validation` when the config is composed, before Hydra makes a run folder. Errors a
user can fix (a misspelt key, a value out of range, an unknown model, a missing split file, a
checkpoint of another model) are printed as one line naming the thing and the fix, and the
process exits with status 2.
"""

from __future__ import annotations

import difflib
from dataclasses import fields
import os
import sys
from pathlib import Path
from typing import Any, Callable

#: The configs ship inside the package, so an installed vidzoo reads the same files as a checkout.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"
#: Config folders that are not groups a user picks: Hydra's own, and the recipe the dataset configs pull in.
_NOT_GROUPS = ("hydra", "recipe")
#: Groups of ``vidzoo-stream`` alone (``configs/stream.yaml``), left out of ``vidzoo-train --help``.
_STREAM_GROUPS = ("streaming",)
_HYDRA_FLAGS = ("-", "hydra.", "+hydra.", "~hydra.")


def _user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "the input is wrong" (their messages name the thing and the fix)."""
    from vidzoo.data.decoding import VideoDecodeError
    from vidzoo.engine.checkpoint import CheckpointError
    from vidzoo.errors import ConfigValueError, EmptyResultsError, OutputError
    from vidzoo.flow.storage import FlowStorageError
    from vidzoo.models._stream_backbones import BackboneWeightsError
    from vidzoo.models.registry import UnknownModelError

    # FileNotFoundError covers SplitFileError and MissingVideosError from vidzoo.data.annotations.
    return (FileNotFoundError, CheckpointError, ConfigValueError, UnknownModelError, VideoDecodeError,
            FlowStorageError, BackboneWeightsError, OutputError, EmptyResultsError)


def _fail(prog: str, message: str) -> None:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def _config_groups() -> dict[str, list[str]]:
    return {
        d.name: sorted(p.stem for p in d.glob("*.yaml"))
        for d in sorted(CONFIG_DIR.iterdir())
        if d.is_dir() and not d.name.startswith((".", "_")) and d.name not in _NOT_GROUPS
    }


def train_groups_help() -> str:
    """The ``GROUP: option, ...`` lines of ``vidzoo-train --help`` (the ``${vidzoo_train_groups:}`` resolver):
    the groups ``configs/config.yaml`` composes, without ``vidzoo-stream``'s."""
    lines = []
    for group, options in _config_groups().items():
        if group in _STREAM_GROUPS:
            continue
        unset = " (unset: the schema's defaults)" if group in ("optim", "sched", "trainer") else ""
        lines.append(f"{group}: {', '.join(options)}{unset}")
    return "\n".join(lines)


def register_help_resolver() -> None:
    """Make ``${vidzoo_train_groups:}`` (``hydra.help.template`` in configs/config.yaml) resolvable."""
    from omegaconf import OmegaConf

    if not OmegaConf.has_resolver("vidzoo_train_groups"):
        OmegaConf.register_new_resolver("vidzoo_train_groups", train_groups_help)


def _flat_keys(node: Any, prefix: str = "") -> list[str]:
    from omegaconf import DictConfig

    keys = []
    if isinstance(node, DictConfig):
        for k in node.keys():
            full = f"{prefix}{k}"
            keys.append(full)
            keys.extend(_flat_keys(node._get_node(k), full + "."))
    return keys


def _hydra_group_options(group: str) -> list[str]:
    """The configs Hydra can pick for ``group`` (e.g. ``hydra/launcher``), read while a config dir is initialised."""
    from hydra.core.global_hydra import GlobalHydra

    if not GlobalHydra.instance().is_initialized():
        return []
    return sorted(GlobalHydra.instance().config_loader().get_group_options(group))


def explain_override_error(override: str, base_cfg: Any) -> str:
    """A one-line explanation (with the fix) of why ``override`` cannot be applied."""
    key, _, value = override.lstrip("+~").partition("=")
    groups = _config_groups()
    if key in groups:
        return f"no config {value!r} in group {key!r} (configs/{key}/); choose one of: {', '.join(groups[key])}"
    if key.startswith("hydra/"):  # Hydra's groups (hydra/launcher: its plugins' configs and configs/hydra/launcher/)
        options = _hydra_group_options(key)
        if not options:
            return f"no Hydra config group {key!r} in override {override!r}; see vidzoo-train --hydra-help"
        if key == "hydra/launcher" and "submitit_local" not in options:  # local and slurm extend submitit's configs
            return (f"{override} needs hydra-submitit-launcher (for submitit_local, submitit_slurm, local, slurm): "
                    f"pip install -e \".[cluster]\"")
        return f"no config {value!r} in group {key!r}; choose one of: {', '.join(options)}"
    parent, _, leaf = key.rpartition(".")
    if parent in ("model.kwargs", "data.extra") and not override.startswith("+"):
        return f"{parent} has no key {leaf!r} yet; add it with +{override}"
    known = _flat_keys(base_cfg)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}?" if close else "run with --cfg job to list the keys"
    return f"unknown config key {key!r} in override {override!r}; {hint}"


def joint_override_error(override: str, exc: BaseException) -> str | None:
    """The one-line explanation of a bad ``data.joint`` override (its root cause and the entry's keys), else None."""
    if not override.lstrip("+~").startswith("data.joint"):
        return None
    from vidzoo.config import JointDataConfig

    while exc.__cause__ is not None:
        exc = exc.__cause__
    keys = ", ".join(f.name for f in fields(JointDataConfig))
    return (f"bad override {override!r}: {str(exc).splitlines()[0]}; data.joint is a list of entries with the keys "
            f"{keys}, e.g. 'data.joint=[{{source: hmdb51, root: /data/hmdb51}}]'")


def compose_or_explain(
    overrides: list[str], prog: str = "vidzoo-train", config_name: str = "config", *, with_hydra: bool = False
) -> Any:
    """Compose ``configs/<config_name>.yaml`` like Hydra does; on failure, name the first bad override and exit.

    ``with_hydra=True`` keeps the ``hydra`` node (its ``runtime.choices`` say which config file of each
    group was picked); the default returns the job config alone.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from vidzoo.config import register_configs

    register_configs()
    plain = [o for o in overrides if not o.startswith(_HYDRA_FLAGS)]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        try:
            return compose(config_name=config_name, overrides=plain, return_hydra_config=with_hydra)
        except Exception:
            base = compose(config_name=config_name)
            for i in range(len(plain)):
                try:
                    compose(config_name=config_name, overrides=plain[: i + 1])
                except Exception as exc:  # report the first override that breaks composition
                    message = explain_override_error(plain[i], base)
                    if "Could not" not in str(exc) and "not in struct" not in str(exc) and "find" not in str(exc):
                        message = f"bad override {plain[i]!r}: {str(exc).splitlines()[0]}"
                    message = joint_override_error(plain[i], exc) or message
                    _fail(prog, message)
            raise
        finally:
            GlobalHydra.instance().clear()


def compose_job(overrides: list[str], prog: str = "vidzoo-train") -> tuple[Any, str | None]:
    """The composed job config (without the ``hydra`` node) and the name of the trainer preset it picked."""
    from omegaconf import open_dict

    cfg = compose_or_explain(overrides, prog, with_hydra=True)
    preset = cfg.hydra.runtime.choices.get("trainer")
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, preset


def _run_guarded(prog: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except _user_errors() as exc:
        _fail(prog, str(exc))


def _checked(prog: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, with a ConfigValueError turned into one line and exit 2 (without importing torch to catch it)."""
    from vidzoo.errors import ConfigValueError

    try:
        return fn()
    except ConfigValueError as exc:
        _fail(prog, str(exc))


def validate_or_explain(overrides: list[str], *, multirun: bool = False, prog: str = "vidzoo-train") -> Any:
    """Compose and check every job of a sweep (of a long sweep: each value once, and the rules relating two
    values in each job) before anything is created; exit 2 on the first bad value. Returns the first job's config."""
    from vidzoo.sweep import raw_output_dir, split_sweeps, sweep_variants
    from vidzoo.validation import check_cheap, check_costly

    plain = [o for o in overrides if not o.startswith(_HYDRA_FLAGS)]
    try:
        sweeps = split_sweeps(plain)[1]
        variants, complete = sweep_variants(plain)
    except Exception:  # not parseable as overrides (or a glob sweep): composition names the bad one
        sweeps, variants, complete = {}, [plain], True
    if sweeps and not multirun:
        key, values = next(iter(sweeps.items()))
        _fail(prog, f"{key} is given {len(values)} values (a sweep); add -m to run one job per value "
                    f"(vidzoo-train -m ...) or give one value")
    if multirun and any(o.lstrip("+").lower().startswith("trainer.resume=true") for o in plain):
        _fail(prog, "trainer.resume=true resumes one run; resume a sweep's job without -m, with "
                    "trainer.output_dir=<its job folder>")
    composed = []
    for variant in variants:  # every value's cheap rules first, so a bad value is found before torch loads
        cfg, preset = compose_job(variant, prog)
        if multirun and "trainer.output_dir" not in sweeps and raw_output_dir(cfg) != _default_output_dir():
            _fail(prog, f"trainer.output_dir={raw_output_dir(cfg)} would be shared by every job of the sweep; leave "
                        f"it out (each job gets a folder under hydra.sweep.dir) or set hydra.sweep.dir instead")
        _checked(prog, lambda: check_cheap(cfg, relations=complete))
        composed.append((cfg, preset))
    for cfg, preset in composed:
        _checked(prog, lambda: check_costly(cfg, preset))
    return composed[0][0]


def _default_output_dir() -> str:
    from vidzoo.config import TrainerConfig

    return TrainerConfig.output_dir


def _hydra_command_line(argv: list[str]) -> tuple[list[str], bool, bool]:
    """``(overrides, multirun, runs_a_job)`` as Hydra reads ``argv``; ``runs_a_job`` is false for --help,
    --cfg, --info and the other flags that only print."""
    from hydra._internal.utils import get_args_parser

    args, _ = get_args_parser().parse_known_args(argv)
    prints = args.help or args.hydra_help or args.cfg or args.info or args.shell_completion
    return list(args.overrides), bool(args.multirun), not prints


def train_main() -> None:
    """``vidzoo-train [-m] [key=value ...]``: Hydra entry point for the shared trainer (``-m``: one job per
    combination of the swept values, then a summary table)."""
    import hydra
    from hydra.core.hydra_config import HydraConfig

    from vidzoo import sweep
    from vidzoo.config import register_configs
    from vidzoo.validation import validate_config

    argv = sys.argv[1:]
    overrides, multirun, runs_a_job = _hydra_command_line(argv)
    if runs_a_job:
        validate_or_explain(overrides, multirun=multirun)
        sweep.remember_swept_keys(sweep.split_sweeps(overrides)[1])
    elif not any(a in ("-h", "--help", "--hydra-help") for a in argv):
        compose_or_explain(overrides)
    register_configs()
    sweep.register_resolvers()
    register_help_resolver()

    @hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base=None)
    def _train(cfg) -> dict:
        from vidzoo.engine.experiment import run_training

        in_sweep = sweep.in_multirun()
        if in_sweep:  # each job of a sweep trains into its own folder; combinations are checked here
            sweep.use_job_dir(cfg, _default_output_dir())
        try:
            if in_sweep:
                validate_config(cfg, trainer_preset=HydraConfig.get().runtime.choices.get("trainer"))
            report = run_training(cfg, _hydra_record(cfg))
        except _user_errors() as exc:
            if not in_sweep:
                _fail("vidzoo-train", str(exc))
            # sweep.SweepSummary prints the error line and lists the job as failed, whichever process ran it
            return {"run": str(cfg.trainer.output_dir), "error": str(exc)}
        if report is not None and "video_top1" in report and os.environ.get("RANK", "0") == "0":
            print(final_line(report, Path(cfg.trainer.output_dir) / "report.json"))
        return {"run": str(cfg.trainer.output_dir), **{k: (report or {}).get(k) for k in ("video_top1", "clip_top1")}}

    _train()
    if multirun and sweep.FAILED_JOBS:
        sys.exit(2)


def _hydra_record(cfg: Any) -> dict[str, str]:
    """What Hydra saves as ``.hydra/{config,overrides}.yaml``, for the trainer to write once the run folder is its
    own (Hydra itself writes nothing: ``hydra.output_subdir`` is null, see configs/config.yaml)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    overrides = OmegaConf.create(list(HydraConfig.get().overrides.task))
    return {".hydra/config.yaml": OmegaConf.to_yaml(cfg), ".hydra/overrides.yaml": OmegaConf.to_yaml(overrides)}


def final_line(report: dict, path: Path) -> str:
    """The run's last line: accuracy, how many videos failed to decode or were skipped, where the report is."""
    counts = {k: report.get(f"{k}_videos", {}).get("count", 0) for k in ("failed", "skipped")}
    return (f"[vidzoo] final: video_top1 {report['video_top1']:.4f} clip_top1 {report['clip_top1']:.4f} "
            f"({counts['failed']} videos failed, {counts['skipped']} skipped) -> {path}")


def run_test(argv: list[str] | None = None) -> dict:
    """Evaluate as ``vidzoo-test argv`` does and return the report (bad input: one line, exit 2)."""
    from vidzoo.test_args import parse_test_args

    args = _checked("vidzoo-test", lambda: parse_test_args(sys.argv[1:] if argv is None else argv))
    from vidzoo.engine.checkpoint_eval import evaluate_checkpoint

    return _run_guarded("vidzoo-test", lambda: evaluate_checkpoint(**args))


def test_main(argv: list[str] | None = None) -> None:
    """``vidzoo-test checkpoint=PATH [data.split=2 data.test_clips=10 ...]``: evaluate on the held-out split.

    Returns None, so the console script exits 0 after its report line (the report is in test_report.json)."""
    run_test(argv)


def extract_flow_main(argv: list[str] | None = None) -> None:
    """``vidzoo-extract-flow``: see ``tools/extract_flow.py``; flags out of range are one line, exit 2."""
    from vidzoo.flow.extraction import build_parser, run
    from vidzoo.validation import check_flow_args

    raise SystemExit(run(build_parser().parse_checked(argv, check_flow_args)))


def prepare_dataset_main(argv: list[str] | None = None) -> None:
    """``vidzoo-prepare-dataset``: see ``tools/prepare_dataset.py``; flags out of range are one line, exit 2."""
    from vidzoo.data.prepare import build_parser, run
    from vidzoo.validation import check_prepare_args

    raise SystemExit(run(build_parser().parse_checked(argv, check_prepare_args)))
