"""File access for checkpoints and run folders that may come from someone else.

A checkpoint is input, not code: reading one must not lead outside its folder. So every file read from a
checkpoint is a regular file directly inside it (no symbolic link, size capped before it is parsed),
``last.json`` / ``best.json`` may only name a sibling folder, and a run folder resumed or written into
holds no symbolic link that would carry a write elsewhere. Each refusal is one :class:`CheckpointError`
line naming the file (and field) and the fix.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from vidzoo.errors import CheckpointError

#: Largest JSON file read from a checkpoint (meta.json with a UCF101-sized training list is ~1 MB).
MAX_JSON_BYTES = 64 * 2**20
#: Largest pointer file (``{"path": "epoch_0003"}``).
MAX_POINTER_BYTES = 4096


def checkpoint_file(folder: Path, name: str) -> Path:
    """``folder / name`` if it is a regular file (not a symbolic link); else a :class:`CheckpointError`."""
    path = Path(folder) / name
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing: the checkpoint is incomplete (re-save it or pick another)") from None
    if stat.S_ISLNK(mode):
        raise CheckpointError(
            f"{path} is a symbolic link (to {os.readlink(path)}): a checkpoint's files must be regular files inside "
            "it; copy the real file into the checkpoint folder"
        )
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{path} is not a regular file; a checkpoint holds only regular files")
    return path


def read_json_file(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file of a checkpoint (size checked first), with a one-line error naming the file."""
    size = os.lstat(path).st_size
    if size > limit:
        raise CheckpointError(f"{path} is {size} bytes, more than the {limit} a vidzoo checkpoint writes; refusing it")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}); the checkpoint is damaged, pick another") from None


def read_json_object(folder: Path, name: str, limit: int = MAX_JSON_BYTES) -> dict[str, Any]:
    """A JSON object stored as ``folder / name`` (a regular file inside the checkpoint)."""
    path = checkpoint_file(folder, name)
    obj = read_json_file(path, limit)
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds a JSON {type(obj).__name__}, expected an object; pick another checkpoint")
    return obj


def follow_pointer(folder: Path, name: str) -> Path | None:
    """The checkpoint folder that ``folder/<name>.json`` names, or ``None`` when there is no such pointer.

    The pointer's ``path`` must be the name of a real (not symlinked) sub-folder of ``folder``: a pointer
    that leads elsewhere (``../../etc``, an absolute path) is refused, never followed.
    """
    pointer = Path(folder) / f"{name}.json"
    if not os.path.lexists(pointer):
        return None
    target = read_json_object(folder, pointer.name, MAX_POINTER_BYTES).get("path")
    if not isinstance(target, str) or not target or target in (".", "..") or "/" in target or "\\" in target:
        raise CheckpointError(
            f"{pointer}: field 'path' must name a checkpoint folder beside it (e.g. 'epoch_0003'), got {target!r}; "
            "a pointer never leads outside its checkpoints folder"
        )
    directory = Path(folder) / target
    if directory.is_symlink():
        raise CheckpointError(f"{pointer}: field 'path' names {directory}, a symbolic link; copy the real folder in")
    return directory


def refuse_symlinks(root: Path, max_entries: int = 100_000) -> None:
    """Raise if ``root`` (a run folder about to be written into) holds a symbolic link anywhere below it.

    A planted link (``metrics.jsonl -> ~/.bashrc``) would carry an append or a replace outside the folder.
    """
    seen = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in (*dirnames, *filenames):
            seen += 1
            path = Path(dirpath) / entry
            if path.is_symlink():
                raise CheckpointError(
                    f"{path} is a symbolic link (to {os.readlink(path)}): a run folder holds only its own files; "
                    "remove the link or choose another trainer.output_dir"
                )
        if seen > max_entries:
            raise CheckpointError(f"{root} holds more than {max_entries} entries; it is not a vidzoo run folder")


def output_folder(folder: Path, files: tuple[str, ...]) -> Path:
    """Create ``folder`` for a report and check that neither it nor ``files`` in it are symbolic links."""
    for path in (Path(folder), *(Path(folder) / f for f in files)):
        if path.is_symlink():
            raise CheckpointError(
                f"{path} is a symbolic link (to {os.readlink(path)}); refusing to write through it - remove it or "
                "pass output=DIR"
            )
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)
