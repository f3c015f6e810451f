"""``build_datasets``: the ``data`` config section -> train/val datasets and what checkpoints record.

The one entry point the trainer uses; it knows the sources (the embedded synthetic dataset, or
``vidzoo.data.annotations.load_split`` for UCF101 / HMDB51 / folder / CSV) and builds one
:class:`~vidzoo.data.dataset.VideoDataset` per subset for every modality (RGB frames, stored optical flow read
by the ``"flow"`` decoder, or both), with the same samplers and transforms.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch.utils.data import Dataset

from vidzoo.data.annotations import VideoRecord, load_split
from vidzoo.data.clip_augment import color_jitter, train_crop
from vidzoo.data.dataset import MODALITIES, VideoDataset
from vidzoo.data.decoding import build_decoder
from vidzoo.data.decoding.frames import DEFAULT_FRAMES_DIR
from vidzoo.data.flow_source import flow_decoder
from vidzoo.data.joint import add_joint_training
from vidzoo.data.split_checks import check_disjoint
from vidzoo.errors import ConfigValueError
from vidzoo.data.sampling import (
    ClipSampler,
    MultiClipSampler,
    RandomClipSampler,
    SegmentSampler,
    SequenceClipSampler,
    UniformClipSampler,
)
from vidzoo.data.transforms import KINETICS_MEAN, KINETICS_STD, eval_transform, flip_map_from_pairs, train_transform

if TYPE_CHECKING:
    from vidzoo.config import DataConfig

__all__ = ["DEFAULT_SYNTHETIC_ROOT", "DataBundle", "build_datasets", "build_sampler"]

#: Where the synthetic dataset is cached when the caller passes no root.
DEFAULT_SYNTHETIC_ROOT = Path("~/.cache/vidzoo/synthetic_motions")

_SOURCES = ("synthetic", "ucf101", "hmdb51", "folder", "csv")
_SAMPLERS = ("random", "segment", "sequence", "multiclip")


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
    kind: str,
    *,
    train: bool,
    num_frames: int,
    stride: int = 1,
    test_clips: int = 1,
    seq_clips: int = 1,
    clip_strides: tuple[int, int] = (5, 15),
) -> ClipSampler:
    """The clip sampler for ``data.sampler`` = random | segment | sequence | multiclip, in train or test mode.

    random: one random clip (train) / ``test_clips`` evenly spaced clips (test) of ``num_frames`` frames.
    segment: TSN, ``num_frames`` segments with one frame each (random in train, centre in test).
    sequence: ``seq_clips`` consecutive clips of ``num_frames`` frames as one view (CNN + LSTM).
    multiclip: ``seq_clips`` clips of ``num_frames`` frames spread over the whole video, each with a stride from
    ``clip_strides`` (random in train, the middle stride at evenly spaced positions in test), as one view
    ``(1, seq_clips * num_frames)``.
    For flow modalities the indices are flow-stack starts and ``num_frames`` counts stacks.
    """
    if kind == "random":
        if train:
            return RandomClipSampler(num_frames, stride)
        return UniformClipSampler(num_frames, stride, num_clips=test_clips)
    if kind == "segment":
        return SegmentSampler(num_frames, 1, random=train)
    if kind == "sequence":
        return SequenceClipSampler(seq_clips, num_frames, stride, random=train)
    if kind == "multiclip":
        return MultiClipSampler(seq_clips, num_frames, (int(clip_strides[0]), int(clip_strides[1])), random=train)
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


def _source_reverse_pairs(source: str) -> list[tuple[str, str]] | None:
    """The class pairs a time reversal swaps that a source declares itself (the synthetic motions; others none)."""
    if source != "synthetic":
        return None
    from vidzoo.data.synthetic import REVERSE_PAIRS

    return [tuple(p) for p in REVERSE_PAIRS]


def declared_pairs(key: str, declared: Any, source_pairs: list[tuple[str, str]] | None,
                   class_names: list[str]) -> list[tuple[str, str]] | None:
    """``data.flip_pairs`` / ``data.reverse_pairs`` checked against the classes: the config's pairs when given
    (``[]``: none), else the source's own (``source_pairs``). A pair naming an unknown class is a one-line error."""
    if declared is None:
        return source_pairs
    pairs = [tuple(str(c) for c in p) for p in declared]
    for pair in pairs:
        if len(pair) != 2:
            raise ConfigValueError(f"{key} holds {list(pair)}; each entry is a pair of class names [A, B]")
        for name in pair:
            if name not in class_names:
                raise ConfigValueError(f"{key} names class {name!r}, which the dataset does not have; its classes: "
                                       f"{', '.join(class_names)}")
    return pairs


