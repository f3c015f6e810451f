"""Every rule a config value must satisfy, checked when the config is composed (before a run folder exists).

The rules read plain attribute access, so they take an OmegaConf ``DictConfig`` or the dataclasses of
:mod:`vidzoo.config` alike, and this module imports neither Hydra nor torch: a bad value is reported in a
fraction of a second. Only the checks that need the machine or the model registry (a CUDA device, a
builder's signature) import torch, and they run last. Each failure raises
:class:`vidzoo.errors.ConfigValueError` with one line that names the key, the value and what is allowed.
"""

from vidzoo.validation.config import (
    check_cheap,
    check_costly,
    check_extra,
    check_machine,
    check_paths,
    check_relations,
    check_values,
    check_views,
    cuda_visible,
    validate_config,
)
from vidzoo.validation.flags import FLOW_FLAG_RULES, PREPARE_FLAG_RULES, check_flags, check_flow_args, check_prepare_args
from vidzoo.validation.model import check_model
from vidzoo.validation.rules import (
    CHECKPOINT_CHOICES,
    GPU_PRESET,
    MODALITIES,
    OPTIMIZERS,
    PRECISIONS,
    SAMPLERS,
    SCHEDULES,
    TEST_CROPS,
    VALUE_RULES,
    check_choice,
    check_value,
    choice_rules,
    decoders,
    get_value,
    sources,
)
