"""Multi-task training data: the training splits of ``data.joint`` datasets added to the primary one's.

Simonyan & Zisserman (2014, Sec. 4) train the temporal ConvNet on UCF101 and HMDB51 at once, one softmax layer per
dataset. Here each dataset is a *label block* of one joint label space: the primary dataset's classes first
(``0..K1-1``), then each ``data.joint`` entry's, in list order (``K1..K1+K2-1``, ...). Every training sample carries its
label in that space; the validation/test set stays the primary dataset's, in its own classes. The blocks go into
``preprocessing["label_blocks"]`` (``[{"source", "start", "stop", "classes"}, ...]``; the primary block starts at 0),
which the loss (:mod:`vidzoo.engine.label_blocks`) and evaluation read.

Every entry is read with the primary dataset's clip recipe (sampler, frames, stride, crops, modality, decoder);
only ``source``, ``root``, ``split``, ``flow_root`` and ``extra`` are its own. ``data.time_reversal`` applies to
the primary dataset only (the synthetic motions declare the reversed classes).
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Callable

from torch.utils.data import Dataset

from vidzoo.errors import ConfigValueError

if TYPE_CHECKING:
    from vidzoo.data.builder import DataBundle

__all__ = ["JointTrainSet", "add_joint_training", "check_joint"]

_JOINT_SOURCES = ("synthetic", "ucf101", "hmdb51", "folder", "csv")
#: Sources that name one fixed dataset: a second entry of the same source is the same dataset again.
_NAMED = ("synthetic", "ucf101", "hmdb51")


class JointTrainSet(Dataset):
    """The concatenation of training sets, each sample's label moved into its dataset's block.

    ``parts`` are ``(dataset, offset)`` pairs; item ``i`` of the whole is ``{**item, "label": label + offset}`` of
    the part that holds it, with ``index`` the position in the whole. ``set_epoch`` reaches every part.
    """

    def __init__(self, parts: list[tuple[Dataset, int]]) -> None:
        self.parts = list(parts)
        self.starts = [0]
        for dataset, _ in self.parts:
            self.starts.append(self.starts[-1] + len(dataset))

    def __len__(self) -> int:
        return self.starts[-1]

    def set_epoch(self, epoch: int) -> None:
        for dataset, _ in self.parts:
            if hasattr(dataset, "set_epoch"):
                dataset.set_epoch(epoch)

    def locate(self, index: int) -> tuple[int, int]:
        """``(part, index within the part)`` of item ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} samples")
        part = next(k for k in range(len(self.parts)) if index < self.starts[k + 1])
        return part, index - self.starts[part]

    def __getitem__(self, index: int) -> dict[str, Any]:
        part, local = self.locate(int(index))
        dataset, offset = self.parts[part]
        item = dict(dataset[local])
        if "label" in item:
            item["label"] = int(item["label"]) + offset
        item["index"] = int(index)
        return item

    @property
    def labels(self) -> list[int]:
        return [label + offset for dataset, offset in self.parts for label in getattr(dataset, "labels", [])]


def _folder(root: Any) -> str:
    """``root`` as the folder it names, for comparing datasets; ``""`` when unset (None, empty or ``???``)."""
    return "" if root in (None, "", "???") else str(Path(str(root)).expanduser())


def check_joint(data: Any, *, check_files: bool = True) -> list[Any]:
    """The ``data.joint`` entries after the one-line checks: a known source with a root (``check_files``: set and a
    folder), not the primary dataset again, the primary's modality."""
    entries = list(getattr(data, "joint", None) or [])
    seen = [(data.source, _folder(data.root))]
    for i, entry in enumerate(entries):
        key = f"data.joint.{i}"
        source, root = str(entry.source or ""), str(entry.root or "")
        if source not in _JOINT_SOURCES:
            raise ConfigValueError(f"{key}.source={source!r}: choose one of {', '.join(_JOINT_SOURCES)}")
        if check_files and root in ("", "???"):
            raise ConfigValueError(f"{key} ({source}) needs a root: set {key}.root=/path/to/{source}")
        if check_files and not Path(root).expanduser().is_dir():
            raise ConfigValueError(f"{key}.root={root} is not a directory; point it at the {source} dataset folder")
        place = (source, _folder(root))
        same_folder = bool(place[1]) and place[1] in [r for _, r in seen]
        if same_folder or (source in _NAMED and source in [s for s, _ in seen]):
            raise ConfigValueError(f"{key}.source={source} is already a dataset of this run (data.source="
                                   f"{data.source}, same source or folder); a joint dataset must be another one: "
                                   f"change {key}.source or {key}.root")
        seen.append(place)
        if entry.modality not in ("", None, data.modality):
            raise ConfigValueError(f"{key}.modality={entry.modality} differs from data.modality={data.modality}: "
                                   f"every dataset of a joint run is read the same way; remove {key}.modality")
    return entries


def _entry_data(data: Any, entry: Any) -> SimpleNamespace:
    """``data`` with the entry's dataset in place of the primary one (the same clip recipe)."""
    from vidzoo.config import DataConfig

    values = {f.name: getattr(data, f.name, None) for f in fields(DataConfig)}
    values.update(source=entry.source, root=entry.root, split=int(entry.split), flow_root=entry.flow_root or "",
                  extra=dict(entry.extra or {}), time_reversal=False, joint=[])
    return SimpleNamespace(**values)


def add_joint_training(bundle: DataBundle, data: Any, build: Callable[..., DataBundle], *, seed: int,
                       normalize: bool) -> DataBundle:
    """``bundle`` with the training splits of ``data.joint`` appended as label blocks (see the module docstring);
    ``bundle`` itself when ``data.joint`` is empty. ``build`` is ``build_datasets``."""
    entries = check_joint(data)
    if not entries:
        return bundle
    blocks = [{"source": str(data.source), "start": 0, "stop": len(bundle.class_names),
               "classes": list(bundle.class_names)}]
    parts: list[tuple[Dataset, int]] = [(bundle.train, 0)]
    train_keys, skipped = list(bundle.train_keys), list(bundle.skipped)
    for entry in entries:
        other = build(_entry_data(data, entry), root=entry.root, seed=seed, normalize=normalize)
        start = blocks[-1]["stop"]
        blocks.append({"source": str(entry.source), "start": start, "stop": start + len(other.class_names),
                       "classes": list(other.class_names)})
        parts.append((other.train, start))
        train_keys.extend(other.train_keys)
        skipped.extend(other.skipped)
    bundle.train = JointTrainSet(parts)
    bundle.train_keys, bundle.skipped = train_keys, skipped
    bundle.preprocessing = {**bundle.preprocessing, "label_blocks": blocks}
    return bundle
