"""``jetgnn anomaly train`` configs: the training config's data and training sections, an anomaly model and
``anomaly`` (background classes, score, inputs)."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from jetgnn.datasets.anomaly_inputs import DEFAULT_JET_FEATURES, AnomalyInputs
from jetgnn.models.anomaly import ANOMALY_MODELS, QUANTIZABLE_ANOMALY, check_anomaly_parameters
from jetgnn.models.config import QuantizationConfig
from jetgnn.training.config import TrainConfig
from jetgnn.transforms.images import ImageOptions
from jetgnn.utils.config import ConfigModel, NonNegativeFloat, PositiveFloat, PositiveInt, did_you_mean


class AnomalyModelSection(ConfigModel):
    """name : an anomaly model (``ae``, ``vae``, ``nae``, ``graph_ae``, ``feature_vae``); params : its
    hyper-parameters (``jetgnn.models.anomaly.anomaly_parameters(name)``); quantization : quantisation-aware
    training in fixed point (feature_vae; as the taggers' ``model.quantization``)."""

    name: str = "ae"
    params: dict[str, Any] = {}
    quantization: QuantizationConfig | None = None

    @model_validator(mode="after")
    def _known(self):
        if self.name not in ANOMALY_MODELS:
            raise ValueError(f"'model.name' must be one of {', '.join(ANOMALY_MODELS)}; got {self.name!r}"
                             f"{did_you_mean(self.name, ANOMALY_MODELS)}")
        check_anomaly_parameters(self.name, self.params, config=True)
        if self.quantization is not None and self.name not in QUANTIZABLE_ANOMALY:
            raise ValueError(f"'model.quantization' of anomaly models is available for "
                             f"{', '.join(QUANTIZABLE_ANOMALY)}, not {self.name}")
        return self


class ImageSection(ConfigModel):
    """size : pixels per side (divisible by 4); extent : half-width in Δη and Δφ (radians); smear : Gaussian
    width in pixels (0: none)."""

    size: PositiveInt = 40
    extent: PositiveFloat = 0.8
    smear: NonNegativeFloat = 0.0


class AnomalySection(ConfigModel):
    """background : the classes of labelled files that are background (None: every jet of the training files);
    score : which score of the model (None: its first; vae: reconstruction, kl, both, kl_mu); image : the jet
    images of the image models; max_particles : constituents of graph_ae; features : the per-jet fields of
    feature_vae (any per-jet field, jet_mass, jet_nparticles, jet_tau21, jet_tau32)."""

    background: list[str] | None = None
    score: str | None = None
    image: ImageSection = ImageSection()
    max_particles: PositiveInt = 32
    features: list[str] = list(DEFAULT_JET_FEATURES)

    @model_validator(mode="after")
    def _features(self):
        if not self.features:
            raise ValueError("'anomaly.features' must name at least one per-jet field")
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"'anomaly.features' lists a field twice: {self.features}")
        return self


class AnomalyConfig(TrainConfig):
    model: AnomalyModelSection = AnomalyModelSection()
    anomaly: AnomalySection = AnomalySection()

    MONITORS = ("val_loss",)
    COMPILES = False

    @model_validator(mode="after")
    def _score_and_size(self):
        cls = ANOMALY_MODELS[self.model.name]
        if self.anomaly.score is not None and self.anomaly.score not in cls.scores:
            raise ValueError(f"'anomaly.score' of model {self.model.name} must be one of {', '.join(cls.scores)}; "
                             f"got {self.anomaly.score!r}")
        if cls.input_kind == "image":
            size = self.model.params.get("size", 40)
            if size != self.anomaly.image.size:
                raise ValueError(f"'model.params.size' ({size}) must equal 'anomaly.image.size' "
                                 f"({self.anomaly.image.size})")
            if size % 4:
                raise ValueError(f"'anomaly.image.size' must be divisible by 4, got {size}")
        return self

    def inputs(self) -> AnomalyInputs:
        kind = ANOMALY_MODELS[self.model.name].input_kind
        image = ImageOptions(size=self.anomaly.image.size, extent=self.anomaly.image.extent,
                             smear=self.anomaly.image.smear)
        return AnomalyInputs(kind, image, self.anomaly.max_particles, tuple(self.anomaly.features))

    def score_name(self) -> str:
        return self.anomaly.score or ANOMALY_MODELS[self.model.name].scores[0]
