"""The package's shape: the subpackages import in a fresh process, no import cycle between vidzoo's
subpackages (imports read with ``ast``, function-level ones included), and ``vidzoo.load_model`` / ``build_model``
import without Hydra, matplotlib or TensorBoard."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "vidzoo"
SUBPACKAGES = ("models", "data", "flow", "engine", "eval", "streaming", "interop", "validation")

#: Imports against the layering (data -> models -> engine; flow = extraction + storage, read by data).
FORBIDDEN_EDGES = (("flow", "data"), ("models", "data"), ("models", "engine"), ("data", "models"), ("data", "engine"))


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=REPO,
                          timeout=120)


def _part(module: str) -> str:
    """``vidzoo.engine.trainer`` -> ``engine``; ``vidzoo.files`` -> ``files``; ``vidzoo`` -> ``vidzoo``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "vidzoo"


def import_edges(package: Path = PACKAGE) -> dict[tuple[str, str], str]:
    """``(importing part, imported part) -> first place`` for every import between two parts of ``package``."""
    edges: dict[tuple[str, str], str] = {}
    for path in sorted(package.rglob("*.py")):
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from .x import y / from .. import z
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets = [base] if base != "vidzoo" else [f"vidzoo.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                if target.startswith("vidzoo.") and _part(target) != _part(module):
                    edges.setdefault((_part(module), _part(target)), f"{path.relative_to(package.parent)}:{node.lineno}")
    return edges


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in sorted(edges):
        graph[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / "vidzoo"
    for part, body in (("a", "from vidzoo.b import x\n"), ("b", "x = 1\ndef f():\n    from vidzoo.c import y\n"),
                       ("c", "from ..a import z\n")):
        (pkg / part).mkdir(parents=True)
        (pkg / part / "__init__.py").write_text(body)
    edges = import_edges(pkg)
    assert set(edges) == {("a", "b"), ("b", "c"), ("c", "a")}
    assert cycles(set(edges)) == [["a", "b", "c"]]


def test_no_import_cycle_between_subpackages():
    edges = import_edges()
    assert ("engine", "models") in edges and ("cli", "engine") in edges  # the parser sees the real imports
    assert not [(a, b, edges[a, b]) for a, b in FORBIDDEN_EDGES if (a, b) in edges]
    found = cycles(set(edges))
    assert not found, "import cycles: " + "; ".join(
        " ".join(f"{a}->{b} ({edges[a, b]})" for a in c for b in c if (a, b) in edges) for c in found)


def test_the_subpackages_import_in_a_fresh_process():
    res = _run(f"import vidzoo, {', '.join(f'vidzoo.{p}' for p in SUBPACKAGES)}")
    assert res.returncode == 0, res.stderr[-2000:]


def test_load_model_and_build_model_import_without_hydra_matplotlib_or_tensorboard():
    res = _run("""
        import sys

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("hydra", "matplotlib", "tensorboard"):
                    raise ImportError(f"{name} must not be imported")

        sys.meta_path.insert(0, Refuse())
        import vidzoo
        from vidzoo import build_model, list_models, load_model
        model = build_model("c3d_small", num_classes=3)
        assert "c3d_small" in list_models() and callable(load_model)
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("hydra", "matplotlib", "tensorboard")))
    """)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "[]"


def test_every_model_config_is_named_like_the_model_it_builds():
    from omegaconf import OmegaConf

    from vidzoo.models import list_models

    configs = sorted((PACKAGE / "configs" / "model").glob("*.yaml"))
    assert configs
    for path in configs:
        name = OmegaConf.select(OmegaConf.load(path), "model.name")
        assert name == path.stem, f"{path.name} builds {name}; name the file {name}.yaml"
        assert name in list_models()
