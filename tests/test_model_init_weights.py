"""``model.init_weights``: every tensor whose name and shape fit is loaded, a classifier of another size stays fresh,
one line says what was loaded; a missing file or weights of another net are one-line errors (exit 2)."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from vidzoo.engine.experiment import build_model_from_config
from vidzoo.engine.model_weights import init_from_weights
from vidzoo.errors import ConfigValueError

KW = {"width": 0.125, "fc_dim": 16}


def test_matching_tensors_load_and_the_other_classifier_stays_fresh(tmp_path):
    torch.manual_seed(0)
    source = build_model_from_config("c3d_small", KW, 400)
    save_file(source.state_dict(), str(tmp_path / "w.safetensors"))
    torch.manual_seed(1)
    model = build_model_from_config("c3d_small", KW, 5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    line = init_from_weights(model, tmp_path / "w.safetensors")
    after, theirs = model.state_dict(), source.state_dict()
    fresh = [k for k in after if after[k].shape != theirs[k].shape]
    assert len(fresh) == 2 and all(torch.equal(after[k], before[k]) for k in fresh)  # the 5-class head: untouched
    assert all(torch.equal(after[k], theirs[k]) for k in after if k not in fresh)
    assert "\n" not in line and f"loaded {len(after) - 2} of the model's {len(after)} tensors; 2 kept fresh" in line


def test_bad_path_or_foreign_weights_are_one_line_errors(tmp_path):
    model = build_model_from_config("c3d_small", KW, 5)
    with pytest.raises(ConfigValueError, match=r"^model.init_weights=\S+ does not exist") as err:
        init_from_weights(model, tmp_path / "missing.pth")
    assert "\n" not in str(err.value)
    save_file({"other.weight": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ConfigValueError, match="none of its 1 tensors fits"):
        init_from_weights(model, tmp_path / "other.safetensors")


def test_cli_refuses_a_missing_init_weights_file_with_exit_2(tmp_path):
    from vidzoo.cli import compose_or_explain
    from vidzoo.validation import validate_config

    cfg = compose_or_explain([f"model.init_weights={tmp_path / 'nope'}", f"trainer.output_dir={tmp_path / 'o'}"])
    with pytest.raises(ConfigValueError, match="model.init_weights=.*does not exist") as err:
        validate_config(cfg)
    assert "\n" not in str(err.value)  # ConfigValueError: the CLI prints this line and exits 2
