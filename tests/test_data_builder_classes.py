"""``data.extra.classes``: train on a subset of a dataset's classes (the streaming base phase uses it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.datasets_tree import synthetic_kwargs
from datasets_tree import data_config
from vidzoo.data.builder import build_datasets
from vidzoo.data.transforms import RandomHorizontalFlip
from vidzoo.errors import ConfigValueError


def _bundle(root: Path, classes: list[str]):
    return build_datasets(data_config(source="synthetic", root=root, synthetic_kwargs=synthetic_kwargs(root), classes=classes))


def _flips(dataset) -> list:
    return [op for op in dataset.transform.ops if isinstance(op, RandomHorizontalFlip)]


def test_subset_relabelled_in_the_order_given(synthetic_root: Path) -> None:
    b = _bundle(synthetic_root, ["TranslateRight", "Still", "TranslateLeft"])
    assert b.class_names == ["TranslateRight", "Still", "TranslateLeft"]
    assert sorted(set(b.train.labels)) == [0, 1, 2] and len(b.train) == 9 and len(b.val) == 6
    assert all(Path(r.path).parent.name == b.class_names[r.label] for r in b.train.records + b.val.records)
    assert b.flip_pairs == [("TranslateLeft", "TranslateRight")] and _flips(b.train)


def test_flips_off_when_a_kept_class_would_flip_into_a_dropped_one(synthetic_root: Path) -> None:
    assert not _flips(_bundle(synthetic_root, ["Still", "TranslateLeft"]).train)
    with pytest.raises(ConfigValueError, match="'Jump'"):
        _bundle(synthetic_root, ["Still", "Jump"])
