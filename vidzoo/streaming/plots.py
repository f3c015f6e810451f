"""The picture of a stream run: accuracy on the seen classes against examples seen, one line per learner."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_stream_accuracy(curves: dict[str, tuple[list[int], list[float]]], path: str | Path, title: str = "") -> Path:
    """``curves``: learner name -> (examples seen at each evaluation point, accuracy there). Writes a PNG."""
    path = Path(path)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (seen, acc) in curves.items():
        style = "--" if name in ("offline", "finetune") else "-"
        ax.plot(seen, acc, style, marker="o", label=name)
    ax.set_xlabel("stream examples seen")
    ax.set_ylabel("video top-1 on the seen classes")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
