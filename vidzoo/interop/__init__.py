"""Interoperability: import published weights, export to ONNX, extract clip features.

``import_weights`` is resolved on first use (PEP 562), so the command lines check their arguments before torch is
imported; ``vidzoo.interop.export`` and ``vidzoo.interop.features`` load on use (they pull in ``onnx`` and the video
decoders).
"""

from __future__ import annotations

from vidzoo.lazy import lazy_names

__all__ = ["import_weights"]

__getattr__, __dir__ = lazy_names(__name__, {"import_weights": "vidzoo.interop.importing"}, globals())
