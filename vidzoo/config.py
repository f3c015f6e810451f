"""The structured config schema, registered in Hydra's ConfigStore.

Every YAML file under ``configs/`` is merged on top of these dataclasses, so a misspelt
key or a wrong type fails at start-up instead of being silently ignored; ``vidzoo.validation``
checks the values. Only the CLI layer (``vidzoo.cli``, ``vidzoo.sweep``) imports Hydra; the
engine receives these dataclasses themselves (:func:`to_section` turns a composed node into one).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Optional, TypeVar

T = TypeVar("T")


@dataclass
class SyntheticConfig:
    """Generator arguments of the embedded synthetic-motions dataset (``generate_synthetic_motions``)."""

    seed: int = 0
    train_per_class: int = 30
    test_per_class: int = 10
    size: list[int] = field(default_factory=lambda: [64, 80])  # (H, W)
    num_frames: int = 32
    fps: int = 25


@dataclass
class JointDataConfig:
    """A second dataset whose TRAINING split joins the primary one's (multi-task training, one label block each).

    One entry of the list ``data.joint`` (``'data.joint=[{source: hmdb51, root: /data/hmdb51}]'``); the clip recipe
    and the modality are the primary dataset's, the test split stays the primary's (see :mod:`vidzoo.data.joint`).
    """

    source: str = ""  # ucf101 | hmdb51 | folder | csv (required)
    root: str = ""  # the dataset folder (required)
    split: int = 1
    flow_root: str = ""  # stored flow of this dataset (flow modalities; empty: extracted next to its videos)
    modality: str = ""  # empty: the primary's; any other value must equal data.modality
    extra: dict[str, Any] = field(default_factory=dict)  # load_split keywords of this dataset (classes: keep a subset)


@dataclass
class DataConfig:
    """Where clips come from and how they are sampled and cropped."""

    source: str = "synthetic"  # synthetic | ucf101 | hmdb51 | folder | csv
    root: str = ""  # empty: the default cache folder (synthetic)
    split: int = 1
    num_frames: int = 8
    stride: int = 2
    resize: int = 64  # short side before cropping
    crop_size: int = 56
    test_clips: int = 3  # uniformly spaced clips per test video
    test_crops: int = 1  # 1 (centre) or 3 (three-crop)
    decoder: str = "pyav"  # pyav | opencv | decord | torchcodec | frames (JPEG folders under <root>/rawframes)
    modality: str = "rgb"  # rgb | flow | rgb+flow
    flow_root: str = ""
    flow_length: int = 10
    sampler: str = "random"  # random | segment | sequence | multiclip
    seq_clips: int = 4  # clips per sample of the sequence and multiclip samplers
    clip_strides: list[int] = field(default_factory=lambda: [5, 15])  # multiclip: [min, max] stride per clip
    skip_missing: bool = False
    batch_size: int = 16
    num_workers: int = 2
    pin_memory: bool = True
    persistent_workers: bool = False
    prefetch_factor: int = 2
    normalize_on_device: bool = False  # ship uint8 clips, normalise after the copy
    time_reversal: bool = False  # play half the training clips backwards, swapping labels through data.reverse_pairs
    flip: float = 0.5  # probability of a horizontal flip per training sample; 0 disables flips
    # class-name pairs a flip swaps (["TurnLeft", "TurnRight"], ...); null: the source's own (synthetic: its
    # mirrored motions; other sources: none, a flip keeps the label); [] declares none
    flip_pairs: Optional[list[list[str]]] = None
    reverse_pairs: Optional[list[list[str]]] = None  # likewise for data.time_reversal (synthetic: its own)
    crop: str = "random"  # training crop: random | multiscale (TSN corner crops) | random_resized (Inception)
    crop_scales: list[float] = field(default_factory=lambda: [1.0, 0.875, 0.75, 0.66])  # multiscale: x short side
    crop_area: list[float] = field(default_factory=lambda: [0.08, 1.0])  # random_resized: [min, max] area fraction
    color_jitter: list[float] = field(default_factory=list)  # [brightness, contrast, saturation, hue]; [] = off
    allow_overlap: bool = False  # a video listed twice, in train and test, or in a checkpoint's training set: warn
    synthetic: SyntheticConfig = field(default_factory=SyntheticConfig)
    extra: dict[str, Any] = field(default_factory=dict)  # source-specific kwargs (add with +data.extra.key=...)
    joint: list[JointDataConfig] = field(default_factory=list)  # extra training sets, one label block each


@dataclass
class ModelConfig:
    """A registry name plus its builder's keyword arguments."""

    name: str = "c3d_small"
    kwargs: dict[str, Any] = field(default_factory=dict)  # add a new one with +model.kwargs.width=0.5
    # pre-trained weights to start from (a vidzoo-import-weights folder, checkpoint/run folder, .safetensors or
    # .pth): every tensor whose name and shape fit is loaded, the rest (e.g. a classifier of another size) stays new
    init_weights: str = ""


@dataclass
class OptimConfig:
    name: str = "sgd"  # sgd | adamw
    lr: float = 0.05
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    fused: Optional[bool] = None  # None: fused kernels where the device supports them


@dataclass
class SchedConfig:
    name: str = "cosine"  # cosine | step | constant
    warmup_epochs: float = 1.0
    min_lr: float = 0.0
    step_epochs: list[int] = field(default_factory=lambda: [30, 60])
    gamma: float = 0.1


@dataclass
class TrainerConfig:
    epochs: int = 24
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | fp32 | bf16 | fp16
    grad_clip: float = 5.0  # max global grad norm; 0 disables
    grad_accum: int = 1
    label_smoothing: float = 0.0
    # batch mixup / cutmix (timm's Mixup): 0 alphas = off; mixed with probability mix_prob, cutmix rather than
    # mixup with probability mix_switch_prob when both alphas are > 0; label_smoothing goes into the soft targets
    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    mix_prob: float = 1.0
    mix_switch_prob: float = 0.5
    channels_last: bool = False  # torch.channels_last_3d memory format for 5-D inputs
    compile: bool = False  # torch.compile, falling back to eager when it fails
    cudnn_benchmark: bool = True
    batch_size: Optional[str] = None  # "auto": the largest batch that fits on the GPU (overrides data.batch_size)
    output_dir: str = "runs/${now:%Y-%m-%d_%H-%M-%S}_${model.name}"
    resume: bool = False
    eval_every: int = 1  # epochs
    keep_checkpoints: int = 2  # epoch checkpoints kept besides the best
    progress: bool = True
    tensorboard: bool = True
    max_steps_per_epoch: int = 0  # 0 = the whole epoch (a smaller value is for smoke tests)
    pretrain_epochs: int = 0  # unsupervised pre-training epochs before supervised training (models with pretrain_loss)
    pretrain_lr: float = 1e-3  # Adam learning rate of the pre-training phase


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    sched: SchedConfig = field(default_factory=SchedConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)


def to_section(node: Any, cls: type[T]) -> T:
    """A config section as its plain dataclass ``cls``: ``node`` itself when it is one, else the values of an
    OmegaConf node (interpolations resolved) or a mapping. Keys that ``cls`` lacks (a section saved by another
    version) are dropped, missing ones take the dataclass default."""
    if isinstance(node, cls):
        return node
    if not isinstance(node, dict):
        from omegaconf import OmegaConf

        node = OmegaConf.to_container(node, resolve=True)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in node.items() if k in names})


def register_configs() -> None:
    """Register the schema as ``vidzoo_schema`` so ``configs/config.yaml`` can extend it."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="vidzoo_schema", node=Config)
