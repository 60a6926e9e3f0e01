"""Shared base of the layers that only act in training (dropout, noise, activity penalties).

At inference each of them passes its input through unchanged, so the numpy
reference and every backend hook are the identity; the attributes are kept so
a written-back Keras file trains the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

from kport.ops.base import ImportContext, Op
from kport.ops.conv_common import normalize_data_format


@dataclass
class InferenceIdentity(Op):
    """A layer that is the identity at inference; subclasses add their attributes."""

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "InferenceIdentity":
        if "p" in config and "rate" not in config:  # Keras 1 spelling of the drop rate
            config = {**config, "rate": config["p"]}
        if "sigma" in config and "stddev" not in config:  # Keras 1 GaussianNoise
            config = {**config, "stddev": config["sigma"]}
        return super().from_keras(config, ctx)

    def reference(self, xs, w):
        return [xs[0]]

    def to_onnx(self, g, xs, w, node):
        return [xs[0]]

    def to_torch(self, t, xs, w, node):
        # inference form; the Keras engine adds the training behaviour (training_behaviors.py)
        return [xs[0]]


@dataclass
class SpatialDropout(InferenceIdentity):
    """Base of SpatialDropout1D/2D/3D: drops whole feature maps in training."""

    # Keras 3's constructor takes no `trainable`
    keras_base_omit = {"keras3": ("trainable",)}

    rate: float = 0.5
    seed: int | None = None


@dataclass
class SpatialDropoutMaps(SpatialDropout):
    """SpatialDropout2D/3D, whose maps lie on the channel axis `data_format` names."""

    # Keras passes an incoming mask through (supports_masking in Keras 2 and 3)
    propagates_mask = True

    data_format: str = "channels_last"

    @classmethod
    def from_keras(cls, config, ctx):
        op = super().from_keras(config, ctx)
        op.data_format = normalize_data_format(config.get("data_format") or config.get("dim_ordering"))
        return op
