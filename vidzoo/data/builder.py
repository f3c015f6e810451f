"""``build_datasets``: the data config's plain arguments -> train/val datasets and what checkpoints record.

The one entry point the trainer uses; it knows the sources (the embedded synthetic dataset, or
``vidzoo.data.annotations.load_split`` for UCF101 / HMDB51 / folder / CSV) and the modalities (RGB here,
optical flow through ``vidzoo.flow.dataset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from vidzoo.data.annotations import VideoRecord, load_split
from vidzoo.data.dataset import VideoDataset
from vidzoo.data.decoding import build_decoder
from vidzoo.data.decoding.frames import DEFAULT_FRAMES_DIR
from vidzoo.data.split_checks import check_disjoint
from vidzoo.errors import ConfigValueError
from vidzoo.data.sampling import (
    ClipSampler,
    RandomClipSampler,
    SegmentSampler,
    SequenceClipSampler,
    UniformClipSampler,
)
from vidzoo.data.transforms import KINETICS_MEAN, KINETICS_STD, eval_transform, flip_map_from_pairs, train_transform

__all__ = ["DEFAULT_SYNTHETIC_ROOT", "DataBundle", "build_datasets", "build_sampler"]

#: Where the synthetic dataset is cached when the caller passes no root.
DEFAULT_SYNTHETIC_ROOT = Path("~/.cache/vidzoo/synthetic_motions")

_SOURCES = ("synthetic", "ucf101", "hmdb51", "folder", "csv")
_SAMPLERS = ("random", "segment", "sequence")
_MODALITIES = ("rgb", "flow", "rgb+flow")


@dataclass
class DataBundle:
    """Train/val datasets plus what a model and its checkpoint need to know about the data."""

    train: Dataset
    val: Dataset
    class_names: list[str]
    flip_pairs: list[tuple[str, str]] | None
    mean: tuple[float, ...]
    std: tuple[float, ...]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # listed by a split but missing on disk (data.skip_missing)
    train_keys: list[str] = field(default_factory=list)  # one video key per training record (split_checks)
    test_keys: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def build_sampler(
    kind: str, *, train: bool, num_frames: int, stride: int = 1, test_clips: int = 1, seq_clips: int = 1
) -> ClipSampler:
    """The clip sampler for ``data.sampler`` = random | segment | sequence, in train or test mode.

    random: one random clip (train) / ``test_clips`` evenly spaced clips (test) of ``num_frames`` frames.
    segment: TSN, ``num_frames`` segments with one frame each (random in train, centre in test).
    sequence: ``seq_clips`` consecutive clips of ``num_frames`` frames as one view (CNN + LSTM).
    """
    if kind == "random":
        if train:
            return RandomClipSampler(num_frames, stride)
        return UniformClipSampler(num_frames, stride, num_clips=test_clips)
    if kind == "segment":
        return SegmentSampler(num_frames, 1, random=train)
    if kind == "sequence":
        return SequenceClipSampler(seq_clips, num_frames, stride, random=train)
    raise ConfigValueError(f"unknown data.sampler {kind!r}; choose one of {', '.join(_SAMPLERS)}")


def _load_records(
    source: str,
    root: str | Path | None,
    split: int,
    subset: str,
    synthetic_kwargs: dict | None,
    source_kwargs: dict[str, Any],
    skip_missing: bool,
    allow_overlap: bool,
    decoder: str = "pyav",
) -> tuple[list[VideoRecord], list[str], list[tuple[str, str]] | None, list[str], list[str]]:
    """Records, class names, flip pairs, missing videos and one video key per record of one subset."""
    if source == "synthetic":
        from vidzoo.data.synthetic import FLIP_PAIRS, generate_synthetic_motions

        if source_kwargs:
            raise ConfigValueError(f"data.source=synthetic takes no data.extra arguments, got {sorted(source_kwargs)}; remove them")
        if split != 1:
            raise ConfigValueError(f"the synthetic dataset has only split 1, got data.split={split}")
        # the dataset's own seed lives in synthetic_kwargs: a new training seed must not regenerate it
        root = generate_synthetic_motions(root or DEFAULT_SYNTHETIC_ROOT, **dict(synthetic_kwargs or {}))
        frames = _frames_kwargs(source, root, decoder, {})
        found = load_split("synthetic", root, split, subset, skip_missing=skip_missing, allow_overlap=allow_overlap,
                           **frames)
        return found.records, found.classes, [tuple(p) for p in FLIP_PAIRS], list(found.missing), found.keys
    if source not in _SOURCES:
        raise ConfigValueError(f"unknown data.source {source!r}; choose one of {', '.join(_SOURCES)}")
    if root is None:
        raise ConfigValueError(f"data.source={source} needs data.root (the dataset directory)")
    source_kwargs = _frames_kwargs(source, root, decoder, source_kwargs)
    found = load_split(source, root, split, subset, skip_missing=skip_missing, allow_overlap=allow_overlap,
                       **source_kwargs)
    return found.records, found.classes, None, list(found.missing), found.keys


def _frames_kwargs(source: str, root: str | Path, decoder: str, source_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``data.decoder=frames`` reads the JPEG folders ``prepare_dataset --frames`` wrote: ``frames_dir`` defaults to
    ``<root>/rawframes``, and a frames folder that is not there stops the build (no run of all-failed videos)."""
    if decoder != "frames":
        return source_kwargs
    frames_dir = Path(source_kwargs.get("frames_dir") or DEFAULT_FRAMES_DIR).expanduser()
    folder = frames_dir if frames_dir.is_absolute() else Path(root).expanduser() / frames_dir
    if not folder.is_dir():
        where = "" if source == "synthetic" else " or set +data.extra.frames_dir=DIR to the folder holding them"
        raise ConfigValueError(
            f"data.decoder=frames reads JPEG frame folders from {folder}, which does not exist: write them with "
            f"'vidzoo-prepare-dataset --source {source} --root {root} --frames {frames_dir}'{where}"
        )
    return {**source_kwargs, "frames_dir": str(frames_dir)}


