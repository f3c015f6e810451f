"""Command-line entry points: ``vidzoo-train`` (Hydra), ``vidzoo-test`` and the tool wrappers.

Hydra is imported here and nowhere else. Errors a user can fix (a misspelt key, an
unknown model, a missing split file, a checkpoint of another model) are printed as one
line naming the thing and the fix, and the process exits with status 2.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path
from typing import Any, Callable

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
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
        if d.is_dir() and not d.name.startswith(".")
    }


def _flat_keys(node: Any, prefix: str = "") -> list[str]:
    from omegaconf import DictConfig

    keys = []
    if isinstance(node, DictConfig):
        for k in node.keys():
            full = f"{prefix}{k}"
            keys.append(full)
            keys.extend(_flat_keys(node._get_node(k), full + "."))
    return keys


def explain_override_error(override: str, base_cfg: Any) -> str:
    """A one-line explanation (with the fix) of why ``override`` cannot be applied."""
    key, _, value = override.lstrip("+~").partition("=")
    groups = _config_groups()
    if key in groups:
        return f"no config {value!r} in group {key!r} (configs/{key}/); choose one of: {', '.join(groups[key])}"
    parent, _, leaf = key.rpartition(".")
    if parent in ("model.kwargs", "data.extra") and not override.startswith("+"):
        return f"{parent} has no key {leaf!r} yet; add it with +{override}"
    known = _flat_keys(base_cfg)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]}?" if close else "run with --cfg job to list the keys"
    return f"unknown config key {key!r} in override {override!r}; {hint}"


def compose_or_explain(overrides: list[str], prog: str = "vidzoo-train", config_name: str = "config") -> Any:
    """Compose ``configs/<config_name>.yaml`` like Hydra does; on failure, name the first bad override and exit."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from vidzoo.config import register_configs

    register_configs()
    plain = [o for o in overrides if not o.startswith(_HYDRA_FLAGS)]
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base=None):
        try:
            return compose(config_name=config_name, overrides=plain)
        except Exception:
            base = compose(config_name=config_name)
            for i in range(len(plain)):
                try:
                    compose(config_name=config_name, overrides=plain[: i + 1])
                except Exception as exc:  # report the first override that breaks composition
                    message = explain_override_error(plain[i], base)
                    if "Could not" not in str(exc) and "not in struct" not in str(exc) and "find" not in str(exc):
                        message = f"bad override {plain[i]!r}: {str(exc).splitlines()[0]}"
                    _fail(prog, message)
            raise
        finally:
            GlobalHydra.instance().clear()


def _run_guarded(prog: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except _user_errors() as exc:
        _fail(prog, str(exc))


def train_main() -> None:
    """``vidzoo-train [key=value ...]``: Hydra entry point for the shared trainer."""
    import hydra

    from vidzoo.config import register_configs

    if not any(a in ("-h", "--help", "--hydra-help") for a in sys.argv[1:]):
        compose_or_explain(sys.argv[1:])
    register_configs()

    @hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base=None)
    def _train(cfg) -> None:
        from vidzoo.engine.experiment import run_training

        report = _run_guarded("vidzoo-train", lambda: run_training(cfg, _hydra_record(cfg)))
        if report is not None and "video_top1" in report and os.environ.get("RANK", "0") == "0":
            print(final_line(report, Path(cfg.trainer.output_dir) / "report.json"))

    _train()


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


def test_main(argv: list[str] | None = None) -> dict:
    """``vidzoo-test checkpoint=PATH [data.split=2 data.test_clips=10 ...]``: evaluate on the held-out split."""
    from vidzoo.engine.testing import evaluate_checkpoint, parse_test_args

    args = sys.argv[1:] if argv is None else argv
    return _run_guarded("vidzoo-test", lambda: evaluate_checkpoint(**parse_test_args(args)))


def extract_flow_main() -> None:
    """``vidzoo-extract-flow``: see ``tools/extract_flow.py``."""
    from vidzoo.flow.extraction import main

    raise SystemExit(main())


def prepare_dataset_main() -> None:
    """``vidzoo-prepare-dataset``: see ``tools/prepare_dataset.py``."""
    from vidzoo.data.indexing import main

    raise SystemExit(main())
