"""Image operators of TV-L1 as batched tensor code, with OpenCV's boundary conditions.

Every function takes and returns float32 maps of shape ``(B, C, H, W)``; they mirror the helpers
of OpenCV's ``tvl1flow.cpp`` (pyramid resize, centred/forward gradient, divergence, bicubic
warp, median filter) so that our flow follows OpenCV's ``DualTVL1OpticalFlow`` step by step.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F


@functools.lru_cache(maxsize=64)
def _linear_weights(n_in: int, n_out: int, scale: float) -> torch.Tensor:
    """``(n_out, n_in)`` bilinear resampling matrix with OpenCV's INTER_LINEAR sampling positions.

    Output sample ``d`` reads the source at ``(d + 0.5) * scale - 0.5``, clamped to the edge
    pixels (OpenCV's replicated border); ``scale`` is source pixels per output pixel.
    """
    w = torch.zeros(n_out, n_in, dtype=torch.float64)
    for d in range(n_out):
        f = (d + 0.5) * scale - 0.5
        s = math.floor(f)
        a = f - s
        if s < 0:
            s, a = 0, 0.0
        if s >= n_in - 1:
            s, a = n_in - 1, 0.0
        w[d, s] += 1.0 - a
        w[d, min(s + 1, n_in - 1)] += a
    return w.float()


def resize_linear(x: torch.Tensor, size: tuple[int, int], scale: tuple[float, float] | None = None) -> torch.Tensor:
    """Bilinear resize of ``(B, C, H, W)`` to ``size = (H', W')`` as ``cv2.resize(..., INTER_LINEAR)`` does.

    ``scale = (sy, sx)``: source pixels per output pixel; ``None`` uses ``H / H'`` and ``W / W'``
    (OpenCV with an explicit ``dsize``). The pyramid passes ``1 / scaleStep`` (OpenCV with ``fx, fy``).
    """
    h, w = x.shape[-2:]
    sy, sx = scale if scale is not None else (h / size[0], w / size[1])
    ry = _linear_weights(h, size[0], sy).to(x.device)
    rx = _linear_weights(w, size[1], sx).to(x.device)
    return ry @ x @ rx.T


def centered_gradient(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences ``(dx, dy)`` of ``(B, C, H, W)``; at the borders half the one-sided difference."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    dx = 0.5 * (p[..., 1:-1, 2:] - p[..., 1:-1, :-2])
    dy = 0.5 * (p[..., 2:, 1:-1] - p[..., :-2, 1:-1])
    return dx, dy


def forward_gradient(u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences ``(ux, uy)`` of ``(B, C, H, W)``, zero on the last column / last row."""
    ux = F.pad(u[..., :, 1:] - u[..., :, :-1], (0, 1))
    uy = F.pad(u[..., 1:, :] - u[..., :-1, :], (0, 0, 0, 1))
    return ux, uy


def divergence(px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Backward-difference divergence of the field ``(px, py)``, each ``(B, C, H, W)``; the adjoint of
    :func:`forward_gradient` (values left of the first column and above the first row count as 0)."""
    return px - F.pad(px[..., :, :-1], (1, 0)) + py - F.pad(py[..., :-1, :], (0, 0, 1, 0))


def _odd_even_merge_sort(n: int) -> list[tuple[int, int]]:
    """Batcher's odd-even merge sort on ``n`` (a power of two) wires: comparators ``(i, j)``, ``i < j``."""
    comparators = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        comparators.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return comparators


_NETWORKS: dict[int, tuple[tuple[int, int, bool, bool], ...]] = {}


def median_network(count: int) -> tuple[tuple[int, int, bool, bool], ...]:
    """A selection network whose wire ``count // 2`` ends holding the median of ``count`` inputs.

    Batcher's sorting network on the next power of two, the extra wires holding +inf, pruned to
    the comparators the median depends on. Each entry ``(i, j, keep_min, keep_max)`` puts
    ``min`` on wire ``i`` and ``max`` on wire ``j`` (only the outputs still needed); an entry with
    both flags false swaps the wires (a comparator against +inf). 5x5: 113 entries, 202 min/max.
    """
    if count in _NETWORKS:
        return _NETWORKS[count]
    n = 1 << (count - 1).bit_length()
    needed, kept = {count // 2}, []
    for i, j in reversed(_odd_even_merge_sort(n)):
        if i in needed or j in needed:
            kept.append((i, j, i in needed, j in needed))
            needed |= {i, j}
    infinite, network = set(range(count, n)), []
    for i, j, keep_min, keep_max in reversed(kept):
        if j in infinite:  # min(x, inf) = x stays on wire i
            continue
        if i in infinite:  # the finite value moves to wire i, +inf to wire j
            infinite = (infinite - {i}) | {j}
            network.append((i, j, False, False))
        else:
            network.append((i, j, keep_min, keep_max))
    _NETWORKS[count] = tuple(network)
    return _NETWORKS[count]


def median_filter(u: torch.Tensor, ksize: int) -> torch.Tensor:
    """``ksize x ksize`` median of each ``(B, C, H, W)`` map with replicated borders (``cv2.medianBlur``)."""
    r = ksize // 2
    return median_of_padded(F.pad(u, (r, r, r, r), mode="replicate"), ksize)


def median_of_padded(padded: torch.Tensor, ksize: int) -> torch.Tensor:
    """Median of every ``ksize x ksize`` window of ``padded (B, C, H + k - 1, W + k - 1)`` -> ``(B, C, H, W)``.

    Min/max operations only (a selection network), which ``torch.compile`` fuses into one vectorised
    loop when it sees the padded tensor as a plain input.
    """
    h, w = padded.shape[-2] - ksize + 1, padded.shape[-1] - ksize + 1
    wires = [padded[..., dy : dy + h, dx : dx + w] for dy in range(ksize) for dx in range(ksize)]
    for i, j, keep_min, keep_max in median_network(ksize * ksize):
        a, b = wires[i], wires[j]
        if not (keep_min or keep_max):
            wires[i], wires[j] = b, a
            continue
        if keep_min:
            wires[i] = torch.minimum(a, b)
        if keep_max:
            wires[j] = torch.maximum(a, b)
    return wires[ksize * ksize // 2]


def warp_bicubic(images: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Sample ``images (B, K, H, W)`` at ``(x + u_x, y + u_y)`` with bicubic interpolation (a = -0.75).

    ``u``: ``(B, 2, H, W)`` displacements in pixels. Taps outside the image read 0, as
    ``cv2.remap(..., INTER_CUBIC)`` does with its default constant border.
    """
    b, _, h, w = images.shape
    ys = torch.arange(h, device=u.device, dtype=u.dtype).view(1, h, 1)
    xs = torch.arange(w, device=u.device, dtype=u.dtype).view(1, 1, w)
    gx = (xs + u[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    gy = (ys + u[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    return F.grid_sample(images, grid, mode="bicubic", padding_mode="zeros", align_corners=True)
