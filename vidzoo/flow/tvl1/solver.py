"""Batched TV-L1 optical flow (Zach, Pock, Bischof 2007) as plain PyTorch, on any device.

The algorithm is the one of Sanchez, Meinhardt-Llopis and Facciolo (IPOL 2013) as OpenCV's
``cv2.optflow.DualTVL1OpticalFlow`` runs it, with OpenCV's parameter names and defaults:
a pyramid of ``nscales`` bilinear zoom-outs by ``scaleStep``; per scale ``warps`` bicubic warps
of the second image and its gradient; per warp up to ``outerIterations`` rounds of (median
filter, then up to ``innerIterations`` primal-dual steps: thresholding, primal update, dual
update). A pair stops iterating within a warp once the summed squared change of its flow in
one step is at most ``epsilon**2 * H * W``; every pair of a batch follows its own stopping
rule (pairs that stopped are frozen while the others go on), so a batch gives the flow each
pair would get alone.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F

from vidzoo.flow.tvl1 import ops

#: ``grad <= FLT_EPSILON`` counts as a flat pixel (OpenCV's test); ``1 / grad`` is replaced by this there.
_FLT_EPSILON = float(torch.finfo(torch.float32).eps)
_FLAT_INV_GRAD = 1e20


@dataclass(frozen=True)
class TVL1Params:
    """OpenCV's DualTVL1OpticalFlow parameters and defaults (``lambda_`` as in cv2's Python API)."""

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    innerIterations: int = 30  # noqa: N815 (OpenCV's name)
    outerIterations: int = 10  # noqa: N815
    scaleStep: float = 0.8  # noqa: N815
    gamma: float = 0.0
    medianFiltering: int = 5  # noqa: N815

    def __post_init__(self) -> None:
        checks = {
            "tau": self.tau > 0, "lambda_": self.lambda_ > 0, "theta": self.theta > 0,
            "nscales": self.nscales >= 1, "warps": self.warps >= 1, "epsilon": self.epsilon >= 0,
            "innerIterations": self.innerIterations >= 1, "outerIterations": self.outerIterations >= 1,
            "scaleStep": 0 < self.scaleStep < 1, "gamma": self.gamma >= 0,
            "medianFiltering": self.medianFiltering <= 1 or self.medianFiltering % 2 == 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                f"invalid TV-L1 parameter(s) {', '.join(f'{k}={getattr(self, k)!r}' for k in bad)}: need tau, "
                "lambda_, theta > 0; nscales, warps, innerIterations, outerIterations >= 1; epsilon, gamma >= 0; "
                "0 < scaleStep < 1; medianFiltering odd (or <= 1 for none)"
            )

    def opencv_kwargs(self) -> dict[str, Any]:
        """Keywords for ``cv2.optflow.DualTVL1OpticalFlow_create`` (whose Python binding spells ``innnerIterations``)."""
        kwargs = asdict(self)
        kwargs["innnerIterations"] = kwargs.pop("innerIterations")
        return kwargs


def _primal_dual_step(
    u: torch.Tensor, px: torch.Tensor, py: torch.Tensor, g: torch.Tensor, rho_c: torch.Tensor,
    inv_grad: torch.Tensor, active: torch.Tensor, l_t: float, theta: float, taut: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One inner iteration for the pairs where ``active (B, 1, 1, 1)`` is true; others are returned unchanged.

    ``u (B, C, H, W)``: flow (C=2) or flow + illumination (C=3, gamma > 0); ``px, py (B, C, H, W)``:
    dual variables; ``g (B, C, H, W)``: (I1x, I1y[, gamma]) of the warped image; ``rho_c, inv_grad
    (B, 1, H, W)``: the constant part of the linearised residual and ``1 / |grad I1w|^2``.
    Returns ``(u, px, py, error (B,))`` with error the summed squared change of ``u``.
    """
    rho = rho_c + (g * u).sum(dim=1, keepdim=True)
    # thresholding: the step along grad I1 is -rho/|grad|^2, clipped to [-lambda*theta, lambda*theta]
    v = u + (-rho * inv_grad).clamp(-l_t, l_t) * g
    u_new = v + theta * ops.divergence(px, py)
    error = (u_new - u).square().sum(dim=(1, 2, 3))
    ux, uy = ops.forward_gradient(u_new)
    norm = 1.0 + taut * torch.sqrt(ux * ux + uy * uy)
    px_new = (px + taut * ux) / norm
    py_new = (py + taut * uy) / norm
    return (torch.where(active, u_new, u), torch.where(active, px_new, px), torch.where(active, py_new, py),
            error)


def _masked_median(padded: torch.Tensor, u: torch.Tensor, active: torch.Tensor, ksize: int) -> torch.Tensor:
    """Median-filtered ``u (B, 2, H, W)`` where ``active (B, 1, 1, 1)``, else ``u``; ``padded``: ``u`` padded by k // 2."""
    return torch.where(active, ops.median_of_padded(padded, ksize), u)


_COMPILED: dict[str, Callable[..., Any]] = {}
#: Shapes compiled per function while TV-L1 runs: 5 pyramid levels x a few (batch, frame size) combinations.
_RECOMPILE_LIMIT = 64


