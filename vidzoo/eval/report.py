"""Reports of vidzoo.eval: a terminal table, a JSON-safe copy of the results, and PNG plots.

matplotlib is imported only when a plot is drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

# (column title, metric, field, format); HOTA fields are averaged over alpha.
COLUMNS = [
    ("HOTA", "hota", "HOTA", "{:.3f}"), ("DetA", "hota", "DetA", "{:.3f}"), ("AssA", "hota", "AssA", "{:.3f}"),
    ("LocA", "hota", "LocA", "{:.3f}"), ("CA-HOTA", "ca_hota", "HOTA", "{:.3f}"),
    ("MOTA", "clear", "MOTA", "{:.3f}"), ("MOTP", "clear", "MOTP", "{:.3f}"), ("IDF1", "identity", "IDF1", "{:.3f}"),
    ("IDP", "identity", "IDP", "{:.3f}"), ("IDR", "identity", "IDR", "{:.3f}"), ("FP", "clear", "CLR_FP", "{:d}"),
    ("FN", "clear", "CLR_FN", "{:d}"), ("IDSW", "clear", "IDSW", "{:d}"), ("Frag", "clear", "Frag", "{:d}"),
    ("MT", "clear", "MT", "{:d}"), ("PT", "clear", "PT", "{:d}"), ("ML", "clear", "ML", "{:d}"),
]


def _cell(value, fmt: str) -> str:
    value = np.mean(value) if np.ndim(value) else value
    return fmt.format(int(value)) if fmt == "{:d}" else fmt.format(float(value))


def format_table(per_sequence: dict[str, dict], combined: dict) -> str:
    """One row per sequence plus COMBINED, one column per available field (fixed-width text)."""
    cols = [c for c in COLUMNS if c[1] in combined]
    rows = [[name] + [_cell(res[m][f], fmt) for _, m, f, fmt in cols] for name, res in per_sequence.items()]
    rows.append(["COMBINED"] + [_cell(combined[m][f], fmt) for _, m, f, fmt in cols])
    head = ["sequence"] + [c[0] for c in cols]
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    def line(r: list[str]) -> str:
        return "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))

    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])


def jsonable(obj: Any) -> Any:
    """A copy of nested results with numpy arrays/scalars as lists/numbers and keys as strings."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6, 4.5))


def _save(fig, ax, path: Path) -> None:
    import matplotlib.pyplot as plt

    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_hota_alpha(hota: dict, path: Path, title: str = "") -> None:
    """HOTA, DetA, AssA, LocA (and the Re/Pr parts) against the localisation threshold alpha."""
    from vidzoo.eval.hota import ALPHAS

    fig, ax = _axes()
    for name, style in [("HOTA", "r-"), ("DetA", "b-"), ("AssA", "g-"), ("LocA", "m-"), ("DetRe", "b--"),
                        ("DetPr", "b:"), ("AssRe", "g--"), ("AssPr", "g:")]:
        ax.plot(ALPHAS, hota[name], style, label=name)
    ax.set(xlabel="alpha (IoU threshold)", ylabel="score", xlim=(0, 1), ylim=(0, 1), title=title or "HOTA vs alpha")
    _save(fig, ax, path)


def plot_pr_curves(curves: dict, path: Path, iou: float = 0.5) -> None:
    """Precision against recall per class at one IoU threshold."""
    fig, ax = _axes()
    for cls, (rec, prec) in curves.items():
        ax.plot(rec, prec, label=f"class {cls}")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title=f"PR curves, IoU {iou}")
    _save(fig, ax, path)
