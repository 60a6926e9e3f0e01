"""TFPad: `tf.pad(x, paddings, mode, constant_values)` (tf.keras saves `compat.v1.pad`): CONSTANT and REFLECT."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from kport.errors import ExportError, UnsupportedLayerError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFPad(TFFunctionOp):
    kind = "TFPad"
    keras_classes = tf_classes("pad", "compat.v1.pad")
    # Keras 3 ops.pad: mode in lower case in the config, constant_values as a call keyword
    keras3_ops = {fn: ("keras.src.ops.numpy", "Pad", {"pad_width": "paddings", "mode": "mode"})
                  for fn in ("pad", "compat.v1.pad")}

    @classmethod
    def from_keras(cls, config, ctx):
        op = super().from_keras(config, ctx)
        if getattr(op, "_from_keras3_config", False):
            if op.mode.upper() not in ("CONSTANT", "REFLECT"):
                raise UnsupportedLayerError(f"Pad in mode '{op.mode}' is not converted by kport",
                                            hint="pad in 'constant' or 'reflect' mode")
            op = dataclasses.replace(op, mode=op.mode.upper())
            op._from_keras3_config = True
        return op

    def bind_call(self, call, n_inputs):
        if getattr(self, "_from_keras3_config", False):
            value = (call or {}).get("constant_values")
            return dataclasses.replace(self, constant_values=float(value or 0.0))
        return super().bind_call(call, n_inputs)

    def keras3_node(self, refs, node):
        spec = super().keras3_node(refs, node)
        spec["config"]["mode"] = self.mode.lower()
        constant = self.constant_values if self.mode == "CONSTANT" and self.constant_values != 0 else None
        spec["inbound"]["kwargs"] = {"constant_values": constant}
        return spec

    function: str = "compat.v1.pad"
    # (before, after) per axis, the batch axis included
    paddings: tuple = ()
    mode: str = "CONSTANT"
    constant_values: float = 0.0

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("pads a constant or a list")
        paddings = args.constant("paddings")
        mode = str(args.constant("mode", "CONSTANT")).upper()
        value = args.constant("constant_values", 0)
        if not isinstance(paddings, tuple) or not all(
                isinstance(p, tuple) and len(p) == 2 and all(isinstance(v, int) for v in p) for p in paddings):
            raise args.refuse(f"has paddings {paddings!r}; kport converts constant [[before, after], ...] lists")
        if mode not in ("CONSTANT", "REFLECT"):
            raise args.refuse(f"pads in mode {mode}; kport converts CONSTANT and REFLECT")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise args.refuse(f"has constant_values={value!r}; kport converts a number")
        return {"paddings": paddings, "mode": mode, "constant_values": float(value)}

    def tf_call(self, n_inputs: int):
        return TENSOR, {"paddings": [list(p) for p in self.paddings], "mode": self.mode,
                        "constant_values": self.constant_values}

    def output_shapes(self, in_shapes):
        return [tuple(None if d is None else d + a + b for d, (a, b) in zip(in_shapes[0], self.paddings))]

    def reference(self, xs, w):
        if self.mode == "REFLECT":
            return [np.pad(xs[0], self.paddings, mode="reflect")]
        return [np.pad(xs[0], self.paddings, constant_values=np.float32(self.constant_values))]

    def to_onnx(self, g, xs, w, node):
        pads = g.const(np.array([p[0] for p in self.paddings] + [p[1] for p in self.paddings], np.int64))
        if self.mode == "REFLECT":
            return [g.op("Pad", [xs[0], pads], mode="reflect")]
        return [g.op("Pad", [xs[0], pads, g.const(np.array(self.constant_values, np.float32))], mode="constant")]

    def to_torch(self, t, xs, w, node):
        if self.mode == "REFLECT":  # torch reflects only trailing axes: gather the mirrored indices per axis
            y = xs[0]
            for axis, ((before, after), size) in enumerate(zip(self.paddings, node.in_shapes[0])):
                if before == after == 0:
                    continue
                if size is None:
                    raise ExportError("tf.pad REFLECT over an axis of unknown size has no PyTorch form in kport",
                                      layer=node.layer, hint="give that axis a fixed size")
                index = np.pad(np.arange(size), (before, after), mode="reflect").tolist()
                y = t.line(f"torch.index_select({y}, {axis}, torch.tensor({index}, device={y}.device))")
            return [y]
        flat = [v for a, b in reversed(self.paddings) for v in (a, b)]  # torch lists the last axis first
        return [t.line(f"F.pad({xs[0]}, {flat}, value={self.constant_values!r})")]
