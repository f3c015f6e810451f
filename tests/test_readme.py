"""README.md is a contract: every fenced ``bash`` command and ``python`` snippet in it runs, in README order.

The rules, as the README's "Tests" section states them:

* blocks that name the same run folder (``runs/NAME``) or file (``NAME.json``, ``NAME.onnx``) form one group (the
  tutorial's ``runs/my-run`` is trained, evaluated, resumed, loaded and exported in one); each group is a test of
  its own and runs in its own scratch folder (``runs/`` lands there), top to bottom, each command as ``bash -c``;
  the repository's ``.venv``, ``tools``, ``configs``, ``Makefile``, ``pyproject.toml`` and ``requirements.lock``
  are linked into it; ``make test`` is the suite itself and is not run again;
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
#: What two blocks share when one leaves it for the other: a run folder or a file in the scratch folder.
ARTEFACT = re.compile(r"(?<![\w/.-])(runs/[\w.-]+|[\w-]+\.(?:json|onnx))\b")


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


def _scratch(root: Path) -> Path:
    """``root`` made into a folder the README's commands run in: the project's environment and files linked in."""
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


def block_groups(blocks: list[tuple[str, str]]) -> list[list[int]]:
    """Indices of ``blocks`` in groups that must run in one folder, in README order.

    Two blocks are in one group when they name the same scratch artefact: a run folder (``runs/NAME``) or a file
    (``NAME.json``, ``NAME.onnx``); a block naming none is a group of its own."""
    parent = list(range(len(blocks)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    first_seen: dict[str, int] = {}
    for i, (_, body) in enumerate(blocks):
        for name in set(ARTEFACT.findall(body)):
            j = first_seen.setdefault(name, i)
            parent[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(blocks)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def _group_id(blocks: list[tuple[str, str]], group: list[int]) -> str:
    language, body = blocks[group[0]]
    first = shell_commands(body)[0] if language == "bash" else body.strip().splitlines()[0]
    return re.sub(r"\W+", "-", first.replace(".venv/bin/", ""))[:48].strip("-")


def runnable(blocks: list[tuple[str, str]], group: list[int]) -> bool:
    """Whether ``group`` holds anything this test runs (a block of only ``make test`` does not)."""
    return any(lang == "python" or set(shell_commands(body)) - set(NOT_RUN) for lang, body in (blocks[i] for i in group))


README_BLOCKS = readme_blocks(README.read_text())
GROUPS = [g for g in block_groups(README_BLOCKS) if runnable(README_BLOCKS, g)]


def _run(shown: str, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
    assert proc.returncode == 0, f"README command failed (exit {proc.returncode}):\n{shown}\n{tail}"


@pytest.mark.subprocess
@pytest.mark.parametrize("group", GROUPS, ids=[_group_id(README_BLOCKS, g) for g in GROUPS])
def test_readme_commands_and_snippets_run(group: list[int], tmp_path: Path) -> None:
    text = README.read_text()
    blocks = readme_blocks(text)
    assert [g for g in block_groups(blocks) if runnable(blocks, g)] == GROUPS, "README.md changed during the run"
    scratch = _scratch(tmp_path)
    smoke = smoke_overrides(text)
    subs = _stand_ins("\n".join(blocks[i][1] for i in group), scratch)
    env = dict(os.environ, VIDZOO_CACHE=str(scratch / "cache"), PYTHONUNBUFFERED="1")
    env["PATH"] = f"{scratch / '.venv' / 'bin'}:{env['PATH']}"
    for language, body in (blocks[i] for i in group):
        if language == "python":
            _run(body, [str(scratch / ".venv" / "bin" / "python"), "-c", _substitute(body, subs)], scratch, env)
            continue
        for command in shell_commands(body):
            if command not in NOT_RUN:
                shown = _substitute(shrink(command, smoke), subs)
                _run(shown, ["bash", "-c", shown], scratch, env)


def test_the_readme_has_its_blocks_and_every_block_is_in_one_group() -> None:
    assert len(README_BLOCKS) >= 10, "the parser no longer finds the README's blocks"
    skipped = [i for g in block_groups(README_BLOCKS) if g not in GROUPS for i in g]
    assert all(set(shell_commands(README_BLOCKS[i][1])) <= set(NOT_RUN) for i in skipped)
    bodies = ["x = runs/a", "y", "z runs/a and out.json", "w out.json", "v runs/b"]
    assert block_groups([("bash", b) for b in bodies]) == [[0, 2, 3], [1], [4]]


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
