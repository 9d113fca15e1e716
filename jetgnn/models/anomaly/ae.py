"""Convolutional autoencoder of jet images (the baseline of the anomaly searches; Heimel et al., Farina et al.).

.. math::
    z = f_\\theta(x), \\qquad \\hat x = g_\\phi(z), \\qquad
    \\mathcal{L} = \\frac{1}{B}\\sum_i \\lVert x_i - \\hat x_i \\rVert^2, \\qquad
    \\text{score}(x) = \\lVert x - g_\\phi(f_\\theta(x)) \\rVert^2

Args:
    size: image pixels per side (divisible by 4). latent: dimension of z. channels: filters of the two
    convolution blocks. decorrelation: weight λ of a distance-correlation penalty between the score and the jet
    mass on each batch (DisCo; 0 = off), against mass sculpting: :math:`\\lambda\\,\\mathrm{dCor}^2(s, m)\\,
    \\langle s\\rangle` (scaled by the batch's mean error, so that λ does not depend on the image normalisation).

Shapes: images ``[n, 1, size, size]`` (normalised to unit sum) -> score ``[n]``.
"""

from __future__ import annotations

import torch

from jetgnn.models.anomaly.base import AnomalyModel, reconstruction_error
from jetgnn.models.anomaly.conv import ConvDecoder, ConvEncoder
from jetgnn.models.anomaly.disco import with_decorrelation


class ConvAE(AnomalyModel):
    def __init__(self, size: int = 40, latent: int = 32, channels: tuple = (16, 32), decorrelation: float = 0.0):
        super().__init__()
        self.encoder = ConvEncoder(size, tuple(channels), latent)
        self.decoder = ConvDecoder(size, tuple(channels), latent)
        self.decorrelation = float(decorrelation)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)

    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(images))

    def score(self, images: torch.Tensor) -> torch.Tensor:
        return reconstruction_error(images, self.reconstruct(images))

    def loss(self, images, mass=None) -> dict[str, torch.Tensor]:
        error = reconstruction_error(images, self.reconstruct(images))
        return with_decorrelation(error, mass, self.decorrelation, {"reconstruction": error.mean().detach()})
