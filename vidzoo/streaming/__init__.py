"""Streaming learning on frozen zoo backbones: Deep SLDA, ExStream, REMIND, and the fine-tune / offline bounds.

Each learner sees one example at a time (``update(x, y)``) and can be evaluated at any point (``scores(X)``);
``vidzoo.streaming.runner.run_stream`` runs the whole protocol from a config (``vidzoo-stream``).

The names are resolved on first use (PEP 562), so ``vidzoo-stream`` checks its config before torch is imported.
"""

from __future__ import annotations

from vidzoo.lazy import lazy_names

__all__ = ["ORDERINGS", "ExStream", "FineTune", "Offline", "Remind", "StreamingLDA", "make_stream"]

_LAZY = {
    "FineTune": "vidzoo.streaming.baselines",
    "Offline": "vidzoo.streaming.baselines",
    "ExStream": "vidzoo.streaming.exstream",
    "ORDERINGS": "vidzoo.streaming.protocol",
    "make_stream": "vidzoo.streaming.protocol",
    "Remind": "vidzoo.streaming.remind",
    "StreamingLDA": "vidzoo.streaming.slda",
}
__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
