"""The structured schema of ``vidzoo-stream`` (``configs/stream.yaml``), registered in Hydra's ConfigStore.

The data, model, optim, sched and trainer sections are the training schema's own (``vidzoo.config``): the
base phase is an ordinary run of the shared trainer on the base classes. ``streaming`` holds the learners.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vidzoo.config import DataConfig, ModelConfig, OptimConfig, SchedConfig, TrainerConfig


@dataclass
class SLDAConfig:
    shrinkage: float = 1e-4  # eps in (1 - eps) Sigma + eps I
    plastic: bool = True  # update the covariance in streaming (false: keep the base-phase estimate)


@dataclass
class SGDConfig:
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-5


@dataclass
class ExStreamConfig(SGDConfig):
    capacity: int = 20  # centroids per class (c)
    replay_size: int = 16  # centroids replayed with each new example


@dataclass
class RemindConfig(SGDConfig):
    layer: str = "features.pool4"  # the last frozen layer (c3d_small); the error lists the choices of others
    buffer_bytes: int = 1_000_000  # replay buffer budget: codes + 8 bytes of label per example
    num_subvectors: int = 8  # PQ codebooks per map location (must divide the layer's channels)
    nbits: int = 8  # bits per code (2**nbits centroids per codebook)
    replay_size: int = 16
    crop_min_scale: float = 0.75
    mixup_alpha: float = 0.1


@dataclass
class OfflineConfig(SGDConfig):
    lr: float = 0.05
    epochs: int = 60  # passes over everything seen, at every evaluation point
    batch_size: int = 32


@dataclass
class StreamingConfig:
    learners: list[str] = field(default_factory=lambda: ["slda"])  # slda | exstream | remind
    baselines: list[str] = field(default_factory=lambda: ["finetune", "offline"])
    new_classes: str = "add"  # add | refuse: a stream class the learner was not told about
    slda: SLDAConfig = field(default_factory=SLDAConfig)
    exstream: ExStreamConfig = field(default_factory=ExStreamConfig)
    remind: RemindConfig = field(default_factory=RemindConfig)
    finetune: SGDConfig = field(default_factory=SGDConfig)
    offline: OfflineConfig = field(default_factory=OfflineConfig)


@dataclass
class StreamRunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)  # the backbone trained in the base phase
    optim: OptimConfig = field(default_factory=OptimConfig)
    sched: SchedConfig = field(default_factory=SchedConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    streaming: StreamingConfig = field(default_factory=StreamingConfig)
    backbone_checkpoint: str = ""  # a trained run/checkpoint; empty: train one on the base classes first
    base_classes: int = 4  # the first N classes of the dataset form the base phase
    ordering: str = "class_iid"  # iid | class_iid | instance | class_instance
    clips_per_video: int = 4  # stream examples per training video (temporally ordered clips)
    classes_per_increment: int = 1  # class orderings: evaluate after every N classes
    num_increments: int = 0  # iid / instance: evaluation points (0: as many as the class orderings)
    seed: int = 0
    device: str = "cpu"
    output_dir: str = "runs/stream_${now:%Y-%m-%d_%H-%M-%S}"
    progress: bool = True


def register_stream_configs() -> None:
    """Register the schema as ``vidzoo_stream_schema`` (``configs/stream.yaml`` extends it)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="vidzoo_stream_schema", node=StreamRunConfig)
