"""Convolutional encoder and decoder of jet images (shared by the image AE, VAE and NAE).

Encoder: ``[n, 1, S, S]`` -> two blocks of (3x3 conv, ReLU, 3x3 conv, ReLU, 2x2 max-pool) with ``channels``
filters -> flatten -> linear -> ``[n, out]``. Decoder: ``[n, latent]`` -> linear -> ``[n, C, S/4, S/4]`` -> two
blocks of (2x nearest upsampling, 3x3 conv, ReLU, 3x3 conv) -> ``[n, 1, S, S]``, and a softmax over the pixels
(the images are normalised to unit sum, so the reconstruction is too). ``S`` must be divisible by 4.
"""

from __future__ import annotations

import torch
from torch import nn


def check_size(size: int) -> None:
    if size % 4:
        raise ValueError(f"image models need an image size divisible by 4, got {size}")


class ConvEncoder(nn.Module):
    def __init__(self, size: int, channels: tuple[int, int], out: int):
        super().__init__()
        check_size(size)
        c1, c2 = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.Conv2d(c1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * (size // 4) ** 2, out))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class ConvDecoder(nn.Module):
    def __init__(self, size: int, channels: tuple[int, int], latent: int):
        super().__init__()
        check_size(size)
        c1, c2 = channels
        self.size, self.c2 = size, c2
        self.linear = nn.Linear(latent, c2 * (size // 4) ** 2)
        self.net = nn.Sequential(
            nn.ReLU(), nn.Upsample(scale_factor=2), nn.Conv2d(c2, c2, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c1, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(c1, c1, 3, padding=1), nn.ReLU(), nn.Conv2d(c1, 1, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        quarter = self.size // 4
        logits = self.net(self.linear(z).view(-1, self.c2, quarter, quarter))
        return torch.softmax(logits.flatten(1), dim=1).view(-1, 1, self.size, self.size)
