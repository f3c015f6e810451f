"""Streaming learning on frozen zoo backbones: Deep SLDA, ExStream, REMIND, and the fine-tune / offline bounds.

Each learner sees one example at a time (``update(x, y)``) and can be evaluated at any point (``scores(X)``);
``vidzoo.streaming.runner.run_stream`` runs the whole protocol from a config (``vidzoo-stream``).
"""

from vidzoo.streaming.baselines import FineTune, Offline
from vidzoo.streaming.exstream import ExStream
from vidzoo.streaming.protocol import ORDERINGS, make_stream
from vidzoo.streaming.remind import Remind
from vidzoo.streaming.slda import StreamingLDA

__all__ = ["ORDERINGS", "ExStream", "FineTune", "Offline", "Remind", "StreamingLDA", "make_stream"]
