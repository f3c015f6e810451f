"""The ``tvl1_torch`` backend of the flow tool: batched TV-L1 on a torch device, fed by a decoding thread.

:func:`make_tvl1_torch_fn` turns :class:`vidzoo.flow.tvl1.TVL1` into the tool's batch interface
``fn(prev (B, H, W) uint8, next (B, H, W) uint8) -> (B, H, W, 2) float32``; :func:`prefetch`
runs a frame iterator in a background thread so decoding (PyAV and OpenCV release the GIL)
overlaps flow on the device.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterable, Iterator, TypeVar

import numpy as np
import torch

from vidzoo.flow.tvl1 import TVL1, TVL1Params

T = TypeVar("T")
BatchFlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> ``cuda`` when a GPU is visible, else ``cpu``; anything else must name a usable device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"--device {device!r} is not a torch device; use auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: no CUDA GPU is visible to torch here; use --device auto or cpu")
    return resolved


def make_tvl1_torch_fn(device: str = "auto", batch: int = 1, compile: bool = False, **params: Any) -> BatchFlowFn:
    """Batched TV-L1 flow for the extraction tool; ``params`` are :class:`TVL1Params` fields.

    With ``compile``, batches smaller than ``batch`` are padded with copies of their last pair so
    that every call has one shape (each shape is compiled once); pairs never influence each other.
    """
    solver = TVL1(TVL1Params(**params), compile=compile)
    target = resolve_device(device)

    def flow(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
        count = prev.shape[0]
        i0, i1 = (torch.from_numpy(np.ascontiguousarray(a)).to(target)[:, None] for a in (prev, nxt))
        if compile and count < batch:
            pad = batch - count
            i0, i1 = (torch.cat((x, x[-1:].expand(pad, -1, -1, -1))) for x in (i0, i1))
        return solver(i0, i1)[:count].permute(0, 2, 3, 1).cpu().numpy()

    return flow


def prefetch(items: Iterable[T], depth: int = 64) -> Iterator[T]:
    """Yield ``items`` in order while a daemon thread produces up to ``depth`` of them ahead.

    An exception of the producer is raised here, at the position where it happened.
    """
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put((item, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            buffer.put((None, exc))
        buffer.put((done, None))

    threading.Thread(target=produce, daemon=True).start()
    try:
        while True:
            item, exc = buffer.get()
            if exc is not None:
                raise exc
            if item is done:
                return
            yield item
    finally:
        stop.set()
        while not buffer.empty():  # unblock a producer waiting on a full queue
            buffer.get_nowait()
