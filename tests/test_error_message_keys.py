"""Every config key a message of the library names (``data.root``, ``+data.extra.split_dir``) exists in the
schema, so the fix a one-line error suggests can be typed as written."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from vidzoo.cli import _flat_keys, compose_or_explain

REPO = Path(__file__).resolve().parents[1]
KEY = re.compile(r"(\+?)((?:data|model|trainer|optim|sched)\.[a-z_][a-z_0-9.]*[a-z_0-9])")
#: Fields of a checkpoint's meta.json that share a prefix with config sections (named with their file).
META_FIELDS = {"model.num_classes", "model.kwargs", "model.name"}


def _named_keys() -> list[tuple[str, int, str, str]]:
    """(file, line, '+' or '', key) for each config-like key inside a string literal of vidzoo/ and tools/."""
    modules = {p.stem for p in (REPO / "vidzoo").rglob("*.py")} | {p.name for p in (REPO / "vidzoo").rglob("*")
                                                                 if p.is_dir()}
    found = []
    for path in [*(REPO / "vidzoo").rglob("*.py"), *(REPO / "tools").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for plus, key in KEY.findall(node.value):
                    if key.split(".")[1] not in modules and not key.endswith(("safetensors", "state_dict")):
                        found.append((str(path.relative_to(REPO)), node.lineno, plus, key))
    return found


def test_messages_name_only_keys_that_exist():
    keys = set(_flat_keys(compose_or_explain([])))
    named = _named_keys()
    wrong = []
    for file, line, plus, key in named:
        parent = key.rsplit(".", 1)[0]
        if parent in ("data.extra", "model.kwargs"):  # open dicts: a new key is added with a leading '+'
            ok = bool(plus) or key in keys
        else:
            ok = key in keys or key in META_FIELDS
        if not ok:
            wrong.append(f"{file}:{line}: {plus}{key}")
    assert not wrong, wrong
    assert any(k == "data.extra.split_dir" and plus for _, _, plus, k in named)  # the scan sees what it checks
