"""README.md is a contract: every fenced ``bash`` command and ``python`` snippet in it runs, in README order.

The rules, as the README's "Tests" section states them:

* all commands run in one scratch folder (``runs/`` lands there), top to bottom, each as ``bash -c``; the
  repository's ``.venv``, ``tools``, ``configs``, ``Makefile``, ``pyproject.toml`` and ``requirements.lock`` are
  linked into it; ``make test`` is the suite itself and is not run again;
* training commands (``vidzoo-train``, ``tools/train.py``, ``make train``, ``tools/stream.py``) get the README's
  smoke-size overrides appended, and benchmark commands get ``--quick``;
* ``/data/ucf101`` and ``/data/hmdb51`` are generated trees with the official layout, ``video.mp4`` a small
  generated clip, ``mc3_18-a90a0ba3.pth`` torchvision's ``mc3_18`` state dict with random weights.

Any README edit that breaks a command fails this test, with the command and its output in the message.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from datasets_tree import make_hmdb51_tree, make_ucf101_tree, write_video

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
LINKED = ("tools", "configs", "Makefile", "pyproject.toml", "requirements.lock")
TRAINING = re.compile(r"(vidzoo-train|tools/train\.py|make train|tools/stream\.py|vidzoo-stream)\b")
BENCHMARK = re.compile(r"tools/benchmark\.py\s+\w+")
NOT_RUN = ("make test",)


def readme_blocks(text: str) -> list[tuple[str, str]]:
    """``(language, body)`` of every fenced ``bash`` / ``python`` block, in order."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(bash|python)\n(.*?)^```", text, re.M | re.S)]


def shell_commands(body: str) -> list[str]:
    """The commands of a bash block: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\s*\\\n\s*", " ", body)
    commands = []
    for line in joined.splitlines():
        code = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        if code:
            commands.append(code)
    return commands


def smoke_overrides(text: str) -> str:
    """The overrides the README names as its smoke size (``smoke-size overrides `...` ``)."""
    match = re.search(r"smoke-size overrides\s+`([^`]+)`", text)
    assert match, "README.md must name its smoke-size overrides (see tests/test_readme.py)"
    return match.group(1)


def shrink(command: str, smoke: str) -> str:
    """``command`` with the documented size changes appended (see the module docstring)."""
    if command.startswith("make train"):
        args = re.search(r'ARGS="([^"]*)"', command)
        inner = f"{args.group(1)} {smoke}".strip() if args else smoke
        return f'make train ARGS="{inner}"'
    if TRAINING.search(command):
        return f"{command} {smoke}"
    if BENCHMARK.search(command):
        return f"{command} --quick"
    return command


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the README's commands run in, with the stand-in datasets the README's paths name."""
    root = tmp_path_factory.mktemp("readme")
    venv = REPO / ".venv" if (REPO / ".venv" / "bin" / "python").exists() else Path(sys.prefix)
    if not (venv / "bin" / "vidzoo-train").exists():
        pytest.skip(f"the README's commands need the project's environment ({venv}/bin/vidzoo-train); run `make test`")
    stamp = venv / ".installed"
    if stamp.exists() and any(stamp.stat().st_mtime < (REPO / f).stat().st_mtime for f in ("pyproject.toml",
                                                                                       "requirements.lock")):
        pytest.fail(f"{venv} is older than pyproject.toml / requirements.lock: `make train` here would reinstall it; "
                    "run `make install` (make test does) first")
    (root / ".venv").symlink_to(venv)
    for name in LINKED:
        (root / name).symlink_to(REPO / name)
    return root


def _stand_ins(text: str, scratch: Path) -> dict[str, str]:
    data = scratch / "data"
    subs: dict[str, str] = {}
    if "/data/ucf101" in text:
        subs["/data/ucf101"] = str(make_ucf101_tree(data / "ucf101"))
    if "/data/hmdb51" in text:
        subs["/data/hmdb51"] = str(make_hmdb51_tree(data / "hmdb51"))
    if "mc3_18-a90a0ba3.pth" in text:  # a torchvision state dict, as downloaded (random weights)
        import torch
        from torchvision.models.video import mc3_18

        torch.save(mc3_18(weights=None).state_dict(), scratch / "mc3_18-a90a0ba3.pth")
    if "video.mp4" in text:
        subs["video.mp4"] = str(write_video(scratch / "video.mp4", num_frames=24, size=(64, 80), codec="libx264"))
    return subs


def _substitute(command: str, subs: dict[str, str]) -> str:
    for old, new in subs.items():
        command = command.replace(old, new)
    return command


@pytest.mark.subprocess
def test_every_readme_command_and_snippet_runs(scratch: Path) -> None:
    text = README.read_text()
    smoke = smoke_overrides(text)
    subs = _stand_ins(text, scratch)
    env = dict(os.environ, VIDZOO_CACHE=str(scratch / "cache"), PYTHONUNBUFFERED="1")
    env["PATH"] = f"{scratch / '.venv' / 'bin'}:{env['PATH']}"
    ran = 0
    for language, body in readme_blocks(text):
        if language == "python":
            cmd = [str(scratch / ".venv" / "bin" / "python"), "-c", _substitute(body, subs)]
            shown = body
        else:
            for command in shell_commands(body):
                if command in NOT_RUN:
                    continue
                shown = _substitute(shrink(command, smoke), subs)
                proc = subprocess.run(["bash", "-c", shown], cwd=scratch, env=env, capture_output=True, text=True,
                                      timeout=300)
                tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
                assert proc.returncode == 0, f"README command failed (exit {proc.returncode}): {shown}\n{tail}"
                ran += 1
            continue
        proc = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=300)
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        assert proc.returncode == 0, f"README snippet failed (exit {proc.returncode}):\n{shown}\n{tail}"
        ran += 1
    assert ran >= 10, f"only {ran} README commands ran; the parser no longer finds the README's blocks"


def test_the_parser_reads_blocks_continuations_and_comments() -> None:
    text = "x\n```bash\n# a comment\nvidzoo-train a=1 \\\n  b=2   # trailing\n\nmake test\n```\n```python\nprint(1)\n```\n"
    blocks = readme_blocks(text)
    assert [lang for lang, _ in blocks] == ["bash", "python"]
    assert shell_commands(blocks[0][1]) == ["vidzoo-train a=1 b=2", "make test"]
    assert shrink("vidzoo-train a=1 b=2", "trainer.epochs=1") == "vidzoo-train a=1 b=2 trainer.epochs=1"
    assert shrink('make train ARGS="model=x"', "e=1") == 'make train ARGS="model=x e=1"'
    assert shrink("make train", "e=1") == 'make train ARGS="e=1"'
    assert shrink("python tools/benchmark.py flow --pairs 3", "e=1") == "python tools/benchmark.py flow --pairs 3 --quick"
    assert shlex.split(shrink(".venv/bin/vidzoo-test checkpoint=runs/x", "e=1")) == [".venv/bin/vidzoo-test",
                                                                                     "checkpoint=runs/x"]
