"""Conv/pool/resize ops write Keras configs that real Keras rebuilds into the same layer.

For every fixture case: op -> keras_config -> a fresh Keras layer with the
fixture weights -> the fixture output. Needs TensorFlow (slow).
"""
from __future__ import annotations

import numpy as np
import pytest

from layer_harness import assert_close, load_cases
from test_ops_conv import KINDS as CONV_KINDS
from test_ops_pool import KINDS as POOL_KINDS
from test_ops_resize import KINDS as RESIZE_KINDS

CASES = [c for kind in CONV_KINDS + POOL_KINDS + RESIZE_KINDS for c in load_cases(kind)
         if c.producer in ("keras3", "tf_keras")]
FLAVOR = {"keras3": "keras3", "tf_keras": "tf.keras"}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_keras_rebuilds_the_layer_from_its_config(case):
    pytest.importorskip("tensorflow")
    if "channels_last layer on transposed data" in case.note:
        pytest.skip(f"Keras on TF CPU cannot compute this case itself: {case.note}")
    keras = pytest.importorskip("keras" if case.producer == "keras3" else "tf_keras")
    config = case.op().keras_config(FLAVOR[case.producer])
    layer = getattr(keras.layers, case.class_name)(**config)
    inputs = case.inputs[0]
    kwargs = {"mask": case.inputs[1]} if case.call.get("tensor:mask") else {}
    layer(inputs, **kwargs)
    layer.set_weights(case.weights)
    assert_close(np.asarray(layer(inputs, **kwargs)), case.outputs[0], f"{case.id} rebuilt in {case.producer}")


def test_keras2_grid_bilinear_refuses_a_keras3_config():
    from kport.errors import ExportError

    case = next(c for c in load_cases("UpSampling2D") if c.producer == "keras2")
    with pytest.raises(ExportError, match="half-pixel"):
        case.op().keras_config("keras3")


def test_one_dimensional_configs_use_keras_spelling():
    by_kind = {c.class_name: c.op() for kind in RESIZE_KINDS for c in load_cases(kind)[:1]}
    assert by_kind["UpSampling1D"].keras_config() == {"size": 2}
    assert by_kind["Cropping1D"].keras_config("tf.keras") == {"cropping": [1, 1]}
    assert by_kind["ZeroPadding1D"].keras_config("tf.keras") == {"padding": [1, 1]}
    assert by_kind["ZeroPadding1D"].keras_config("keras3") == {"padding": [1, 1], "data_format": "channels_last"}
