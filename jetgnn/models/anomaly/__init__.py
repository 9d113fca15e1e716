"""Anomaly models, selectable by name (``anomaly train`` configs' ``model.name``), each in its own module.

==========  ================================================================================================
ae          convolutional autoencoder of jet images (:mod:`.ae`)
vae         its variational version; scores reconstruction, kl, both, kl_mu (:mod:`.vae`)
nae         normalised autoencoder: spherical latent, on-manifold MALA negatives, replay buffer (:mod:`.nae`)
graph_ae    constituent autoencoder: transformer encoder, set decoder, Chamfer or Sinkhorn-EMD loss
            (:mod:`.graph_ae`)
feature_vae VAE of jet features, the trigger model: scores kl_mu (clipped KL), kl, reconstruction, both;
            quantisation-aware with ``model.quantization`` (:mod:`.feature_vae`)
==========  ================================================================================================
"""

from __future__ import annotations

import inspect

from jetgnn.errors import InputError
from jetgnn.models.anomaly.ae import ConvAE
from jetgnn.models.anomaly.base import AnomalyModel
from jetgnn.models.anomaly.feature_vae import FeatureVAE
from jetgnn.models.anomaly.graph_ae import GraphAE
from jetgnn.models.anomaly.nae import NAE
from jetgnn.models.anomaly.vae import ConvVAE
from jetgnn.models.registry import check_values, constructor_defaults
from jetgnn.utils.config import did_you_mean

ANOMALY_MODELS: dict[str, type[AnomalyModel]] = {"ae": ConvAE, "vae": ConvVAE, "nae": NAE, "graph_ae": GraphAE,
                                                  "feature_vae": FeatureVAE}
#: the anomaly models with quantisation-aware training (``model.quantization``)
QUANTIZABLE_ANOMALY = tuple(name for name, cls in ANOMALY_MODELS.items()
                            if "quantization" in inspect.signature(cls.__init__).parameters)
#: input kinds whose models take the input width as first argument
_WIDTH_KINDS = ("particles", "features")


def anomaly_parameters(name: str) -> dict:
    """The hyper-parameters of anomaly model ``name`` with their defaults."""
    check_anomaly_name(name)
    skip = 2 if ANOMALY_MODELS[name].input_kind in _WIDTH_KINDS else 1  # these take the input width
    return {key: value for key, value in constructor_defaults(ANOMALY_MODELS[name], skip).items()
            if key != "quantization"}


def check_anomaly_name(name: str) -> None:
    if name not in ANOMALY_MODELS:
        raise InputError(f"unknown anomaly model {name!r} (choose from {', '.join(ANOMALY_MODELS)})"
                         f"{did_you_mean(name, ANOMALY_MODELS)}")


def check_anomaly_parameters(name: str, params: dict, config: bool = False) -> None:
    check_values(name, anomaly_parameters(name), params, config)


def build_anomaly_model(name: str, params: dict | None = None, n_features: int | None = None,
                        quantization=None) -> AnomalyModel:
    """Anomaly model ``name`` with ``params`` (checked like every model's); constituent and feature models need
    their input width ``n_features``. quantization : a :class:`~jetgnn.models.layers.quant.QuantSpec`
    (quantisation-aware training; QUANTIZABLE_ANOMALY)."""
    params = dict(params or {})
    check_anomaly_parameters(name, params)
    cls = ANOMALY_MODELS[name]
    if quantization is not None:
        if name not in QUANTIZABLE_ANOMALY:
            raise InputError(f"quantisation-aware training of anomaly models is available for "
                             f"{', '.join(QUANTIZABLE_ANOMALY)}, not {name}")
        params["quantization"] = quantization
    if cls.input_kind in _WIDTH_KINDS:
        if n_features is None:
            raise InputError(f"anomaly model {name} needs the number of its input features")
        return cls(n_features, **params)
    return cls(**params)


__all__ = ["ANOMALY_MODELS", "QUANTIZABLE_ANOMALY", "AnomalyModel", "FeatureVAE", "anomaly_parameters",
           "build_anomaly_model", "check_anomaly_name", "check_anomaly_parameters"]