def _augmentation(data: DataConfig, flip: float, flip_pairs: Any, reverse_pairs: Any) -> dict[str, Any]:
    """The training-only augmentation settings a checkpoint's preprocessing records (evaluation ignores them)."""
    return {
        "flip": flip,
        "flip_pairs": [list(p) for p in flip_pairs or []],
        "time_reversal": reverse_pairs is not None,
        "reverse_pairs": [list(p) for p in reverse_pairs or []],
        "crop": getattr(data, "crop", "random"),
        "crop_scales": [float(v) for v in getattr(data, "crop_scales", ())],
        "crop_area": [float(v) for v in getattr(data, "crop_area", ())],
        "color_jitter": [float(v) for v in getattr(data, "color_jitter", ())],
    }


def _synthetic_kwargs(node: Any) -> dict[str, Any]:
    """``data.synthetic`` (a ``SyntheticConfig``, a mapping or None) as ``generate_synthetic_motions`` keywords."""
    if node is None:
        return {}
    kw = {f.name: getattr(node, f.name) for f in fields(node)} if hasattr(node, "__dataclass_fields__") else dict(node)
    if "size" in kw:
        kw["size"] = tuple(kw["size"])
    return kw


def _transform(data: DataConfig, train: bool, flip: float, flip_map: list[int] | None, reverse_map: list[int] | None,
               normalize: bool):
    """The training or test ``ClipTransform`` of ``data`` (every modality goes through the same one)."""
    if train:
        crop = train_crop(getattr(data, "crop", "random"), data.crop_size,
                          scales=tuple(getattr(data, "crop_scales", (1.0, 0.875, 0.75, 0.66))),
                          area=tuple(getattr(data, "crop_area", (0.08, 1.0))))
        return train_transform(data.resize, data.crop_size, flip=flip, flip_map=flip_map, reverse_map=reverse_map,
                               mean=KINETICS_MEAN, std=KINETICS_STD, output_uint8=not normalize, crop=crop,
                               jitter=color_jitter(list(getattr(data, "color_jitter", ()))))
    return eval_transform(data.resize, data.crop_size, num_crops=data.test_crops, mean=KINETICS_MEAN,
                          std=KINETICS_STD, output_uint8=not normalize)


