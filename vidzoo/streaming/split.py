"""Cutting a zoo model into a frozen bottom and a trainable top at a named layer, and finding its classifier.

The cut is made on the model's ``torch.fx`` graph: the bottom ends with the named submodule's output, the top
takes that output as its only input and runs everything after it. A layer whose output is not the only
thing the rest of the network reads (e.g. inside a residual block, or before a skip) is not a cut point,
and the error lists the submodules that are.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import fx, nn

from vidzoo.errors import ConfigValueError
from vidzoo.models._input_checks import check_clip


def trace(model: nn.Module) -> fx.GraphModule:
    """Symbolically trace a zoo model (the input check is kept as an opaque call)."""
    tracer = fx.Tracer(autowrap_functions=(check_clip,))
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # data-dependent control flow and the like
        raise ConfigValueError(
            f"{type(model).__name__} cannot be traced for a REMIND split ({str(exc).splitlines()[0]}); "
            f"use streaming=slda or streaming=exstream with this backbone"
        ) from None
    return fx.GraphModule(model, graph)


def _cut_points(gm: fx.GraphModule) -> list[str]:
    nodes = list(gm.graph.nodes)
    points = []
    for k, node in enumerate(nodes):
        if node.op != "call_module":
            continue
        before = set(nodes[:k])
        later_inputs = {a for n in nodes[k + 1 :] for a in n.all_input_nodes}
        if not any(a in before and a.op not in ("get_attr",) for a in later_inputs):
            points.append(str(node.target))
    return list(dict.fromkeys(points))  # a module called twice (a shared ReLU) is listed once


class SplitModel(NamedTuple):
    """``bottom``: ``(B, C, T, H, W) -> (B, ...)`` mid-level maps; ``top``: maps -> ``(B, K)`` logits."""

    bottom: fx.GraphModule
    top: fx.GraphModule


def split_at(model: nn.Module, layer: str) -> SplitModel:
    """Split ``model`` after submodule ``layer`` (a dotted name such as ``features.pool3``)."""
    gm = trace(model)
    nodes = list(gm.graph.nodes)
    cut = next((k for k, n in enumerate(nodes) if n.op == "call_module" and n.target == layer), None)
    points = _cut_points(gm)
    if cut is None or layer not in points:
        shown = ", ".join(points[:-1]) if len(points) > 1 else "(none)"
        why = "is not a submodule called in forward" if cut is None else "is not a cut point (a later layer reads an earlier one)"
        raise ConfigValueError(f"streaming.remind.layer={layer!r} {why} of {type(model).__name__}; choose one of: {shown}")
    bottom_graph, top_graph = fx.Graph(), fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in nodes[: cut + 1]:
        env[node] = bottom_graph.node_copy(node, lambda n: env[n])
    bottom_graph.output(env[nodes[cut]])
    top_env: dict[fx.Node, fx.Node] = {nodes[cut]: top_graph.placeholder("maps")}
    for node in nodes[cut + 1 :]:
        for a in node.all_input_nodes:
            if a not in top_env:  # a parameter read by the top (get_attr), copied in
                top_env[a] = top_graph.node_copy(a, lambda n: top_env[n])
        top_env[node] = top_graph.node_copy(node, lambda n: top_env[n])
    return SplitModel(fx.GraphModule(gm, bottom_graph), fx.GraphModule(gm, top_graph))


class Probe(NamedTuple):
    """What a dummy forward tells about a classifier: its name and input size."""

    name: str
    in_features: int


def find_classifier(model: nn.Module, example: torch.Tensor, num_classes: int) -> Probe:
    """The last ``nn.Linear`` with ``num_classes`` outputs that runs in ``model(example)``."""
    called: list[str] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out, n=n: called.append(n))
             for n, m in model.named_modules() if isinstance(m, nn.Linear) and m.out_features == num_classes]
    try:
        with torch.no_grad():
            model(example)
    finally:
        for h in hooks:
            h.remove()
    if not called:
        raise ConfigValueError(f"{type(model).__name__} has no nn.Linear with {num_classes} outputs to use as its "
                               f"classifier; streaming needs a backbone that ends in one")
    layer = model.get_submodule(called[-1])
    return Probe(called[-1], layer.in_features)
