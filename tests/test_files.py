"""vidzoo.files: atomic writes that never truncate, normal modes, the lock helper, leftover removal."""

from __future__ import annotations

import errno
import json
import os

import pytest

from vidzoo import files
from vidzoo.errors import OutputError


def test_atomic_write_keeps_the_old_copy_when_the_disk_is_full(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    files.atomic_write_json(target, {"video_top1": 0.5})
    assert json.loads(target.read_text()) == {"video_top1": 0.5}

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OutputError, match=rf"cannot write {target}: no space left on the device"):
        files.atomic_write_json(target, {"video_top1": 0.9})
    assert json.loads(target.read_text()) == {"video_top1": 0.5}  # whole, not truncated
    assert os.listdir(tmp_path) == ["report.json"]  # the temporary is gone


def test_written_files_and_folders_follow_the_umask(tmp_path):
    mask = os.umask(0o027)
    try:
        f = files.atomic_write_text(tmp_path / "a.txt", "x")
        d = files.make_temp_dir(tmp_path, "run")
    finally:
        os.umask(mask)
    assert f.stat().st_mode & 0o777 == 0o640 and d.stat().st_mode & 0o777 == 0o750


def test_lock_is_exclusive_and_names_the_holder(tmp_path):
    lock = tmp_path / ".lock"
    lock.write_text("old content\n")
    with files.exclusive_lock(lock, wait=False):
        assert lock.read_text().strip() == str(os.getpid())
        with pytest.raises(OutputError, match=rf"^busy: pid {os.getpid()} holds {lock}$"):
            with files.exclusive_lock(lock, wait=False, busy="busy: pid {pid} holds {path}"):
                pass
    with files.exclusive_lock(lock, wait=False):  # released on exit
        pass


def test_remove_leftovers_touches_only_the_writers_names_of_owned_targets(tmp_path):
    gone = [".epoch_0002.old-123", ".epoch_0002.tmp-9-0badc0de", ".last.json.ab_c12x9", ".metrics.jsonl.tmp",
            ".epoch_0003.tmp-a1b2c3d4"]
    kept = ["epoch_0002", "last.json", ".epoch_0002.old-mine", ".notes.json.ab_c12x9", ".last.json.backup", "x.tmp-1"]
    for name in gone + kept:
        (tmp_path / name).mkdir() if "epoch" in name else (tmp_path / name).write_text("")
    owned = {"epoch_0002", "epoch_0003", "last.json", "metrics.jsonl"}
    removed = files.remove_leftovers(tmp_path, owned.__contains__)
    assert sorted(p.name for p in removed) == sorted(gone)
    assert sorted(os.listdir(tmp_path)) == sorted(kept)


def test_check_output_dir_creates_nothing_and_names_the_obstacle(tmp_path, monkeypatch):
    files.check_output_dir(tmp_path / "a" / "b", "trainer.output_dir")
    assert os.listdir(tmp_path) == []
    (tmp_path / "f").write_text("")
    with pytest.raises(OutputError, match=r"trainer.output_dir=.*/f/run: .*/f is a file, not a folder"):
        files.check_output_dir(tmp_path / "f" / "run", "trainer.output_dir")
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(OutputError, match="is not writable"):
        files.check_output_dir(tmp_path / "new", "trainer.output_dir")


def test_check_owned_refuses_unmarked_folders(tmp_path):
    files.check_owned(tmp_path / "absent", ".mark", "fix it")
    (tmp_path / "theirs").mkdir()
    files.check_owned(tmp_path / "theirs", ".mark", "fix it")  # empty: nothing to lose
    (tmp_path / "theirs" / "data.bin").write_text("")
    with pytest.raises(OutputError, match=r"theirs holds files vidzoo did not write \(no .mark\).*; fix it$"):
        files.check_owned(tmp_path / "theirs", ".mark", "fix it")
    (tmp_path / "theirs" / ".mark").write_text("")
    files.check_owned(tmp_path / "theirs", ".mark", "fix it")


def test_no_replace_mode_refuses_an_existing_file_even_one_that_appears_while_writing(tmp_path, monkeypatch):
    target = tmp_path / "model.onnx"
    files.atomic_write_bytes(target, b"new", replace=False)
    assert target.read_bytes() == b"new"
    with pytest.raises(OutputError, match=rf"cannot write {target}: a file is in the way; or pass a new file"):
        files.atomic_write_bytes(target, b"other", replace=False, fix="pass a new file")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["model.onnx"]

    late = tmp_path / "late.onnx"
    real_fsync = files.os.fsync

    def someone_writes_late(fd):  # the file appears after the data is written, before the rename
        real_fsync(fd)
        late.write_bytes(b"theirs")

    monkeypatch.setattr(files.os, "fsync", someone_writes_late)
    with pytest.raises(OutputError, match="a file is in the way"):
        files.atomic_write_bytes(late, b"mine", replace=False)
    assert late.read_bytes() == b"theirs"
    assert sorted(os.listdir(tmp_path)) == ["late.onnx", "model.onnx"]


def test_atomic_output_renames_what_a_writer_made_or_removes_it_on_error(tmp_path):
    target = tmp_path / "clip.avi"
    with files.atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".clip.avi.tmp-")
        tmp.write_bytes(b"frames")
    assert target.read_bytes() == b"frames" and os.listdir(tmp_path) == ["clip.avi"]
    with pytest.raises(RuntimeError), files.atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("encoder failed")
    assert target.read_bytes() == b"frames" and os.listdir(tmp_path) == ["clip.avi"]
