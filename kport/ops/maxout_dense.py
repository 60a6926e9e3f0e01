"""MaxoutDense (Keras 1): y = max over `nb_feature` linear pieces of (x W_k + b_k)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.ops.base import Op, require_rank
from kport.ops.onnx_common import reduce


@dataclass
class MaxoutDense(Op):
    kind = "MaxoutDense"
    keras_classes = ("MaxoutDense",)

    units: int = 1
    nb_feature: int = 4
    use_bias: bool = True

    def weight_shapes(self, in_shapes):
        require_rank(in_shapes[0], 2, self.kind)
        shapes = {"kernel": (self.nb_feature, in_shapes[0][-1], self.units)}
        if self.use_bias:
            shapes["bias"] = (self.nb_feature, self.units)
        return shapes

    def output_shapes(self, in_shapes):
        return [(in_shapes[0][0], self.units)]

    def reference(self, xs, w):
        x = xs[0]
        y = np.einsum("bi,fio->bfo", x, w["kernel"])
        if self.use_bias:
            y = y + w["bias"]
        return [y.max(axis=1).astype(x.dtype)]

    def to_onnx(self, g, xs, w, node):
        kernel = w["kernel"]
        f, n_in, units = kernel.shape
        # one MatMul over all pieces: (in, f*units), then split the pieces out and take the max
        flat = np.ascontiguousarray(np.transpose(kernel, (1, 0, 2)).reshape(n_in, f * units))
        y = g.op("MatMul", [xs[0], g.const(flat, f"{node.layer}/kernel")])
        y = g.op("Reshape", [y, g.ints([-1, f, units])])
        if self.use_bias:
            y = g.op("Add", [y, g.const(w["bias"], f"{node.layer}/bias")])
        return [reduce(g, "ReduceMax", y, [1], keepdims=False)]

    def to_torch(self, t, xs, w, node):
        from kport.exporters.torch.emitter import ParamSpec

        t.helper("KerasMaxoutDense", TORCH_MAXOUT)
        f, n_in, units = w["kernel"].shape
        params = {"kernel": ParamSpec("kernel")}
        if self.use_bias:
            params["bias"] = ParamSpec("bias")
        m = t.submodule(f"KerasMaxoutDense({f}, {n_in}, {units}, {self.use_bias})", w, params)
        return [t.line(f"{m}({xs[0]})")]


TORCH_MAXOUT = '''
class KerasMaxoutDense(nn.Module):
    """Keras 1 MaxoutDense: max over pieces of x W_k + b_k; kernel (pieces, in, units)."""

    def __init__(self, pieces: int, n_in: int, units: int, use_bias: bool):
        super().__init__()
        self.kernel = nn.Parameter(torch.zeros(pieces, n_in, units))
        self.bias = nn.Parameter(torch.zeros(pieces, units)) if use_bias else None

    def forward(self, x):
        y = torch.einsum("bi,fio->bfo", x, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return y.amax(dim=1)
'''
