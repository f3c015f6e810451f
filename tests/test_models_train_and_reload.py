"""Every CPU-size model config trains through the shared trainer and reloads bit-exactly with ``vidzoo.load_model``.

For each ``configs/model/*.yaml`` whose model is a ``*_small`` variant: compose the config like the CLI does, train
one step of one epoch on a tiny synthetic set (``vidzoo.engine.experiment.build_trainer``), and keep the logits of
the trained model on a fixed evaluation batch. Then one fresh Python process rebuilds every run with
``vidzoo.load_model`` and must produce identical logits (``torch.equal``): the checkpoint carries everything
needed to rebuild the model (name, kwargs, number of classes) and its weights.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

REPO = Path(__file__).resolve().parents[1]
#: 9 classes x (1 train + 1 test) videos of 16 frames: enough frames for every recipe's clip (Karpathy: 10 frames,
#: CNN+LSTM: 4 clips of 4, flow stacks of 5), small enough to decode and extract DIS flow in a second.
TINY = {"seed": 5, "train_per_class": 1, "test_per_class": 1, "size": [32, 40], "num_frames": 16}


def small_model_configs() -> list[str]:
    """Stems of the model configs that point at a CPU-size (``*_small``) model."""
    stems = []
    for path in sorted((REPO / "configs" / "model").glob("*.yaml")):
        name = OmegaConf.select(OmegaConf.load(path), "model.name")
        if name and name.endswith("_small"):
            stems.append(path.stem)
    return stems


def test_small_configs_cover_every_small_model():
    """Each registered CPU variant has a model config, so the train-and-reload test below reaches it."""
    from vidzoo import list_models

    names = {OmegaConf.select(OmegaConf.load(REPO / "configs" / "model" / f"{s}.yaml"), "model.name")
             for s in small_model_configs()}
    missing = sorted(n for n in list_models() if n.endswith("_small") and n not in names)
    assert not missing, f"no configs/model/*.yaml trains {missing}"


def _overrides(config: str, root: Path, out: Path) -> list[str]:
    return [
        f"model={config}", f"data.root={root}", f"data.synthetic.seed={TINY['seed']}",
        f"data.synthetic.train_per_class={TINY['train_per_class']}",
        f"data.synthetic.test_per_class={TINY['test_per_class']}",
        f"data.synthetic.size=[{TINY['size'][0]},{TINY['size'][1]}]", f"data.synthetic.num_frames={TINY['num_frames']}",
        "data.batch_size=4", "data.num_workers=0", "data.test_clips=1", "trainer.epochs=1",
        "trainer.max_steps_per_epoch=1", "trainer.tensorboard=false", "trainer.progress=false",
        f"trainer.output_dir={out}",
    ]


def _train_and_keep_logits(config: str, root: Path, out: Path) -> None:
    """Train ``config`` for one step and save the fixed evaluation batch and its logits next to the run."""
    from vidzoo.cli import compose_or_explain
    from vidzoo.engine.experiment import build_trainer
    from vidzoo.engine.inputs import flatten_views, has_views

    trainer = build_trainer(compose_or_explain(_overrides(config, root, out)))
    report = trainer.fit()
    assert report["epochs"] == 1 and report["steps"] == 1, report
    batch = next(iter(trainer.val_loader))
    inputs = trainer.prepare(batch["inputs"])
    if has_views(inputs):
        inputs = flatten_views(inputs)[0]
    model = trainer.raw_model.eval()
    with torch.no_grad():
        logits = model(inputs)
    assert logits.shape[1] == 9 and torch.isfinite(logits).all()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save({"inputs": inputs, "logits": logits, "state": state}, out / "fixed_batch.pt")


RELOAD = """
import json, sys, torch, vidzoo
mismatched = []
for run in json.loads(sys.argv[1]):
    saved = torch.load(run + "/fixed_batch.pt")
    loaded = vidzoo.load_model(run, which="last")
    with torch.no_grad():
        logits = loaded.model(saved["inputs"])
    state = loaded.model.state_dict()
    same_weights = state.keys() == saved["state"].keys() and all(torch.equal(state[k], saved["state"][k]) for k in state)
    # Bit-identical weights; logits equal up to the CPU kernels' summation order (thread count differs per process).
    if not same_weights or not torch.allclose(logits, saved["logits"], rtol=0, atol=1e-5):
        mismatched.append((run, same_weights, float((logits - saved["logits"]).abs().max())))
print(json.dumps(mismatched))
"""


@pytest.mark.slow
def test_every_small_config_trains_and_reloads_identically(tmp_path: Path):
    from vidzoo.data.synthetic import generate_synthetic_motions

    root = generate_synthetic_motions(tmp_path / "motions", **{**TINY, "size": tuple(TINY["size"])})
    configs = small_model_configs()
    assert len(configs) >= 15, configs
    runs = []
    for config in configs:
        out = tmp_path / "runs" / config
        _train_and_keep_logits(config, root, out)
        runs.append(str(out))
    proc = subprocess.run([sys.executable, "-c", RELOAD, json.dumps(runs)], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    mismatched = json.loads(proc.stdout.strip().splitlines()[-1])
    assert mismatched == [], f"reload differs (run, weights equal, max abs logit diff): {mismatched}"
