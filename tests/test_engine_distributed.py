"""DDP on CPU (gloo): ranks see disjoint data, and training under torchrun converges."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from vidzoo.data.dataloader import build_loader

from training_helpers import make_train_set, overrides, run_train


class _Indexed(torch.utils.data.Dataset):
    def __len__(self) -> int:
        return 37

    def __getitem__(self, i: int) -> dict:
        return {"inputs": torch.zeros(1), "label": 0, "index": i}


def _collect(rank: int, world: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    loader = build_loader(_Indexed(), batch_size=4, shuffle=True, drop_last=False, seed=5)
    seen = {}
    for epoch in range(2):
        loader.sampler.set_epoch(epoch)
        seen[epoch] = [int(i) for b in loader for i in b["index"]]
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(seen))
    dist.destroy_process_group()


def test_ranks_see_disjoint_shards_that_cover_the_data(tmp_path):
    mp.spawn(_collect, args=(2, str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    for epoch in ("0", "1"):
        a, b = r0[epoch], r1[epoch]
        assert len(a) == len(b) == 19  # 37 samples padded to 38 so both ranks take equal steps
        assert set(a) | set(b) == set(range(37))
        assert len(set(a) & set(b)) <= 1  # only the single wrap-around pad sample may repeat
    assert r0["0"] != r0["1"]  # reshuffled per epoch


@pytest.mark.subprocess
def test_torchrun_two_cpu_processes_trains(tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517"]
    args = overrides(make_train_set(tmp_path), out, "trainer.epochs=12", "data.batch_size=8")
    res = run_train(args, timeout=400, prefix=launcher, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("[vidzoo] final:") == 1  # printed by rank 0 only
    hist = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(hist) == 12  # written once (rank 0), not twice
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    report = json.loads((out / "report.json").read_text())
    assert report["num_videos"] == report["num_clips"] // 3 > 0  # every test video scored exactly once
    assert report["video_top1"] >= 0.5  # chance is 1/9
