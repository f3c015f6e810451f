"""Split parsing: UCF101 and HMDB51 exactly as published, folder trees, CSV/JSON, missing videos."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from datasets_tree import HMDB_CLASSES, HMDB_ODD_NAMES, REAL_UCF_SPLITS, UCF_CLASSES, data_config, make_hmdb51_tree, make_ucf101_tree
from vidzoo.data.annotations import (
    MissingVideosError,
    SplitFileError,
    VideoRecord,
    load_split,
    read_class_index,
    read_ucf_style_split,
)


@pytest.fixture(scope="module")
def ucf(tmp_path_factory) -> Path:
    return make_ucf101_tree(tmp_path_factory.mktemp("ucf"))


@pytest.fixture(scope="module")
def hmdb(tmp_path_factory) -> Path:
    return make_hmdb51_tree(tmp_path_factory.mktemp("hmdb"))


# ---------------------------------------------------------------- real UCF101 split files


@pytest.mark.skipif(not REAL_UCF_SPLITS.is_dir(), reason="shared/ with the real UCF101 split files is absent")
def test_real_ucf101_split_counts_and_classes():
    assert b"\r\n" in (REAL_UCF_SPLITS / "trainlist01.txt").read_bytes()[:200]  # the files really are CRLF
    expected = {1: (9537, 3783), 2: (9586, 3734), 3: (9624, 3696)}
    official = [ln.split()[1] for ln in (REAL_UCF_SPLITS / "classInd.txt").read_text().splitlines() if ln.strip()]
    for split, (n_train, n_test) in expected.items():
        train, classes = load_split("ucf101", REAL_UCF_SPLITS.parent, split, "train",
                                    split_dir=REAL_UCF_SPLITS, check_files=False)
        test, classes_t = load_split("ucf101", REAL_UCF_SPLITS.parent, split, "test",
                                     split_dir=REAL_UCF_SPLITS, check_files=False)
        assert (len(train), len(test)) == (n_train, n_test)
        assert classes == classes_t == official and len(classes) == 101
        # Every video is in exactly one subset, and every subset covers all 101 classes.
        assert not {r.path for r in train} & {r.path for r in test}
        assert len({r.path for r in train} | {r.path for r in test}) == 13320
        assert {r.label for r in train} == {r.label for r in test} == set(range(101))
    # Labels equal the official 1-based numbers of the train list, minus one; HandStand files land in HandstandPushups.
    train, classes = load_split("ucf101", REAL_UCF_SPLITS.parent, 1, "train", split_dir=REAL_UCF_SPLITS,
                                check_files=False)
    lines = [ln.split() for ln in (REAL_UCF_SPLITS / "trainlist01.txt").read_text().splitlines() if ln.strip()]
    assert [r.label for r in train] == [int(lab) - 1 for _, lab in lines]
    hsp = [r for r in train if "v_HandStandPushups_" in r.path]
    assert hsp and {classes[r.label] for r in hsp} == {"HandstandPushups"}
    assert classes.index("HandstandPushups") == 36 and classes.index("YoYo") == 100


# ---------------------------------------------------------------- UCF101-shaped tree


def test_ucf101_tree_counts_labels_and_splits(ucf):
    names = [c for c, _ in UCF_CLASSES]
    for split in (1, 2, 3):
        train, classes = load_split("ucf101", ucf, split, "train")
        test, _ = load_split("ucf101", ucf, split, "test")
        assert classes == names
        assert (len(train), len(test)) == (3 * 2 * 2, 3 * 2)
        assert all(f"_g{split:02d}_" in r.path for r in test)
        assert not any(f"_g{split:02d}_" in r.path for r in train)
        for r in train + test:
            assert os.path.isfile(r.path)
            assert Path(r.path).parent.name == classes[r.label]
    hsp = [r for r in train if "v_HandStandPushups_" in r.path]
    assert len(hsp) == 4 and {r.label for r in hsp} == {1}


def test_ucf101_val_means_test_and_explicit_dirs(ucf):
    test = load_split("ucf101", ucf, 1, "test")
    val = load_split("ucf101", ucf, 1, "val", split_dir=ucf / "ucfTrainTestlist", video_dir="UCF-101")
    assert test.records == val.records and test.classes == val.classes


def test_read_ucf_style_split_kept_working(ucf):
    records, classes = read_ucf_style_split(ucf / "ucfTrainTestlist", ucf / "UCF-101", 2, "train")
    assert len(records) == 12 and isinstance(records[0], VideoRecord)
    assert read_class_index(ucf / "ucfTrainTestlist" / "classInd.txt") == classes


def test_ucf101_label_disagreeing_with_folder_is_an_error(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf", groups=1, clips=1)
    lst = root / "ucfTrainTestlist" / "trainlist02.txt"
    lst.write_text(lst.read_text().replace("YoYo_g01_c01.avi 3", "YoYo_g01_c01.avi 1"))
    with pytest.raises(SplitFileError, match=r"trainlist02.txt:3: label 1 disagrees with class folder 'YoYo'"):
        load_split("ucf101", root, 2, "train")


def test_missing_split_file_names_the_file(ucf, tmp_path):
    with pytest.raises(SplitFileError, match=r"testlist04\.txt"):
        load_split("ucf101", ucf, 4, "test")
    with pytest.raises(SplitFileError, match="cannot find the split dir"):
        load_split("ucf101", tmp_path, 1, "train")
    with pytest.raises(SplitFileError, match="dataset root not found"):
        load_split("ucf101", tmp_path / "nope", 1, "train")
    with pytest.raises(SplitFileError, match="data.root is empty: set data.root=/path/to/hmdb51"):
        load_split("hmdb51", "", 1, "train")


# ---------------------------------------------------------------- missing videos


def test_missing_video_is_an_error_listing_it(tmp_path, caplog):
    root = make_ucf101_tree(tmp_path / "ucf", groups=2, clips=1)
    gone = root / "UCF-101" / "YoYo" / "v_YoYo_g02_c01.avi"
    gone.unlink()
    with pytest.raises(MissingVideosError) as err:
        load_split("ucf101", root, 1, "train")
    msg = str(err.value)
    assert str(gone) in msg and "1 of 3 videos" in msg and "data.skip_missing=true" in msg
    assert err.value.missing == [str(gone)]
    with caplog.at_level(logging.WARNING, logger="vidzoo.data.annotations"):
        result = load_split("ucf101", root, 1, "train", skip_missing=True)
    records, classes = result
    assert len(records) == 2 and result.missing == [str(gone)]
    assert "skipped 1 of 3 videos" in caplog.text


def test_many_missing_videos_are_summarised(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf", groups=3, clips=4)
    for p in sorted((root / "UCF-101").rglob("*.avi"))[:30]:
        p.unlink()
    with pytest.raises(MissingVideosError, match=r"\(\+\d+ more\)"):
        load_split("ucf101", root, 1, "train")


def test_file_name_differing_only_in_case_is_found(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf", groups=1, clips=1)
    p = root / "UCF-101" / "HandstandPushups" / "v_HandStandPushups_g01_c01.avi"
    p.rename(p.with_name("v_HandstandPushups_g01_c01.avi"))
    test, classes = load_split("ucf101", root, 1, "test")
    assert len(test) == 3 and any(r.path.endswith("v_HandstandPushups_g01_c01.avi") for r in test)


# ---------------------------------------------------------------- HMDB51-shaped tree


def test_hmdb51_tree_counts_labels_and_odd_names(hmdb):
    for split in (1, 2, 3):
        train, classes = load_split("hmdb51", hmdb, split, "train")
        test, _ = load_split("hmdb51", hmdb, split, "test")
        assert classes == sorted(HMDB_CLASSES)
        assert (len(train), len(test)) == (3 * 2, 3 * 1)  # 4 videos: 1 test, 1 unused, 2 train per class
        for r in train + test:
            assert Path(r.path).parent.name == classes[r.label] and os.path.isfile(r.path)
    train, classes = load_split("hmdb51", hmdb, 3, "train")
    names = {Path(r.path).name for r in train}
    assert "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi" in names
    assert "Tom_&_Jerry's_brush_hair_u_nm_np1_fr_goo_0.avi" in names
    test, _ = load_split("hmdb51", hmdb, 1, "test")
    assert {Path(r.path).name for r in test} == {v[0] for v in HMDB_ODD_NAMES.values()}


def test_hmdb51_missing_split_number(hmdb):
    with pytest.raises(SplitFileError, match=r"_test_split7\.txt"):
        load_split("hmdb51", hmdb, 7, "train", split_dir="testTrainMulti_7030_splits")


def test_hmdb51_bad_mark_is_an_error(tmp_path):
    root = make_hmdb51_tree(tmp_path / "h")
    f = root / "testTrainMulti_7030_splits" / "pour_test_split1.txt"
    f.write_text(f.read_text() + "extra.avi 5\n")
    with pytest.raises(SplitFileError, match=r"pour_test_split1.txt:5: expected"):
        load_split("hmdb51", root, 1, "train")


# ---------------------------------------------------------------- generic folder and CSV/JSON


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_folder_tree_with_train_and_test(tmp_path):
    for sub, n in (("train", 3), ("test", 1)):
        for cls in ("b_class", "A&B's (odd)!", "Zeta"):
            for k in range(n):
                _touch(tmp_path / sub / cls / f"v{k}.mp4")
    _touch(tmp_path / "train" / "Zeta" / "notes.txt")
    train, classes = load_split("folder", tmp_path, 1, "train")
    test, classes_t = load_split("folder", tmp_path, 1, "test")
    assert classes == classes_t == sorted(["b_class", "A&B's (odd)!", "Zeta"])
    assert len(train) == 9 and len(test) == 3
    assert all("/train/" in r.path for r in train) and all(Path(r.path).parent.name == classes[r.label] for r in test)


def test_flat_folder_tree_splits_by_stable_hash(tmp_path):
    for cls in ("run", "jump"):
        for k in range(50):
            _touch(tmp_path / cls / f"clip_{k}.avi")
    train, classes = load_split("folder", tmp_path, 1, "train")
    test, _ = load_split("folder", tmp_path, 1, "test")
    assert classes == ["jump", "run"]
    assert len(train) + len(test) == 100 and not {r.path for r in train} & {r.path for r in test}
    assert 8 <= len(test) <= 35  # ~20 % with test_fraction=0.2
    _touch(tmp_path / "run" / "clip_new.avi")
    test2, _ = load_split("folder", tmp_path, 1, "test")
    assert {r.path for r in test} <= {r.path for r in test2}


def test_csv_with_names_times_and_header(tmp_path):
    for name in ("a.mp4", "b.mp4", "sub/c.mp4"):
        _touch(tmp_path / name)
    (tmp_path / "train.csv").write_text("path,label,start,end\na.mp4,walk,1.5,3\nsub/c.mp4,run,,\n")
    (tmp_path / "test.csv").write_text("b.mp4,jump\n")
    train, classes = load_split("csv", tmp_path, 1, "train")
    test, classes_t = load_split("csv", tmp_path, 1, "test")
    assert classes == classes_t == ["jump", "run", "walk"]
    assert train == [VideoRecord(str(tmp_path / "a.mp4"), 2, 1.5, 3.0), VideoRecord(str(tmp_path / "sub/c.mp4"), 1)]
    assert test == [VideoRecord(str(tmp_path / "b.mp4"), 0)]


def test_json_with_int_labels_and_classes_file(tmp_path):
    _touch(tmp_path / "x.avi")
    (tmp_path / "classes.txt").write_text("zero\none\ntwo\n")
    (tmp_path / "test.json").write_text(json.dumps([{"path": str(tmp_path / "x.avi"), "label": 2, "end": 4}]))
    test, classes = load_split("csv", tmp_path, 1, "val")
    assert classes == ["zero", "one", "two"] and test == [VideoRecord(str(tmp_path / "x.avi"), 2, None, 4.0)]


def test_csv_errors_name_the_file(tmp_path):
    with pytest.raises(SplitFileError, match="no annotation file for subset 'train'"):
        load_split("csv", tmp_path, 1, "train")
    (tmp_path / "train.csv").write_text("a.mp4\n")
    with pytest.raises(SplitFileError, match=r"train.csv:1: expected 'path,label"):
        load_split("csv", tmp_path, 1, "train")
    with pytest.raises(ValueError, match="unknown data source 'kinetics'"):
        load_split("kinetics", tmp_path, 1, "train")


def test_frames_dir_points_records_at_frame_folders(ucf, tmp_path):
    result = load_split("ucf101", ucf, 1, "test", frames_dir=tmp_path / "rawframes", skip_missing=True)
    assert result.records == [] and len(result.missing) == 6
    assert result.missing[0] == str(tmp_path / "rawframes" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01")
    for p in result.missing:
        Path(p).mkdir(parents=True)
    records, _ = load_split("ucf101", ucf, 1, "test", frames_dir=tmp_path / "rawframes")
    assert len(records) == 6 and all(Path(r.path).is_dir() for r in records)


def test_ucf101_tree_through_build_datasets(ucf):
    from vidzoo.data.builder import build_datasets

    bundle = build_datasets(data_config(source="ucf101", root=str(ucf), split=2, num_frames=4, stride=2, resize=32,
                            crop_size=24, test_clips=2))
    assert bundle.class_names == [c for c, _ in UCF_CLASSES]
    assert (len(bundle.train), len(bundle.val)) == (12, 6)
    item = bundle.train[0]
    assert item["inputs"].shape == (3, 4, 24, 24) and item["label"] == 0
    assert bundle.val[5]["inputs"].shape == (2, 3, 4, 24, 24)
