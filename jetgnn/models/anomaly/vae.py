"""Variational autoencoder of jet images (the ATLAS large-R-jet VAE; the trigger-level VAEs of L1 anomaly detection).

.. math::
    (\\mu, \\log\\sigma^2) = f_\\theta(x), \\quad z = \\mu + \\sigma\\odot\\epsilon, \\quad \\hat x = g_\\phi(z), \\quad
    \\mathcal{L} = \\lVert x - \\hat x\\rVert^2 / \\tau + \\beta\\, D_{KL}, \\quad
    D_{KL} = \\tfrac12 \\sum_k (\\mu_k^2 + \\sigma_k^2 - \\log\\sigma_k^2 - 1)

Scores: ``reconstruction`` (:math:`\\lVert x - g(\\mu)\\rVert^2`, the mean latent, deterministic), ``kl``
(:math:`D_{KL}`), ``both`` (:math:`\\lVert x - g(\\mu)\\rVert^2/\\tau + \\beta D_{KL}`, the loss) and ``kl_mu``
(:math:`\\tfrac12\\sum_k \\mu_k^2`: the clipped KL of the trigger VAEs, which drops the σ terms so that no
exponential is computed in firmware). ``log σ²`` is clipped to [-logvar_clip, logvar_clip].

Args:
    size, latent, channels, decorrelation: as :class:`~jetgnn.models.anomaly.ae.ConvAE`. beta: KL weight β.
    tau: reconstruction scale τ (the squared errors of unit-sum images are ~1e-3; τ sets their weight against
    the KL). logvar_clip: bound of log σ².

Shapes: images ``[n, 1, size, size]`` -> score ``[n]``.
"""

from __future__ import annotations

import torch

from jetgnn.models.anomaly.base import AnomalyModel, reconstruction_error
from jetgnn.models.anomaly.conv import ConvDecoder, ConvEncoder
from jetgnn.models.anomaly.disco import with_decorrelation


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """[n] KL divergence of N(μ, σ²) from N(0, 1), summed over the latent dimensions ([n, latent] inputs)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(1)


def clipped_kl(mu: torch.Tensor) -> torch.Tensor:
    """[n] the clipped KL of the trigger VAEs, ½Σ_k μ_k² ([n, latent] input): the σ terms of the KL dropped."""
    return 0.5 * mu.pow(2).sum(1)


class ConvVAE(AnomalyModel):
    scores = ("reconstruction", "kl", "both", "kl_mu")

    def __init__(self, size: int = 40, latent: int = 16, channels: tuple = (16, 32), beta: float = 1.0,
                 tau: float = 1.0e-3, logvar_clip: float = 10.0, decorrelation: float = 0.0):
        super().__init__()
        self.encoder = ConvEncoder(size, tuple(channels), 2 * latent)
        self.decoder = ConvDecoder(size, tuple(channels), latent)
        self.beta, self.tau, self.logvar_clip = float(beta), float(tau), float(logvar_clip)
        self.decorrelation = float(decorrelation)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(images).chunk(2, dim=1)
        return mu, logvar.clamp(-self.logvar_clip, self.logvar_clip)

    kl = staticmethod(gaussian_kl)

    def score(self, images: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.encode(images)
        if self.score_name == "kl":
            return self.kl(mu, logvar)
        if self.score_name == "kl_mu":
            return clipped_kl(mu)
        error = reconstruction_error(images, self.decoder(mu))
        if self.score_name == "reconstruction":
            return error
        return error / self.tau + self.beta * self.kl(mu, logvar)

    def loss(self, images, mass=None) -> dict[str, torch.Tensor]:
        mu, logvar = self.encode(images)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        error = reconstruction_error(images, self.decoder(z))
        kl = self.kl(mu, logvar)
        per_jet = error / self.tau + self.beta * kl
        return with_decorrelation(per_jet, mass, self.decorrelation,
                                  {"reconstruction": error.mean().detach(), "kl": kl.mean().detach()})
