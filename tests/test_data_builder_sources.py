"""``build_datasets`` over a real-dataset layout: missing videos error or are skipped (data.skip_missing)."""

import pytest
from datasets_tree import data_config, make_ucf101_tree, synthetic_kwargs

from vidzoo.data.annotations import MissingVideosError
from vidzoo.data.builder import build_datasets
from vidzoo.errors import ConfigValueError


def test_missing_video_errors_or_is_skipped(tmp_path):
    root = make_ucf101_tree(tmp_path / "ucf")
    victim = sorted((root / "UCF-101").rglob("*.avi"))[0]
    full = build_datasets(data_config(source="ucf101", root=root, split=1))
    victim.unlink()
    with pytest.raises(MissingVideosError, match="data.skip_missing=true"):
        build_datasets(data_config(source="ucf101", root=root, split=1))
    kept = build_datasets(data_config(source="ucf101", root=root, split=1, skip_missing=True))
    assert len(kept.train) + len(kept.val) == len(full.train) + len(full.val) - 1


def test_bad_source_and_split_name_the_key():
    with pytest.raises(ConfigValueError, match="data.source"):
        build_datasets(data_config(source="kinetics", root="/nowhere"))
    with pytest.raises(ConfigValueError, match="data.split"):
        build_datasets(data_config(source="synthetic", split=2))


def test_time_reversal_only_where_the_dataset_declares_reverse_pairs(tmp_path, synthetic_root):
    from vidzoo.data.transforms import RandomTimeReversal

    bundle = build_datasets(data_config(source="synthetic", root=synthetic_root, synthetic_kwargs=synthetic_kwargs(synthetic_root),
                            time_reversal=True))
    ops = bundle.train.transform.ops
    reversal = [op for op in ops if isinstance(op, RandomTimeReversal)]
    names = list(bundle.class_names)
    assert len(reversal) == 1
    assert [names[i] for i in reversal[0].reverse_map][names.index("ZoomIn")] == "ZoomOut"
    assert not any(isinstance(op, RandomTimeReversal) for op in bundle.val.transform.ops)
    root = make_ucf101_tree(tmp_path / "ucf")
    with pytest.raises(ConfigValueError, match="data.time_reversal=true"):
        build_datasets(data_config(source="ucf101", root=root, split=1, time_reversal=True))