def _compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One ``torch.compile`` wrapper per function and process: a new wrapper per solver would compile again."""
    if fn.__name__ not in _COMPILED:
        _COMPILED[fn.__name__] = torch.compile(fn, dynamic=False)
    return _COMPILED[fn.__name__]


class TVL1:
    """Callable TV-L1 solver: ``TVL1(params)(i0, i1) -> flow (B, 2, H, W)`` in pixels, from ``i0`` to ``i1``.

    ``compile=True`` runs the primal-dual step and the median filter through ``torch.compile`` (fused
    loops; a C++ compiler on CPU, Triton on GPU; if compiling fails, a warning and eager mode). Each
    pyramid level's ``(B, H, W)`` compiles once (tens of seconds, cached on disk by torch), up to 64
    shapes per process, so resize mixed-size videos to one size. ``sync_every``: inner iterations
    between the host checks that end a warp once every pair has stopped (1 on CPU, where the check
    is free; 10 on GPU, where it waits for the device). It changes speed only: stopped pairs stay
    frozen either way.
    """

    def __init__(self, params: TVL1Params | None = None, *, compile: bool = False, sync_every: int | None = None):
        self.params = params or TVL1Params()
        self.sync_every = sync_every
        self._step: Callable[..., Any] = _compiled(_primal_dual_step) if compile else _primal_dual_step
        self._median: Callable[..., Any] = _compiled(_masked_median) if compile else _masked_median

    def __call__(self, i0: torch.Tensor, i1: torch.Tensor) -> torch.Tensor:
        """``i0, i1 (B, 1, H, W)``: uint8 gray levels, or floats in [0, 1] (scaled by 255, as OpenCV does)."""
        if i0.shape != i1.shape or i0.dim() != 4 or i0.shape[1] != 1 or min(i0.shape[-2:]) < 3:
            raise ValueError(f"need two (B, 1, H, W) gray batches of one shape with H, W >= 3, got "
                             f"{tuple(i0.shape)} and {tuple(i1.shape)}")
        scale = 1.0 if i0.dtype == torch.uint8 else 255.0
        i0, i1 = i0.float() * scale, i1.float() * scale
        with torch.no_grad():
            if self._step is _primal_dual_step:
                return self._pyramid(i0, i1)
            try:
                with torch._dynamo.config.patch(recompile_limit=_RECOMPILE_LIMIT):
                    return self._pyramid(i0, i1)
            except Exception as exc:  # torch.compile can fail (no C++ compiler, old Triton): eager from now on
                warnings.warn(f"torch.compile of TV-L1 failed ({type(exc).__name__}: {exc}); continuing in eager mode")
                self._step, self._median = _primal_dual_step, _masked_median
                return self._pyramid(i0, i1)

    def _pyramid(self, i0: torch.Tensor, i1: torch.Tensor) -> torch.Tensor:
        p = self.params
        levels = [(i0, i1)]
        inv = 1.0 / p.scaleStep
        for _ in range(1, p.nscales):
            h, w = levels[-1][0].shape[-2:]
            size = (round(h * p.scaleStep), round(w * p.scaleStep))
            if min(size) < 16:
                break
            levels.append(tuple(ops.resize_linear(x, size, (inv, inv)) for x in levels[-1]))
        b, _, h, w = levels[-1][0].shape
        u = torch.zeros(b, 3 if p.gamma else 2, h, w, device=i0.device)
        for s in range(len(levels) - 1, -1, -1):
            u = self._one_scale(*levels[s], u)
            if s:
                u = ops.resize_linear(u, tuple(levels[s - 1][0].shape[-2:]))
                u[:, :2] *= inv  # the illumination channel u3 is not a displacement
        return u[:, :2].contiguous()

    def _one_scale(self, i0: torch.Tensor, i1: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Refine ``u (B, C, H, W)`` at one pyramid level from ``i0, i1 (B, 1, H, W)``."""
        p = self.params
        b, _, h, w = i0.shape
        l_t, taut = p.lambda_ * p.theta, p.tau / p.theta
        threshold = p.epsilon * p.epsilon * h * w
        sync_every = self.sync_every or (1 if u.device.type == "cpu" else 10)
        i1x, i1y = ops.centered_gradient(i1)
        stack = torch.cat((i1, i1x, i1y), dim=1)
        px, py = torch.zeros_like(u), torch.zeros_like(u)
        for _ in range(p.warps):
            i1w, gx, gy = ops.warp_bicubic(stack, u[:, :2]).split(1, dim=1)
            grad = gx * gx + gy * gy
            rho_c = i1w - gx * u[:, :1] - gy * u[:, 1:2] - i0
            inv_grad = torch.where(grad > _FLT_EPSILON, 1.0 / grad, _FLAT_INV_GRAD)
            parts = (gx, gy) + ((torch.full_like(gx, p.gamma),) if p.gamma else ())
            g = torch.cat(parts, dim=1)
            active = torch.ones(b, 1, 1, 1, dtype=torch.bool, device=u.device)
            steps = 0
            for _outer in range(p.outerIterations):
                if p.medianFiltering > 1:
                    r = p.medianFiltering // 2
                    padded = F.pad(u[:, :2], (r, r, r, r), mode="replicate")
                    filtered = self._median(padded, u[:, :2], active, p.medianFiltering)
                    u = torch.cat((filtered, u[:, 2:]), dim=1) if p.gamma else filtered
                for _inner in range(p.innerIterations):
                    u, px, py, error = self._step(u, px, py, g, rho_c, inv_grad, active, l_t, p.theta, taut)
                    active = active & (error > threshold).view(b, 1, 1, 1)
                    steps += 1
                    if steps % sync_every == 0 and not bool(active.any()):
                        break
                if not bool(active.any()):
                    break
        return u


def tvl1_flow(i0: torch.Tensor, i1: torch.Tensor, params: TVL1Params | None = None, **kwargs: Any) -> torch.Tensor:
    """TV-L1 flow from ``i0`` to ``i1`` (both ``(B, 1, H, W)``) -> ``(B, 2, H, W)`` float32 pixels.

    ``kwargs`` are :class:`TVL1` options (``compile``, ``sync_every``).
    """
    return TVL1(params, **kwargs)(i0, i1)
