"""``jetgnn pretrain`` configs: the training config's sections plus ``pretraining`` (JetCLR)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, model_validator

from jetgnn.errors import InputError
from jetgnn.training.config import ModelSection, TrainConfig
from jetgnn.transforms.augment import check_augmentations
from jetgnn.utils.config import ConfigModel, PositiveFloat


def _widths(value: list) -> list:
    if not value or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value):
        raise ValueError(f"must be a list of positive widths, got {value!r}")
    return value


def _pipeline(value):
    if value is not None:
        check_augmentations(value)
    return value


class PretrainingSection(ConfigModel):
    """temperature : NT-Xent temperature; projection : widths of the projection head after the representation;
    augmentations : name -> parameters, in order (None: ``jetgnn.transforms.augment.DEFAULT_AUGMENTATIONS``)."""

    temperature: PositiveFloat = 0.1
    projection: Annotated[list, AfterValidator(_widths)] = [128, 64]
    augmentations: Annotated[dict | None, AfterValidator(_pipeline)] = None


class EncoderSection(ModelSection):
    """The encoder to pre-train: any neural model of the zoo (its ``embed`` is the representation)."""

    name: str = "transformer"

    @model_validator(mode="after")
    def _neural(self):
        if self.name == "linear":
            raise InputError("config: 'model.name' of a pretraining config must be a neural model, got 'linear'")
        return self


class PretrainConfig(TrainConfig):
    model: EncoderSection = EncoderSection()
    pretraining: PretrainingSection = PretrainingSection()

    MONITORS = ("val_loss",)
    COMPILES = False
