"""Writing files without losing any: atomic replacement, normal permissions, advisory locks, one-line errors.

A file that someone may read while it is written (a report, a pointer, a manifest, a metrics log) is written to a
hidden sibling ``.<name>.tmp-<pid>-<hex>``, flushed to disk and renamed over its target, so a reader or a killed
process never meets a truncated copy. Temporaries are created with ``0o666``/``0o777`` filtered by the umask (as
``open`` and ``mkdir`` do), not the private modes of :mod:`tempfile`. :func:`remove_leftovers` removes what a killed
writer left, by these names only. This module imports nothing from vidzoo but its error types.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from vidzoo.errors import OutputError

__all__ = [
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "check_output_dir",
    "check_owned",
    "exclusive_lock",
    "make_temp_dir",
    "remove_leftovers",
    "replace_dir",
    "write_errors",
]

# ".<target>.tmp-<pid>-<hex>" / ".<target>.old-<pid>-<hex>" (this module), ".<target>.old-<pid>" and
# ".<target>.tmp-<pid>" (earlier writers), ".<target>.tmp-XXXXXXXX" (tempfile.mkdtemp), ".<target>.XXXXXXXX"
# (tempfile.mkstemp) and ".<target>.tmp".
_LEFTOVER = re.compile(r"^\.(?P<target>.+?)\.(?:(?:tmp|old)(?:-\d+(?:-[0-9a-f]{8})?|-[a-z0-9_]{8})?|[a-z0-9_]{8})$")

_ERRNO_HINTS = {
    errno.ENOSPC: "no space left on the device; free some space",
    errno.EDQUOT: "disk quota exceeded; free some space",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied; make it writable",
    errno.EPERM: "operation not permitted; make it writable",
    errno.ENOTDIR: "a file is in the way of a folder",
    errno.EEXIST: "a file is in the way",
}


def describe_write_error(path: str | Path, exc: OSError, fix: str = "write somewhere else") -> str:
    """One line naming ``path``, what went wrong and ``fix``."""
    hint = _ERRNO_HINTS.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
    return f"cannot write {path}{where}: {hint}; or {fix}"


@contextlib.contextmanager
def write_errors(path: str | Path, fix: str = "write somewhere else") -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block into an :class:`OutputError` naming ``path`` and ``fix``."""
    try:
        yield
    except OSError as exc:
        raise OutputError(describe_write_error(path, exc, fix)) from exc


def _sibling(path: Path, kind: str) -> Path:
    return path.parent / f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"


def fsync_dir(path: str | Path) -> None:
    """Flush a folder's entries (a rename inside it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes, *, replace: bool = True,
                       fix: str = "write somewhere else") -> Path:
    """Write ``data`` to ``path`` atomically (temporary sibling, fsync, rename); returns ``path``.

    ``replace=False`` never replaces a file: the temporary is hard-linked to ``path``, which fails when ``path``
    exists, also when it appeared while ``data`` was written (on a file system without hard links: a check
    just before the rename). Any ``OSError`` (disk full, read-only folder, ``path`` exists) leaves the previous
    ``path`` untouched, removes the temporary and is raised as an :class:`OutputError` naming ``path`` and ``fix``.
    """
    path = Path(path)
    with write_errors(path, fix), _temporary_sibling(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _rename_into_place(tmp, path, replace)
    return path


@contextlib.contextmanager
def atomic_output(path: str | Path, *, replace: bool = True, fix: str = "write somewhere else") -> Iterator[Path]:
    """The temporary sibling path to give a writer that opens files itself (a video writer, ``torch.save``); once
    the block ends it is renamed to ``path`` as :func:`atomic_write_bytes` does (removed if the block raises)."""
    path = Path(path)
    with write_errors(path, fix), _temporary_sibling(path) as tmp:
        yield tmp
        _rename_into_place(tmp, path, replace)


@contextlib.contextmanager
def _temporary_sibling(path: Path) -> Iterator[Path]:
    """A new hidden sibling of ``path`` (umask-respecting mode), unlinked when the block leaves it behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _rename_into_place(tmp: Path, path: Path, replace: bool) -> None:
    if replace:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # atomic, and refuses an existing path
        except FileExistsError:
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        except OSError:  # no hard links here (FAT, some network file systems)
            if path.exists():
                raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
            os.replace(tmp, path)
    fsync_dir(path.parent)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """:func:`atomic_write_bytes` of UTF-8 ``text``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any, *, indent: int | None = 2, sort_keys: bool = True) -> Path:
    """:func:`atomic_write_bytes` of ``obj`` as JSON (with a final newline)."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=sort_keys) + "\n")


