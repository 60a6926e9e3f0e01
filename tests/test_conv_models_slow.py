"""Whole Keras CNNs (keras.applications, random weights) through kport: numpy reference, ONNX and torch.

These exercise the conv/pool/padding ops at real sizes (ResNet50's 7x7/2 stem and
bottlenecks, MobileNetV2's depthwise blocks, Xception's separable convs,
NASNetMobile's cropping/padding/'same' average pooling). Random weights give
outputs far below 1, so both sides are divided by Keras's largest |output|
before the usual tolerance is applied. Needs TensorFlow (slow).
"""
from __future__ import annotations

import numpy as np
import pytest

from layer_harness import assert_close

MODELS = [("ResNet50", 96, {}), ("MobileNetV2", 96, {"alpha": 0.35}), ("Xception", 80, {}),
          ("NASNetMobile", 224, {}), ("DenseNet121", 64, {})]


@pytest.mark.slow
@pytest.mark.parametrize("name,size,extra", MODELS, ids=[m[0] for m in MODELS])
def test_application_matches_keras(name, size, extra, tmp_path):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    import kport

    model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3),
                                              classifier_activation=None, **extra)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    x = np.random.default_rng(0).standard_normal((2, size, size, 3)).astype(np.float32)
    expected = model.predict(x, verbose=0)
    scale = float(np.abs(expected).max())
    graph = kport.load(str(path))
    got = kport.run(graph, [x])[0]
    assert_close(got / scale, expected / scale, f"{name} numpy")
    pytest.importorskip("onnxruntime")
    from layer_harness import run_onnx

    assert_close(run_onnx(graph, [x], 17)[0] / scale, expected / scale, f"{name} onnx")
    pytest.importorskip("torch")
    assert_close(kport.run(graph, [x], backend="torch")[0] / scale, expected / scale, f"{name} torch")


@pytest.mark.slow
@pytest.mark.parametrize("ext", ["keras", "h5"])
def test_lora_conv_is_merged_like_keras(ext, tmp_path):
    """Keras 3 LoRA convs: .keras files hold the merged kernel, legacy .h5 files the factors."""
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    import kport

    inputs = keras.Input((7, 7, 3))
    conv = keras.layers.Conv2D(4, 3, lora_rank=2, lora_alpha=5)
    model = keras.Model(inputs, conv(inputs))
    rng = np.random.default_rng(0)
    conv.lora_kernel_a.assign(rng.standard_normal(conv.lora_kernel_a.shape).astype(np.float32))
    conv.lora_kernel_b.assign(rng.standard_normal(conv.lora_kernel_b.shape).astype(np.float32))
    x = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
    path = tmp_path / f"lora.{ext}"
    model.save(path)
    graph = kport.load(str(path))
    assert_close(kport.run(graph, [x])[0], model.predict(x, verbose=0), f"LoRA conv from .{ext}")
