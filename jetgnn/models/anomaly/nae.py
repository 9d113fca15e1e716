"""Normalised autoencoder (NAE; Yoon, Noh & Park 2021; for jets: Dillon, Favaro, Plehn, Sorrenson & Krämer 2022).

An AE whose reconstruction error is the energy of a normalised density :math:`p(x) = e^{-E(x)} / Z`:

.. math::
    z = \\frac{f_\\theta(x)}{\\lVert f_\\theta(x)\\rVert} \\in S^{d-1}, \\qquad
    E(x) = \\lVert x - g_\\phi(z)\\rVert^2 / T, \\qquad
    \\mathcal{L} = \\langle E(x^+)\\rangle - \\langle E(x^-)\\rangle + \\gamma\\, \\langle E(x^-)^2\\rangle

with :math:`x^+` background jets and :math:`x^-` negative samples of the model's own density drawn *on the
manifold*: a latent chain (MALA on :math:`E(g_\\phi(z))`, projected onto the sphere) started from a replay
buffer or uniformly on the sphere, decoded, then an input-space chain (MALA on :math:`E(x)`, projected onto
non-negative unit-sum images; ``x_steps = 0`` skips it). Every chain step has a Metropolis-Hastings accept
(:mod:`jetgnn.models.anomaly.sampling`). The first ``ae_epochs`` epochs train the plain AE (loss
:math:`\\langle E(x^+)\\rangle`). Unlike the AE, the NAE pays for reconstructing what is not background well
(the negatives' energy is pushed up), which is meant to cure the complexity bias.

On jet images the input chain is best left out (``configs/anomaly_nae.yaml``): a sample of
:math:`e^{-E}` in the 1600 pixel directions carries thermal noise of about :math:`d/2` in :math:`E` (equipartition),
far above the data's energies at the temperatures that make the latent chain sample anything, so its negatives
are noisy images and the loss only teaches the model to reconstruct noise badly (measured at T = 1e-4, 5 seeds:
with the image chain E_neg ~2x E_pos and a top-trained NAE flags QCD with AUC 0.456 +- 0.085; on-manifold
E_neg ~1.1x E_pos and 0.622 +- 0.091, or 0.756 +- 0.062 after 60 instead of 25 AE epochs, as shipped; README:
Anomaly detection).

Divergence guard: a NaN/inf loss, or negative energies below ``collapse`` x the positive ones for 50 steps in a
row (the sampler has found images the model reconstructs perfectly, e.g. blank ones, and :math:`Z` is lost),
stops training with :class:`~jetgnn.errors.TrainingDiverged`. Negatives start *below* the data's energy (they
lie on the decoder's manifold); the loss pushes them up, so only a collapse by orders of magnitude is an error.

Args:
    size, latent, channels: as :class:`~jetgnn.models.anomaly.ae.ConvAE`. ae_epochs: AE pre-training epochs.
    nae_lr_scale: factor on the learning rate after the AE phase (the NAE fine-tunes the pre-trained AE; at
        the AE's rate the first NAE epoch undid the pre-training: E_pos 0.038 -> 0.10 on QCD images).
    gamma: weight γ of the negative-energy regulariser. temperature: T. z_steps, z_step_size, z_noise: the
    latent chain. x_steps, x_step_size, x_noise, x_grad_clip: the input chain. buffer_size, replay_ratio: the
    replay buffer. collapse: threshold of the divergence guard.

Shapes: images ``[n, 1, size, size]`` -> score ``[n]`` (the energy).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from jetgnn.errors import TrainingDiverged
from jetgnn.models.anomaly.base import AnomalyModel, reconstruction_error
from jetgnn.models.anomaly.conv import ConvDecoder, ConvEncoder
from jetgnn.models.anomaly.sampling import ReplayBuffer, mala

#: steps in a row with collapsed negative energies before the guard stops training
_COLLAPSE_STEPS = 50


def _simplex(images: torch.Tensor) -> torch.Tensor:
    images = images.clamp_min(0)
    return images / images.flatten(1).sum(1).clamp_min(1e-12).view(-1, 1, 1, 1)


class NAE(AnomalyModel):
    scores = ("energy",)

    def __init__(self, size: int = 40, latent: int = 32, channels: tuple = (16, 32), ae_epochs: int = 2,
                 nae_lr_scale: float = 1.0, gamma: float = 1.0, temperature: float = 1.0, z_steps: int = 10,
                 z_step_size: float = 0.05,
                 z_noise: float = 0.02, x_steps: int = 10, x_step_size: float = 1.0e-4, x_noise: float = 1.0e-3,
                 x_grad_clip: float | None = None, buffer_size: int = 2000, replay_ratio: float = 0.95,
                 collapse: float = 1.0e-4):
        super().__init__()
        self.encoder = ConvEncoder(size, tuple(channels), latent)
        self.decoder = ConvDecoder(size, tuple(channels), latent)
        self.latent, self.ae_epochs, self.gamma, self.temperature = latent, ae_epochs, gamma, temperature
        self.z_chain = (z_steps, z_step_size, z_noise)
        self.x_chain = (x_steps, x_step_size, x_noise, x_grad_clip)
        self.buffer = ReplayBuffer(buffer_size, replay_ratio)
        self.collapse = collapse
        self.phase = "ae" if ae_epochs > 0 else "nae"
        if not nae_lr_scale > 0:
            raise ValueError(f"nae_lr_scale must be positive, got {nae_lr_scale!r}")
        self.nae_lr_scale = float(nae_lr_scale)
        self._collapsed_steps = 0

    def on_epoch(self, epoch: int) -> None:
        self.phase = "ae" if epoch < self.ae_epochs else "nae"

    def lr_scale(self) -> float:
        return self.nae_lr_scale if self.phase == "nae" else 1.0

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.encoder(images), dim=1)

    def energy(self, images: torch.Tensor) -> torch.Tensor:
        return reconstruction_error(images, self.decoder(self.encode(images))) / self.temperature

    def score(self, images: torch.Tensor) -> torch.Tensor:
        return self.energy(images)

    def validation_loss(self, inputs, mass=None) -> torch.Tensor:
        return self.energy(inputs).mean()  # the mean validation energy E_pos (chains need gradients)

    def selection_value(self, validation_loss: float, train_means: dict[str, float], epoch: int) -> float:
        """Label-free epoch selection: after the AE phase, |E_pos(validation) - E_neg| / E_pos(validation), with
        E_neg the epoch's mean negative energy. At the NAE's fixed point the model's own samples are as likely as
        the data (the normalisation it trains for), so the gap closes; AE-phase epochs get 1000 + 1/(epoch + 1)
        (never chosen over an NAE epoch; the last of them if training ends there)."""
        if epoch < self.ae_epochs or "energy_neg" not in train_means:
            return 1000.0 + 1.0 / (epoch + 1)
        return abs(validation_loss - train_means["energy_neg"]) / max(validation_loss, 1e-12)

    def negatives(self, n: int, device) -> tuple[torch.Tensor, dict[str, float]]:
        """n negative samples (on-manifold: latent chain, decode, input chain) and the chains' acceptance rates."""
        fresh = F.normalize(torch.randn(n, self.latent, device=device), dim=1)
        z0 = self.buffer.initial(fresh)
        steps, step_size, noise = self.z_chain
        z, _, z_rate = mala(z0, lambda z: self.energy(self.decoder(z)), steps, step_size, noise,
                            project=lambda z: F.normalize(z, dim=1))
        self.buffer.push(z)
        with torch.no_grad():
            x0 = self.decoder(z)
        steps, step_size, noise, clip = self.x_chain
        if steps == 0:  # negatives on the decoder's manifold only
            return x0, {"z_acceptance": z_rate}
        x, _, x_rate = mala(x0, self.energy, steps, step_size, noise, project=_simplex, grad_clip=clip)
        return x, {"z_acceptance": z_rate, "x_acceptance": x_rate}

    def loss(self, images, mass=None) -> dict[str, torch.Tensor]:
        positive = self.energy(images)
        if self.phase == "ae":
            return {"loss": positive.mean(), "energy_pos": positive.mean().detach()}
        was_training = self.training
        self.eval()  # the chains sample the current model; no dropout/batch statistics change
        x_neg, rates = self.negatives(len(images), images.device)
        self.train(was_training)
        negative = self.energy(x_neg)
        loss = positive.mean() - negative.mean() + self.gamma * negative.pow(2).mean()
        self._guard(loss, positive, negative)
        return {"loss": loss, "energy_pos": positive.mean().detach(), "energy_neg": negative.mean().detach(),
                **{k: torch.tensor(v) for k, v in rates.items()}}

    def _guard(self, loss, positive, negative) -> None:
        if not torch.isfinite(loss):
            pos, neg = float(positive.mean().detach()), float(negative.mean().detach())
            raise TrainingDiverged(f"NAE training diverged: the loss is {float(loss.detach())} (E_pos {pos:.4g}, "
                                   f"E_neg {neg:.4g}); lower training.lr or model.params.x_step_size, or raise "
                                   f"model.params.gamma")
        if float(negative.mean().detach()) < self.collapse * float(positive.mean().detach()):
            self._collapsed_steps += 1
        else:
            self._collapsed_steps = 0
        if self._collapsed_steps >= _COLLAPSE_STEPS:
            raise TrainingDiverged(f"NAE training diverged: the negative energy collapsed (E_neg "
                                   f"{float(negative.mean().detach()):.4g} < {self.collapse:g} x E_pos "
                                   f"{float(positive.mean().detach()):.4g} for {_COLLAPSE_STEPS} steps); raise "
                                   f"model.params.gamma or lower training.lr")