def make_temp_dir(parent: str | Path, name: str) -> Path:
    """Create the hidden working folder ``parent/.<name>.tmp-<pid>-<hex>`` (umask-respecting mode) for a folder
    ``name`` that will be renamed into place with :func:`replace_dir`."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(parent / name, "tmp")
    tmp.mkdir(mode=0o777)
    return tmp


def replace_dir(src: str | Path, dst: str | Path) -> Path:
    """Rename folder ``src`` to ``dst``. An existing ``dst`` is renamed aside first and removed once ``src`` is in
    place, so ``dst`` is always one whole copy. The caller must have made sure ``dst`` is its own to replace."""
    src, dst = Path(src), Path(dst)
    old = None
    if dst.exists():
        old = _sibling(dst, "old")
        os.rename(dst, old)
    os.rename(src, dst)
    fsync_dir(dst.parent)
    if old is not None:
        shutil.rmtree(old)
    return dst


def remove_leftovers(folder: str | Path, owned: Callable[[str], bool]) -> list[Path]:
    """Remove what killed writers of this module left in ``folder`` for targets named ``n`` with ``owned(n)``.

    Only hidden names of the writers' patterns are touched (``.<n>.tmp-...``, ``.<n>.old-...``, see module
    docstring), never the targets themselves. Call it only while holding the lock that guards ``folder``.
    Returns the removed paths.
    """
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for name in sorted(os.listdir(folder)):
        m = _LEFTOVER.match(name)
        if m is None or not owned(m.group("target")):
            continue
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(path)
    return removed


def _read_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return text
    return "unknown"


@contextlib.contextmanager
def exclusive_lock(
    path: str | Path, *, wait: bool = True, busy: str = "{path} is locked by process {pid}"
) -> Iterator[None]:
    """Hold an exclusive ``fcntl.flock`` on ``path`` (created if absent, never truncated before it is held).

    The holder writes its pid into the file. With ``wait=False`` a lock held elsewhere raises
    :class:`OutputError` with ``busy`` formatted with ``path`` and the holder's ``pid``. Closing the file (also
    by process death) releases the lock. Without ``fcntl`` (not POSIX) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    path = Path(path)
    with write_errors(path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise OutputError(busy.replace("{path}", str(path)).replace("{pid}", _read_holder(fd))) from None
        with contextlib.suppress(OSError):  # the pid is a courtesy for the message above
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def check_output_dir(path: str | Path, key: str) -> None:
    """Raise :class:`OutputError` when ``path`` cannot become a writable folder (a file is in the way, or the
    nearest existing folder is not writable). Creates nothing; ``key`` is the config key to name in the message."""
    probe = Path(path).absolute()
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{key}={path}: {probe} is a file, not a folder; choose another {key}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(
            f"{key}={path}: {probe} is not writable (read-only); make it writable or choose another {key}"
        )


def check_owned(folder: str | Path, mark: str, fix: str) -> None:
    """Raise :class:`OutputError` unless ``folder`` is absent, empty, or carries the file ``mark`` that the code
    which generates it writes: only such a folder may be written into or replaced. ``fix`` ends the message."""
    folder = Path(folder)
    if not folder.exists() or (folder / mark).is_file():
        return
    if not folder.is_dir():
        raise OutputError(f"{folder} is a file, not a folder; {fix}")
    if any(folder.iterdir()):
        raise OutputError(f"{folder} holds files vidzoo did not write (no {mark}), so they are not replaced; {fix}")