def _keep_classes(
    records: list[VideoRecord],
    keys: list[str],
    class_names: list[str],
    flip_pairs: list[tuple[str, str]] | None,
    keep: list[str],
) -> tuple[list[VideoRecord], list[str], list[str], list[tuple[str, str]] | None, bool]:
    """Only the classes named in ``keep`` (``+data.extra.classes``), relabelled 0..k-1 in ``keep`` order.

    Returns the records and their video keys, the class names, the flip pairs whose two classes are both kept,
    and whether horizontal flips stay on (off when a kept class would flip into a dropped one: no label would be
    right).
    """
    unknown = [c for c in keep if c not in class_names]
    if unknown or len(set(keep)) != len(keep) or not keep:
        bad = repr(unknown[0]) if unknown else "a repeated or empty list"
        raise ConfigValueError(f"+data.extra.classes names {bad}; choose distinct classes from {', '.join(class_names)}")
    new = {class_names.index(c): i for i, c in enumerate(keep)}
    chosen = [i for i, r in enumerate(records) if r.label in new]
    kept = [replace(records[i], label=new[records[i].label]) for i in chosen]
    kept_keys = [keys[i] for i in chosen] if keys else []
    if flip_pairs is None:
        return kept, kept_keys, list(keep), None, True
    pairs = [p for p in flip_pairs if p[0] in keep and p[1] in keep]
    flip_ok = not any((a in keep) != (b in keep) for a, b in flip_pairs)
    return kept, kept_keys, list(keep), pairs, flip_ok


def _reverse_pairs(source: str, modality: str) -> list[tuple[str, str]]:
    """The class pairs a time reversal swaps, for the datasets that declare them (the synthetic motions)."""
    if source != "synthetic":
        raise ConfigValueError(
            f"data.time_reversal=true needs classes that a reversed clip maps to (declared by data.source=synthetic); "
            f"data.source={source} declares none (reversing a real action rarely gives another class): set it to false"
        )
    if modality != "rgb":
        raise ConfigValueError(f"data.time_reversal supports RGB clips only, got data.modality={modality}")
    from vidzoo.data.synthetic import REVERSE_PAIRS

    return [tuple(p) for p in REVERSE_PAIRS]