def build_datasets(data: DataConfig, *, root: str | Path | None = None, seed: int = 0,
                   normalize: bool = True) -> DataBundle:
    """Build the train and val (test-split) datasets that the ``data`` section describes.

    ``data`` is a :class:`vidzoo.config.DataConfig` (or anything with its attributes). ``root`` is the
    dataset folder when it differs from ``data.root`` (the trainer resolves the synthetic cache folder);
    ``seed`` seeds the per-sample augmentation; ``normalize=False`` yields uint8 RGB (normalise on the device
    with ``normalize_batch``).

    ``data.source="synthetic"`` generates the synthetic-motions dataset under ``root`` once (cached; default
    ``~/.cache/vidzoo/synthetic_motions``; ``data.synthetic`` holds the generator arguments). Other sources read
    their split through ``vidzoo.data.annotations.load_split(source, root, split, subset, **data.extra)`` (e.g. a
    CSV path). Flow modalities read stored flow through the ``"flow"`` decoder (``vidzoo.data.flow_source``:
    ``data.flow_root``, or extracted once next to the videos). ``data.flip`` is the flip probability; ``data.flip_pairs``
    (class-name pairs a flip swaps) and ``data.reverse_pairs`` (those a time reversal swaps) default to the source's
    own (the synthetic motions declare both; other sources none) and are checked against the class list.
    ``data.time_reversal`` plays half the training clips backwards and swaps their labels through the reverse
    pairs, on any source that has some (RGB clips only). ``data.crop`` / ``data.color_jitter`` select the training
    crop and colour jitter (``vidzoo.data.clip_augment``); all of these are recorded in ``preprocessing["augment"]``
    and ignored by evaluation. ``+data.extra.classes`` keeps only the classes named, labelled in that
    order. A video listed twice, or in both train and test, is refused unless ``data.allow_overlap`` (then a
    warning).
    """
    source, split, sampler, modality = data.source, int(data.split), data.sampler, data.modality
    root = root if root not in (None, "") else (data.root or None)
    source_kwargs = dict(data.extra or {})
    classes = source_kwargs.pop("classes", None)
    clip_strides = tuple(getattr(data, "clip_strides", (5, 15)))
    if modality not in MODALITIES:
        raise ConfigValueError(f"unknown data.modality {modality!r}; choose one of {', '.join(MODALITIES)}")
    if sampler not in _SAMPLERS:
        raise ConfigValueError(f"unknown data.sampler {sampler!r}; choose one of {', '.join(_SAMPLERS)}")
    if data.decoder in ("flow", "flow_frames"):
        raise ConfigValueError(f"data.decoder={data.decoder} reads stored flow, which data.modality=flow or rgb+flow "
                               "reads with data.flow_root; set data.decoder to a video decoder (e.g. pyav)")
    # time_reversal / allow_overlap / clip_strides may be absent from configs stored before they existed
    allow_overlap = bool(getattr(data, "allow_overlap", False))
    time_reversal = bool(getattr(data, "time_reversal", False))
    flip_prob = float(getattr(data, "flip", 0.5))
    if time_reversal and modality != "rgb":
        raise ConfigValueError(f"data.time_reversal supports RGB clips only, got data.modality={modality}")
    preprocessing = {
        "mean": list(KINETICS_MEAN),
        "std": list(KINETICS_STD),
        "resize": data.resize,
        "crop_size": data.crop_size,
        "num_frames": data.num_frames,
        "stride": data.stride,
        "modality": modality,
        "sampler": sampler,
        "seq_clips": data.seq_clips,
        "normalized": normalize,
    }
    if sampler == "multiclip":
        preprocessing["clip_strides"] = list(clip_strides)
    if modality != "rgb":
        preprocessing["flow_length"] = data.flow_length
    datasets: dict[str, Dataset] = {}
    class_names: list[str] = []
    flip_pairs = None
    skipped: list[str] = []
    keys: dict[str, list[str]] = {}
    for subset in ("train", "test"):
        records, class_names, flip_pairs, missing, keys[subset] = _load_records(
            source, root, split, subset, _synthetic_kwargs(data.synthetic), source_kwargs, data.skip_missing,
            allow_overlap, data.decoder
        )
        skipped.extend(missing)
        flip_pairs = declared_pairs("data.flip_pairs", getattr(data, "flip_pairs", None), flip_pairs, class_names)
        reverse_pairs = None
        if time_reversal:
            reverse_pairs = declared_pairs("data.reverse_pairs", getattr(data, "reverse_pairs", None),
                                           _source_reverse_pairs(source), class_names)
            if not reverse_pairs:
                raise ConfigValueError(
                    f"data.time_reversal=true needs the class pairs a reversed clip swaps; data.source={source} "
                    f"declares none: set data.reverse_pairs=[[A,B],...] or data.time_reversal=false")
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
        clip_sampler = build_sampler(sampler, train=train, num_frames=data.num_frames, stride=data.stride,
                                     test_clips=data.test_clips, seq_clips=data.seq_clips, clip_strides=clip_strides)
        transform = _transform(data, train, flip_prob if flip else 0.0, flip_map_from_pairs(class_names, flip_pairs),
                               flip_map_from_pairs(class_names, reverse_pairs), normalize)
        datasets[subset] = VideoDataset(
            records, clip_sampler, build_decoder(data.decoder) if modality != "flow" else None, transform,
            class_names=class_names, seed=seed, modality=modality,
            flow_decoder=flow_decoder(records, data.flow_root) if modality != "rgb" else None,
            flow_length=data.flow_length,
        )
    preprocessing["augment"] = _augmentation(data, flip_prob, flip_pairs, reverse_pairs)
    check_disjoint(keys["train"], keys["test"], f"data.source={source} split {split} (root {root})",
                   allow_overlap)
    bundle = DataBundle(
        train=datasets["train"],
        val=datasets["test"],
        class_names=class_names,
        flip_pairs=flip_pairs,
        mean=tuple(KINETICS_MEAN),
        std=tuple(KINETICS_STD),
        preprocessing=preprocessing,
        skipped=skipped,
        train_keys=keys["train"],
        test_keys=keys["test"],
    )
    return add_joint_training(bundle, data, build_datasets, seed=seed, normalize=normalize)  # data.joint
