"""Metropolis-adjusted Langevin sampling (MALA) of ``exp(-E)`` and the replay buffer of the NAE's negatives.

One step from :math:`x` with energy gradient :math:`g(x) = \\nabla E(x)`:

.. math::
    x' = \\Pi\\big(x - s\\, g(x) + \\sigma\\,\\xi\\big), \\quad \\xi \\sim \\mathcal{N}(0, 1), \\qquad
    \\log \\alpha = E(x) - E(x') + \\log q(x \\mid x') - \\log q(x' \\mid x), \\quad
    \\log q(b \\mid a) = -\\frac{\\lVert b - a + s\\, g(a)\\rVert^2}{2\\sigma^2}

and :math:`x'` is accepted with probability :math:`\\min(1, \\alpha)` (a real Metropolis-Hastings step, so the
chain targets :math:`e^{-E}` for any step size ``s`` and noise ``σ``; the projection :math:`\\Pi` onto the sphere
or the image simplex is applied to the proposal, with the densities of the unprojected Gaussian). ``grad_clip``
bounds each sample's gradient norm. Shapes: ``x [n, ...]`` -> ``(x [n, ...], E [n], acceptance rate)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def _energy_and_grad(energy: Callable, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        e = energy(x)
        (g,) = torch.autograd.grad(e.sum(), x)
    return e.detach(), g.detach()


def _clip(g: torch.Tensor, max_norm: float | None) -> torch.Tensor:
    if not max_norm:
        return g
    norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (g.dim() - 1)))
    return g * (max_norm / norm).clamp(max=1.0)


def mala(x: torch.Tensor, energy: Callable, steps: int, step_size: float, noise: float,
         project: Callable | None = None, grad_clip: float | None = None) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``steps`` MALA steps of every sample of ``x`` (see the module docstring)."""
    project = project or (lambda v: v)
    x = project(x.detach())
    e, g = _energy_and_grad(energy, x)
    g = _clip(g, grad_clip)
    accepted = 0.0
    for _ in range(steps):
        proposal = project(x - step_size * g + noise * torch.randn_like(x))
        e_new, g_new = _energy_and_grad(energy, proposal)
        g_new = _clip(g_new, grad_clip)
        forward = (proposal - x + step_size * g).pow(2).flatten(1).sum(1)
        backward = (x - proposal + step_size * g_new).pow(2).flatten(1).sum(1)
        log_alpha = e - e_new + (forward - backward) / (2 * noise ** 2)
        accept = torch.log(torch.rand_like(e).clamp_min(1e-30)) < log_alpha
        shape = (-1, *([1] * (x.dim() - 1)))
        x = torch.where(accept.view(shape), proposal, x)
        e, g = torch.where(accept, e_new, e), torch.where(accept.view(shape), g_new, g)
        accepted += float(accept.float().mean())
    return x.detach(), e, accepted / max(steps, 1)


class ReplayBuffer:
    """The last ``size`` final latent samples; :meth:`initial` starts a chain from one of them with probability
    ``replay_ratio``, else from ``fresh``."""

    def __init__(self, size: int, replay_ratio: float):
        self.size, self.replay_ratio = size, replay_ratio
        self.samples: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.samples is None else len(self.samples)

    def initial(self, fresh: torch.Tensor) -> torch.Tensor:
        if not len(self):
            return fresh
        replay = torch.rand(len(fresh), device=fresh.device) < self.replay_ratio
        picks = self.samples[torch.randint(len(self.samples), (len(fresh),), device=fresh.device)]
        return torch.where(replay[:, None], picks.to(fresh.device), fresh)

    def push(self, samples: torch.Tensor) -> None:
        samples = samples.detach()
        self.samples = samples if self.samples is None else torch.cat([samples, self.samples])[: self.size]
