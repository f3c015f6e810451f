"""A run folder's life: created when training starts, locked for the whole run, cleared of what a kill left.

The main process holds an exclusive lock on ``<output_dir>/.vidzoo.lock`` from the moment it creates (or
reopens) the folder until the run ends, so a second run into the same ``trainer.output_dir`` stops at once with
a one-line error naming the holder's pid instead of mixing its checkpoints and metrics into the first run's.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from vidzoo.errors import OutputError
from vidzoo.files import atomic_write_text, exclusive_lock, remove_leftovers, write_errors

LOCK_FILE = ".vidzoo.lock"
#: The end of every one-line error about writing into the run folder.
OUTPUT_FIX = "free some space, make it writable or choose another trainer.output_dir"

#: What a run writes into its folder besides ``.hydra/`` (written only when absent) and the lock.
RUN_OUTPUTS = ("checkpoints", "metrics.jsonl", "report.json", "curves.png", "confusion.png", "tb")
_CHECKPOINT_NAMES = re.compile(r"(?:epoch_\d+|last\.json|best\.json)")
_RUN_NAMES = ("report.json", "metrics.jsonl")


@contextlib.contextmanager
def open_run_folder(out: Path, *, main: bool = True) -> Iterator[Path]:
    """Create ``out`` (if needed) and hold its run lock while the block runs; yields ``out``.

    On entry, temporaries that a killed run left (``checkpoints/.epoch_0003.old-<pid>``, ``.last.json.<random>``,
    ``.report.json.tmp-...``; only these names of the library's own writers) are removed. Processes other than
    the main one (DDP ranks > 0) write nothing and take no lock.
    """
    out = Path(out)
    if not main:
        yield out
        return
    with write_errors(out, OUTPUT_FIX):
        out.mkdir(parents=True, exist_ok=True)
    busy = (f"trainer.output_dir={out} is in use by another run (pid {{pid}}, lock {{path}}); "
            "wait for it to end or choose another trainer.output_dir")
    with exclusive_lock(out / LOCK_FILE, wait=False, busy=busy):
        remove_leftovers(out, lambda name: name in _RUN_NAMES)
        remove_leftovers(out / "checkpoints", lambda name: _CHECKPOINT_NAMES.fullmatch(name) is not None)
        yield out


def write_records(out: Path, files: Mapping[str, str], *, fresh: bool) -> None:
    """Write ``files`` (relative path -> text, e.g. ``.hydra/overrides.yaml``) into ``out``: all of them for a run
    that starts from scratch, only the absent ones for a resumed run (whose records tell how it was started)."""
    for rel, text in files.items():
        if fresh or not (Path(out) / rel).exists():
            atomic_write_text(Path(out) / rel, text)


def check_fresh(out: Path) -> None:
    """Raise :class:`OutputError` when a run that starts from scratch would overwrite something in ``out``: any of
    :data:`RUN_OUTPUTS` that exists (an empty folder aside), e.g. someone's ``report.json``."""
    out = Path(out)
    found = [n for n in RUN_OUTPUTS if (out / n).exists() and not ((out / n).is_dir() and not any((out / n).iterdir()))]
    if found:
        raise OutputError(
            f"trainer.output_dir={out} already holds {', '.join(found)} but no checkpoint to resume from, so they are "
            "not overwritten; move them away or choose another trainer.output_dir"
        )
