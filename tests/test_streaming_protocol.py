"""Stream orderings: every example exactly once, class blocks, temporally ordered clips, increments."""

from __future__ import annotations

import numpy as np
import pytest

from vidzoo.errors import ConfigValueError
from vidzoo.streaming.protocol import ORDERINGS, make_stream, split_base_classes

LABELS = [0, 0, 0, 1, 1, 2, 2, 2, 2, 3]  # 10 videos of 4 classes


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_each_example_exactly_once(ordering: str) -> None:
    s = make_stream(LABELS, ordering, clips_per_video=3, seed=1)
    rows = sorted(map(tuple, s.order.tolist()))
    assert rows == [(v, c) for v in range(10) for c in range(3)]
    assert s.labels.tolist() == [LABELS[v] for v in s.order[:, 0]]
    assert s.increment_ends[-1] == len(s) == 30
    assert len(s.increment_ends) == 4  # iid/instance default to as many evaluation points as class blocks


@pytest.mark.parametrize("ordering", ["class_iid", "class_instance"])
def test_classes_arrive_in_blocks_and_increments_close_them(ordering: str) -> None:
    s = make_stream(LABELS, ordering, clips_per_video=2, seed=3, classes_per_increment=2)
    changes = [y for i, y in enumerate(s.labels.tolist()) if i == 0 or y != s.labels[i - 1]]
    assert sorted(changes) == [0, 1, 2, 3]  # each class is one contiguous run
    assert len(s.increment_ends) == 2
    first = set(s.labels[: s.increment_ends[0]].tolist())
    assert len(first) == 2 and not first & set(s.labels[s.increment_ends[0] :].tolist())


@pytest.mark.parametrize("ordering", ["instance", "class_instance"])
def test_instance_orderings_play_each_video_in_temporal_order(ordering: str) -> None:
    s = make_stream(LABELS, ordering, clips_per_video=4, seed=0)
    for start in range(0, len(s), 4):
        block = s.order[start : start + 4]
        assert len(set(block[:, 0].tolist())) == 1 and block[:, 1].tolist() == [0, 1, 2, 3]


def test_iid_mixes_classes_and_differs_by_seed() -> None:
    a, b = make_stream(LABELS * 5, "iid", seed=0), make_stream(LABELS * 5, "iid", seed=1)
    assert not np.array_equal(a.order, b.order)
    assert len(set(a.labels[:10].tolist())) > 1


def test_bad_input_is_a_config_error() -> None:
    with pytest.raises(ConfigValueError, match="choose one of"):
        make_stream(LABELS, "random")
    with pytest.raises(ConfigValueError, match="between 1 and 3"):
        split_base_classes(["a", "b", "c", "d"], 4)
    with pytest.raises(ConfigValueError, match="'z'"):
        split_base_classes(["a", "b"], ["z"])
    assert split_base_classes(["a", "b", "c"], ["c", "a"]) == [0, 2]