def build_datasets(
    *,
    source: str = "synthetic",
    root: str | Path | None = None,
    split: int = 1,
    num_frames: int = 8,
    stride: int = 2,
    resize: int = 64,
    crop_size: int = 56,
    test_clips: int = 1,
    test_crops: int = 1,
    decoder: str = "pyav",
    sampler: str = "random",
    seq_clips: int = 1,
    modality: str = "rgb",
    flow_root: str | Path | None = None,
    flow_length: int = 10,
    skip_missing: bool = False,
    seed: int = 0,
    mean: tuple[float, ...] = KINETICS_MEAN,
    std: tuple[float, ...] = KINETICS_STD,
    normalize: bool = True,
    synthetic_kwargs: dict | None = None,
    time_reversal: bool = False,
    allow_overlap: bool = False,
    classes: list[str] | None = None,
    **source_kwargs: Any,
) -> DataBundle:
    """Build the train and val (test-split) datasets.

    ``source="synthetic"`` generates the synthetic-motions dataset under ``root`` once (cached; default
    ``~/.cache/vidzoo/synthetic_motions``; ``synthetic_kwargs`` go to ``generate_synthetic_motions``).
    Other sources read their split through ``vidzoo.data.annotations.load_split(source, root, split, subset,
    **source_kwargs)`` (e.g. a CSV path). ``normalize=False`` yields uint8 clips (normalise on the device with
    ``normalize_batch``). Non-RGB modalities are built by ``vidzoo.flow.dataset.build_flow_dataset``.
    ``time_reversal`` plays half the training clips backwards and swaps their labels through the dataset's
    reverse pairs; only the synthetic motions declare such pairs (RGB clips only). ``classes`` (from
    ``+data.extra.classes=[A,B]``) keeps only the classes named, labelled in that order.
    A video listed twice, or in both train and test, is refused unless ``allow_overlap`` (then a warning).
    """
    if modality not in _MODALITIES:
        raise ConfigValueError(f"unknown data.modality {modality!r}; choose one of {', '.join(_MODALITIES)}")
    if sampler not in _SAMPLERS:
        raise ConfigValueError(f"unknown data.sampler {sampler!r}; choose one of {', '.join(_SAMPLERS)}")
    reverse_pairs = _reverse_pairs(source, modality) if time_reversal else None
    preprocessing = {
        "mean": list(mean),
        "std": list(std),
        "resize": resize,
        "crop_size": crop_size,
        "num_frames": num_frames,
        "stride": stride,
        "modality": modality,
        "sampler": sampler,
        "seq_clips": seq_clips,
        "normalized": normalize,
    }
    datasets: dict[str, Dataset] = {}
    class_names: list[str] = []
    flip_pairs = None
    skipped: list[str] = []
    keys: dict[str, list[str]] = {}
    for subset in ("train", "test"):
        records, class_names, flip_pairs, missing, keys[subset] = _load_records(
            source, root, split, subset, synthetic_kwargs, source_kwargs, skip_missing, allow_overlap, decoder
        )
        skipped.extend(missing)
        flip = True
        if classes is not None:
            records, keys[subset], class_names, flip_pairs, flip = _keep_classes(
                records, keys[subset], class_names, flip_pairs, list(classes)
            )
            if reverse_pairs is not None and any((a in class_names) != (b in class_names) for a, b in reverse_pairs):
                raise ConfigValueError("data.time_reversal=true needs each kept class's reversed partner in "
                                       "+data.extra.classes too; add it or set data.time_reversal=false")
            if reverse_pairs is not None:
                reverse_pairs = [p for p in reverse_pairs if p[0] in class_names]
        if not records:
            raise ConfigValueError(f"the {subset} split of data.source={source} (root {root}) has no videos")
        train = subset == "train"
        if modality != "rgb":
            from vidzoo.flow.dataset import build_flow_dataset  # stored flow stacks (imported only when used)

            datasets[subset] = build_flow_dataset(
                records,
                subset,
                class_names=class_names,
                flip_pairs=flip_pairs,
                num_frames=num_frames,
                stride=stride,
                resize=resize,
                crop_size=crop_size,
                test_clips=test_clips,
                test_crops=test_crops,
                decoder=decoder,
                sampler=sampler,
                seq_clips=seq_clips,
                modality=modality,
                flow_root=flow_root,
                flow_length=flow_length,
                mean=mean,
                std=std,
                normalize=normalize,
                seed=seed,
            )
            continue
        clip_sampler = build_sampler(
            sampler, train=train, num_frames=num_frames, stride=stride, test_clips=test_clips, seq_clips=seq_clips
        )
        if train:
            transform = train_transform(
                resize,
                crop_size,
                flip=flip,
                flip_map=flip_map_from_pairs(class_names, flip_pairs),
                reverse_map=flip_map_from_pairs(class_names, reverse_pairs),
                mean=mean,
                std=std,
                output_uint8=not normalize,
            )
        else:
            transform = eval_transform(
                resize, crop_size, num_crops=test_crops, mean=mean, std=std, output_uint8=not normalize
            )
        datasets[subset] = VideoDataset(
            records, clip_sampler, build_decoder(decoder), transform, class_names=class_names, seed=seed
        )
    check_disjoint(keys["train"], keys["test"], f"data.source={source} split {split} (root {root})", allow_overlap)
    return DataBundle(
        train=datasets["train"],
        val=datasets["test"],
        class_names=class_names,
        flip_pairs=flip_pairs,
        mean=tuple(mean),
        std=tuple(std),
        preprocessing=preprocessing,
        skipped=skipped,
        train_keys=keys["train"],
        test_keys=keys["test"],
    )
