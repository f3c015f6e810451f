"""vidzoo works outside the checkout: ``pip install .`` (not editable) into a fresh virtual environment, then from
an empty folder elsewhere ``vidzoo-train`` trains and evaluates, ``vidzoo-test`` evaluates its checkpoint and
``vidzoo-stream`` composes its config, all reading the configs shipped inside the package.

Offline and fast: the new environment reaches the running environment's dependencies through a ``.pth`` path line
(which adds the folder, but runs none of its ``.pth`` files, so not its editable vidzoo), and the checkout is
copied first, so the build leaves no ``build/`` or ``*.egg-info`` in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from training_helpers import REPO, tiny_overrides

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "venv", "runs", "build", "*.egg-info", "__pycache__",
                                     ".pytest_cache", "tests", "results")


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``bin`` folder of a fresh virtual environment with vidzoo installed from a copy of the checkout."""
    base = tmp_path_factory.mktemp("install")
    src, venv = base / "src", base / "venv"
    shutil.copytree(REPO, src, symlinks=True, ignore=_NOT_COPIED)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     base, _clean_env(base)).stdout.strip())
    parent = sysconfig.get_path("purelib", vars={"base": sys.prefix, "platbase": sys.prefix})
    (site / "vidzoo-test-deps.pth").write_text(parent + "\n")
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                "--ignore-installed", "."], src, _clean_env(base))
    assert pip.returncode == 0, pip.stdout[-2000:] + pip.stderr[-2000:]
    where = _run([str(venv / "bin" / "python"), "-c", "import vidzoo, vidzoo.cli; print(vidzoo.cli.CONFIG_DIR)"],
                 base, _clean_env(base))
    assert where.returncode == 0, where.stderr[-2000:]
    assert Path(where.stdout.strip()) == site / "vidzoo" / "configs"  # the installed copy, not the checkout's
    assert (site / "vidzoo" / "configs" / "model" / "c3d_small.yaml").is_file()
    return venv / "bin"


def _clean_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return {**env, "VIDZOO_CACHE": str(base / "cache"), "OMP_NUM_THREADS": "1"}


def test_installed_tools_train_and_evaluate_from_an_empty_folder(installed, synthetic_root, tmp_path):
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    env = _clean_env(tmp_path)
    args = [o for o in tiny_overrides(synthetic_root, Path("run")) if not o.startswith("trainer.epochs=")]
    train = _run([str(installed / "vidzoo-train"), "trainer.epochs=1", "trainer.max_steps_per_epoch=1", *args],
                 elsewhere, env)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "[vidzoo] final: video_top1" in train.stdout
    report = json.loads((elsewhere / "run" / "report.json").read_text())
    assert report["epochs"] == 1 and report["num_videos"] == 18

    test = _run([str(installed / "vidzoo-test"), "checkpoint=run", "progress=false"], elsewhere, env)
    assert test.returncode == 0, test.stderr[-3000:]
    tested = json.loads((elsewhere / "run" / "test-split1" / "test_report.json").read_text())
    assert tested["num_videos"] == 18 and tested["model"]["name"] == "c3d_small"

    stream = _run([str(installed / "vidzoo-stream"), "--cfg", "job", "streaming=slda"], elsewhere, env)
    assert stream.returncode == 0, stream.stderr[-3000:]
    assert "model:\n  name: c3d_small" in stream.stdout
    assert sorted(p.name for p in elsewhere.iterdir()) == ["run"]  # nothing else written where it ran
