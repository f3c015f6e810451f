"""Evaluation honesty: duplicate lines, train/test overlap, a checkpoint evaluated on its own training videos,
and split lines whose path leaves the video folder are refused with one line (``data.allow_overlap=true`` warns)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from vidzoo import cli
from vidzoo.cli import compose_or_explain
from vidzoo.data.annotations import SplitFileError, load_split
from vidzoo.data.builder import build_datasets
from vidzoo.data.split_checks import SplitLeakError, check_disjoint, check_not_trained_on, key_digests, video_key
from vidzoo.engine import checkpoint as ckpt
from vidzoo.engine.experiment import build_trainer

from datasets_tree import data_config, make_hmdb51_tree, make_ucf101_tree, synthetic_kwargs
from training_helpers import EPOCH, save_run, tiny_overrides

REAL_SPLITS = next((p / "shared" / "data" / "ucf101-splits" / "ucfTrainTestlist" for p in Path(__file__).resolve().parents
                    if (p / "shared" / "data" / "ucf101-splits" / "ucfTrainTestlist").is_dir()), None)


@pytest.fixture
def synthetic_copy(synthetic_root, tmp_path) -> Path:
    return Path(shutil.copytree(synthetic_root, tmp_path / "synthetic"))


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


def _first_line(path: Path) -> str:
    return path.read_text().splitlines()[0]


def test_a_duplicate_line_is_refused_or_warned_and_kept(synthetic_copy):
    trainlist = synthetic_copy / "splits" / "trainlist01.txt"
    before = load_split("synthetic", synthetic_copy, 1, "train")
    _append(trainlist, _first_line(trainlist))
    with pytest.raises(SplitLeakError) as err:
        load_split("synthetic", synthetic_copy, 1, "train")
    msg = str(err.value)
    assert "\n" not in msg and str(trainlist) in msg and "more than once" in msg and "data.allow_overlap=true" in msg
    with pytest.warns(UserWarning, match="more than once"):
        found = load_split("synthetic", synthetic_copy, 1, "train", allow_overlap=True)
    assert len(found.records) == len(before.records) + 1 and len(found.keys) == len(found.records)


def test_a_video_in_train_and_test_is_refused_or_warned(synthetic_copy):
    test_video = _first_line(synthetic_copy / "splits" / "testlist01.txt")
    label = 1 + json.loads((synthetic_copy / "manifest.json").read_text())["classes"].index(test_video.split("/")[0])
    _append(synthetic_copy / "splits" / "trainlist01.txt", f"{test_video} {label}")
    kw = dict(source="synthetic", root=synthetic_copy, synthetic_kwargs=synthetic_kwargs(synthetic_copy))
    with pytest.raises(SplitLeakError, match=r"1 video\(s\) are in both the train and the test list of "
                                             r"data.source=synthetic split 1") as err:
        build_datasets(data_config(**kw))
    assert "\n" not in str(err.value) and video_key(synthetic_copy / "videos" / test_video,
                                                    synthetic_copy / "videos") in str(err.value)
    with pytest.warns(UserWarning, match="both the train and the test list"):
        bundle = build_datasets(data_config(**kw, allow_overlap=True))
    assert set(bundle.train_keys) & set(bundle.test_keys)


def test_split_lines_leaving_the_video_folder_are_refused(tmp_path, synthetic_copy):
    trainlist = synthetic_copy / "splits" / "trainlist01.txt"
    _append(trainlist, "Still/../../../outside/x.avi 1")
    with pytest.raises(SplitFileError, match=r"trainlist01.txt:\d+: path 'Still/../../../outside/x.avi' leaves the "
                                             r"video folder") as err:
        load_split("synthetic", synthetic_copy, 1, "train")
    assert "\n" not in str(err.value)

    hmdb = make_hmdb51_tree(tmp_path / "hmdb")
    _append(hmdb / "testTrainMulti_7030_splits" / "pour_test_split1.txt", "../../../etc/passwd 1")
    with pytest.raises(SplitFileError, match=r"pour_test_split1.txt:\d+: path 'pour/../../../etc/passwd' leaves"):
        load_split("hmdb51", hmdb, 1, "train", check_files=False)


@pytest.mark.parametrize("line", ["../outside.mp4,0", "/etc/passwd,0", "a/../../outside.mp4,0"])
def test_csv_paths_outside_the_root_are_refused(tmp_path, line):
    root = tmp_path / "csv"
    root.mkdir()
    (root / "train.csv").write_text(f"path,label\ninside.mp4,0\n{line}\n")
    with pytest.raises(SplitFileError, match=r"train.csv:3: path .* leaves the video folder"):
        load_split("csv", root, 1, "train", check_files=False)
    (root / "train.csv").write_text(f"path,label\n{root / 'inside.mp4'},0\n")  # absolute but inside: fine
    assert load_split("csv", root, 1, "train", check_files=False).keys == ["inside"]


def test_checkpoint_trained_on_split_1_is_refused_on_split_2(tmp_path, capsys):
    """make_ucf101_tree puts group s in the test list of split s: split 1's training set holds split 2's test set."""
    root = make_ucf101_tree(tmp_path / "ucf", num_frames=8)
    out = tmp_path / "run"
    trainer = build_trainer(compose_or_explain([
        "data.source=ucf101", f"data.root={root}", "data.split=1", "data.num_frames=8", "data.stride=1",
        "data.resize=32", "data.crop_size=32", "data.test_clips=1", "data.batch_size=4", "data.num_workers=0",
        "model=c3d_small", "trainer.tensorboard=false", "trainer.progress=false", f"trainer.output_dir={out}"]))
    save_run(trainer, out)
    meta = json.loads((out / "checkpoints" / EPOCH / ckpt.META_FILE).read_text())
    train = load_split("ucf101", root, 1, "train")
    assert meta["train_videos"]["digests"] == key_digests(train.keys)
    assert not any(str(root) in d or "/" in d for d in meta["train_videos"]["digests"])  # hashes, not paths

    with pytest.raises(SystemExit) as exc:
        cli.run_test([f"checkpoint={out}", "data.split=2", "progress=false"])
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1
    assert "6 of 6 test videos of data.source=ucf101 split 2 are in the training set of" in err
    assert ckpt.META_FILE in err and "train_videos" in err and "data.allow_overlap=true" in err

    with pytest.warns(UserWarning, match="are in the training set"):
        report = cli.run_test([f"checkpoint={out}", "data.split=2", "data.allow_overlap=true", "progress=false"])
    assert report["num_videos"] == 6
    assert cli.run_test([f"checkpoint={out}", "data.split=1", "progress=false"])["num_videos"] == 6
    assert (out / "test-split1" / "test_report.json").is_file()


def test_a_stored_allow_overlap_does_not_silence_the_check(tmp_path, capsys, synthetic_root):
    """Only the person evaluating may allow overlap: the checkpoint's own config cannot."""
    out = tmp_path / "run"
    save_run(build_trainer(compose_or_explain(tiny_overrides(synthetic_root, out, "data.allow_overlap=true"))), out)
    meta_file = out / "checkpoints" / EPOCH / ckpt.META_FILE
    meta = json.loads(meta_file.read_text())
    test = load_split("synthetic", synthetic_root, 1, "test")
    meta["train_videos"]["digests"] = key_digests(test.keys[:2])  # as if trained on two of the test videos
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(SystemExit):
        cli.run_test([f"checkpoint={out}", "progress=false"])
    assert "2 of 18 test videos" in capsys.readouterr().err


@pytest.mark.skipif(REAL_SPLITS is None, reason="shared/data/ucf101-splits (the real UCF101 split files) is absent")
def test_real_ucf101_splits_are_disjoint_but_split_1_train_holds_split_2_test():
    lists = {(s, sub): load_split("ucf101", REAL_SPLITS.parent, s, sub, split_dir=REAL_SPLITS, check_files=False)
             for s in (1, 2, 3) for sub in ("train", "test")}
    for s in (1, 2, 3):
        check_disjoint(lists[s, "train"].keys, lists[s, "test"].keys, f"split {s}", allow=False)
    trained = key_digests(lists[1, "train"].keys)
    with pytest.raises(SplitLeakError, match=r"\d+ of 3734 test videos of UCF101 split 2 are in the training set"):
        check_not_trained_on(trained, lists[2, "test"].keys, "meta.json", "UCF101 split 2", allow=False)
    check_not_trained_on(trained, lists[1, "test"].keys, "meta.json", "UCF101 split 1", allow=False)
