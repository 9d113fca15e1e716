r"""Variational autoencoder of jet features: the trigger anomaly model (the L1 anomaly-detection VAEs of
Govorkova et al. 2022 and CMS AXOL1TL, on jet-level instead of event-level features).

.. math::
    x' = (x - \bar x) / s_x, \quad (\mu, \log\sigma^2) = f_\theta(x'), \quad z = \mu + \sigma\odot\epsilon,
    \quad \mathcal{L} = \lVert x' - g_\phi(z)\rVert^2 + \beta\, D_{KL}

with :math:`D_{KL}` as in :class:`~jetgnn.models.anomaly.vae.ConvVAE` and the same four scores; the first,
``kl_mu`` (:math:`\tfrac12\sum_k \mu_k^2`, the *clipped KL*: the σ terms dropped so that no exponential is
computed), needs only the encoder's μ head — what a trigger runs. The standardisation :math:`(\bar x, s_x)` is a
frozen affine map (exact running mean and variance of the training jets).

With ``quantization`` (:class:`~jetgnn.models.layers.quant.QuantSpec`, ``model.quantization`` of an ``anomaly
train`` config) the encoder and its μ head are Brevitas fixed-point layers (input quantiser, Linear -> ReLU,
a ``bits``-bit μ layer): the firmware part, exported by :func:`jetgnn.export.hls4ml.export_hls4ml`. The σ head
and the decoder, used in training only, stay float.

Args:
    n_features: jet features F (``anomaly.features``). hidden: encoder widths (the decoder mirrors them).
    latent: dimension of z. beta: KL weight β. logvar_clip: bound of log σ². decorrelation: DisCo weight
    against the jet mass (as the image models).

Shapes: features ``[n, F]`` (GeV and dimensionless, as read) -> score ``[n]``.
"""

from __future__ import annotations

import torch
from torch import nn

from jetgnn.models.anomaly.base import AnomalyModel, reconstruction_error
from jetgnn.models.anomaly.disco import with_decorrelation
from jetgnn.models.anomaly.vae import clipped_kl, gaussian_kl
from jetgnn.models.layers import mlp
from jetgnn.models.layers.quant import QuantSpec, quant_linear, quant_mlp


class FeatureVAE(AnomalyModel):
    input_kind = "features"
    scores = ("kl_mu", "kl", "reconstruction", "both")

    def __init__(self, n_features: int, hidden: tuple = (32, 16), latent: int = 3, beta: float = 1.0,
                 logvar_clip: float = 10.0, decorrelation: float = 0.0, quantization: QuantSpec | None = None):
        super().__init__()
        hidden = tuple(hidden)
        self.input_norm = nn.BatchNorm1d(n_features, affine=False, momentum=None)
        self.quantization = quantization
        if quantization is None:
            self.encoder = mlp([n_features, *hidden], norm=False, activation="relu")
            self.mu = nn.Linear(hidden[-1], latent)
        else:
            self.encoder = quant_mlp([n_features, *hidden], quantization)
            self.mu = quant_linear(hidden[-1], latent, quantization, quantization.activation_bits)
        self.logvar = nn.Linear(hidden[-1], latent)
        self.decoder = mlp([latent, *reversed(hidden), n_features], norm=False, last_activation=False,
                           activation="relu")
        self.beta, self.logvar_clip, self.decorrelation = float(beta), float(logvar_clip), float(decorrelation)

    def encode(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(standardised inputs, μ, clipped log σ²) of raw ``features`` [n, F]."""
        x = self.input_norm(features)
        hidden = self.encoder(x)
        return x, self.mu(hidden), self.logvar(hidden).clamp(-self.logvar_clip, self.logvar_clip)

    def score(self, features: torch.Tensor) -> torch.Tensor:
        x, mu, logvar = self.encode(features)
        if self.score_name == "kl_mu":
            return clipped_kl(mu)
        if self.score_name == "kl":
            return gaussian_kl(mu, logvar)
        error = reconstruction_error(x, self.decoder(mu))
        return error if self.score_name == "reconstruction" else error + self.beta * gaussian_kl(mu, logvar)

    def loss(self, features, mass=None) -> dict[str, torch.Tensor]:
        x, mu, logvar = self.encode(features)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        error = reconstruction_error(x, self.decoder(z))
        kl = gaussian_kl(mu, logvar)
        return with_decorrelation(error + self.beta * kl, mass, self.decorrelation,
                                  {"reconstruction": error.mean().detach(), "kl": kl.mean().detach()})
