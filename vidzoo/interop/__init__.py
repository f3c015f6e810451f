"""Interoperability: import published weights, export to ONNX, extract clip features.

``import_weights`` is imported here; ``vidzoo.interop.export`` and ``vidzoo.interop.features`` load on use
(they pull in ``onnx`` and the video decoders).
"""

from vidzoo.interop.importing import import_weights

__all__ = ["import_weights"]
