"""Run many short command lines, each in a child process forked from one warm interpreter.

Most of a bad-input run is interpreter start-up: importing torch, torchvision and Hydra takes seconds, the check
that refuses the input milliseconds. The zygote (this file run as a script) imports those third-party libraries
once and never runs a computation; for every command it forks a child, which sets its working folder, environment,
``sys.argv`` and standard streams, imports vidzoo fresh (nothing of vidzoo is loaded in the zygote, so no module
state is shared between commands) and calls the command's real entry point: a console script's function, or a
``tools/*.py`` file run as ``__main__``. The child's exit status is the command's.

    with Zygote() as z:
        returncode = z.run("vidzoo-train", ["data.decoder=x"], cwd, env, stdout_path, stderr_path)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
import traceback
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: Third-party modules the zygote imports before forking (what makes a cold start slow).
WARM = ("numpy", "torch", "torchvision", "hydra", "omegaconf", "yaml", "av", "cv2", "matplotlib")
#: Console scripts -> "module:function", read from pyproject.toml's [project.scripts].
ENTRY_POINTS: dict[str, str] = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]


class Zygote:
    """The client side: starts the zygote process and sends it one command at a time."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env=env)

    def run(self, prog: str, args: list[str], cwd: Path, env: dict[str, str], stdout: Path, stderr: Path) -> int:
        """Run ``prog args`` in a fresh child; its output goes to the files ``stdout`` / ``stderr``; its exit status."""
        request = {"prog": prog, "args": args, "cwd": str(cwd), "env": env, "stdout": str(stdout),
                   "stderr": str(stderr)}
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise RuntimeError(f"the zygote died (exit {self.proc.wait()})")
        return int(json.loads(reply)["returncode"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)

    def __enter__(self) -> "Zygote":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _child(request: dict[str, Any]) -> int:
    """In the forked child: become the command, run it, return its exit status."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(target, fd)
        os.close(target)
    prog, args = request["prog"], request["args"]
    try:
        if prog.startswith("tools/"):
            import runpy

            sys.argv = [str(REPO / prog), *args]
            sys.path.insert(0, str(REPO / "tools"))
            runpy.run_path(str(REPO / prog), run_name="__main__")
        else:
            import importlib

            sys.argv = [prog, *args]
            module, _, function = ENTRY_POINTS[prog].partition(":")
            raise SystemExit(getattr(importlib.import_module(module), function)())  # as the console script does
        return 0
    except SystemExit as exc:  # what the interpreter does with it
        if exc.code is None:
            return 0
        if isinstance(exc.code, int):
            return exc.code
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1


def _serve() -> None:
    import importlib

    for name in WARM:
        importlib.import_module(name)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(request)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
