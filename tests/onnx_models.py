"""Small IR models built by hand from kport ops, for the ONNX export tests (no TensorFlow)."""
from __future__ import annotations

import numpy as np

from kport.ir.graph import Graph, Layer, Node, SourceInfo, TensorSpec
from kport.ops.base import Op


class Builder:
    """Adds layers to a Graph one call at a time, with seeded random weights."""

    def __init__(self, name: str = "model", seed: int = 0):
        self.graph = Graph(name=name, source=SourceInfo(path=f"{name}.h5", format="test", keras_version="2.21"))
        self.rng = np.random.default_rng(seed)

    def input(self, name: str, shape: tuple, dtype: str = "float32") -> str:
        spec = TensorSpec(name, (None, *shape), dtype)
        self.graph.inputs.append(spec)
        self.graph.tensors[name] = spec
        return name

    def layer(self, name: str, op: Op, inputs: list[str] | str, weights: dict | None = None) -> str:
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        in_shapes = [self.graph.tensors[t].shape for t in inputs]
        if weights is None:
            weights = {k: (self.rng.standard_normal(s) * 0.3).astype(np.float32)
                       for k, s in op.weight_shapes(in_shapes).items()}
        self.graph.layers[name] = Layer(name, op, weights)
        self.graph.nodes.append(Node(name, inputs, [name]))
        shape = op.output_shapes(in_shapes)[0]
        self.graph.tensors[name] = TensorSpec(name, tuple(shape))
        return name

    def done(self, *outputs: str) -> Graph:
        self.graph.outputs = list(outputs)
        return self.graph


def mlp(name: str = "mlp") -> Graph:
    """Dense -> Dense(softmax) on a 2-D input."""
    from kport.ops.dense import Dense

    b = Builder(name)
    x = b.input("features", (6,))
    h = b.layer("hidden", Dense(units=8, activation="relu"), x)
    return b.done(b.layer("probs", Dense(units=3, activation="softmax"), h))


def small_cnn(name: str = "cnn") -> Graph:
    """Conv -> ReLU -> MaxPool -> Conv -> GlobalAveragePooling -> Dense, channels_last."""
    from kport.ops.conv2d import Conv2D
    from kport.ops.dense import Dense
    from kport.ops.global_average_pooling2d import GlobalAveragePooling2D
    from kport.ops.max_pooling2d import MaxPooling2D
    from kport.ops.relu import ReLU

    b = Builder(name)
    x = b.input("image", (12, 12, 3))
    y = b.layer("conv1", Conv2D(filters=4, kernel_size=(3, 3), padding="same"), x)
    y = b.layer("relu1", ReLU(), y)
    y = b.layer("pool1", MaxPooling2D(pool_size=(2, 2), strides=(2, 2)), y)
    y = b.layer("conv2", Conv2D(filters=5, kernel_size=(3, 3), activation="relu"), y)
    y = b.layer("gap", GlobalAveragePooling2D(), y)
    return b.done(b.layer("logits", Dense(units=2), y))
