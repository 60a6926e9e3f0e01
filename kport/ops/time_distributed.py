"""TimeDistributed: applies an inner layer to every time step (axis 1) independently.

Holds the inner op as an attribute; its weights are the inner layer's, under
the same names. Runs the inner op on (batch*time, ...) and reshapes back,
which is exactly Keras's computation for every layer kind.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op


@dataclass
class TimeDistributed(Op):
    kind = "TimeDistributed"
    keras_classes = ("TimeDistributed",)

    layer: Op | None = None

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "TimeDistributed":
        from kport.ops.registry import op_for_keras_class

        spec = config["layer"]
        op_cls = op_for_keras_class(spec.get("class_name"))
        if op_cls is None:
            raise UnsupportedLayerError(f"TimeDistributed over unknown layer '{spec.get('class_name')}'",
                                        hint="run `kport ops` for the supported layers")
        return cls(layer=op_cls.from_keras(spec.get("config", {}), ctx))

    def keras_config(self, flavor: str = "keras3") -> dict:
        from kport.ops.rnn_common import nested_layer_spec

        return {"layer": nested_layer_spec(self.layer, flavor, f"{self.layer.kind.lower()}")}

    def keras3_vars(self, w: dict) -> dict[str, list]:
        """`.keras` layout: the inner layer's weights under `layer`."""
        inner = getattr(self.layer, "keras3_vars", None)
        if inner is None:
            return {"layer": list(w.values())}
        return {f"layer/{sub}": arrays for sub, arrays in inner(w).items()}

    @property
    def output_dtype(self):
        return getattr(self.layer, "output_dtype", None)

    def _inner_shape(self, shape) -> tuple:
        return (None,) + tuple(shape[2:])

    def weight_shapes(self, in_shapes):
        return self.layer.weight_shapes([self._inner_shape(in_shapes[0])])

    def output_shapes(self, in_shapes):
        inner = self.layer.output_shapes([self._inner_shape(in_shapes[0])])
        return [tuple(in_shapes[0][:2]) + tuple(s[1:]) for s in inner]

    def num_outputs(self, n_inputs: int) -> int:
        return getattr(self.layer, "num_outputs", lambda n: 1)(1)

    def reference(self, xs, w):
        x = np.asarray(xs[0])
        batch, steps = x.shape[:2]
        outs = self.layer.reference([x.reshape((batch * steps,) + x.shape[2:])], w)
        return [o.reshape((batch, steps) + o.shape[1:]) for o in outs]

    def to_torch(self, t, xs, w, node):
        hook = getattr(self.layer, "to_torch", None)
        if hook is None:
            reason = self.layer.no_hook.get("torch", "no PyTorch form yet")
            raise ExportError(f"TimeDistributed({self.layer.kind}) cannot be exported to PyTorch: {reason}")
        x = xs[0]
        flat = t.line(f"{x}.reshape([-1] + list({x}.shape[2:]))")
        in_shape = self._inner_shape(node.in_shapes[0])
        inner_node = dataclasses.replace(node, in_shapes=[in_shape], out_shapes=self.layer.output_shapes([in_shape]),
                                         call={})
        return [t.line(f"{y}.reshape([{x}.shape[0], {x}.shape[1]] + list({y}.shape[1:]))")
                for y in hook(t, [flat], w, inner_node)]

    def to_onnx(self, g, xs, w, node):
        shape = g.op("Shape", [xs[0]])
        flat_shape = g.op("Concat", [g.ints([-1]), g.op("Slice", [shape, g.ints([2]), g.ints([2 ** 62])])], axis=0)
        flat = g.op("Reshape", [xs[0], flat_shape])
        in_shape = self._inner_shape(node.in_shapes[0])
        inner_node = dataclasses.replace(node, in_shapes=[in_shape], out_shapes=self.layer.output_shapes([in_shape]),
                                         call={})
        lead = g.op("Slice", [shape, g.ints([0]), g.ints([2])])
        outs = []
        for y in self.layer.to_onnx(g, [flat], w, inner_node):
            rest = g.op("Slice", [g.op("Shape", [y]), g.ints([1]), g.ints([2 ** 62])])
            outs.append(g.op("Reshape", [y, g.op("Concat", [lead, rest], axis=0)]))
        return outs
