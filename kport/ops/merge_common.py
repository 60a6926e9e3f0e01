"""Shared base of the element-wise merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum).

Keras broadcasts merge inputs: non-batch shapes align from the right, and a
lower-rank input gets size-1 axes inserted after the batch axis before the
arithmetic. The inputs are combined left to right, one binary op at a time,
in the order Keras does, so float rounding matches.

Keras 3 functional models also record *operations* under the same class
names (`x * 2.0 + 1.0` saves `Multiply` and `Add` nodes from
keras.src.ops.numpy); their constant operands arrive in the call record
(`call['positional']`: None where a tensor went, else the scalar or a
`__numpy__` array) and combine with numpy broadcasting.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops.base import Op
from kport.ops.onnx_common import unsqueeze


@dataclass
class ElementwiseMerge(Op):
    """A merge of two or more same-shaped (or broadcastable) tensors."""

    # the ONNX binary op that folds the inputs together, left to right
    onnx_binary: ClassVar[str] = ""
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = None

    def combine(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The numpy binary step."""
        raise NotImplementedError

    def output_shapes(self, in_shapes):
        n = len(in_shapes)
        if n < self.min_inputs:
            raise ShapeError(f"{self.kind} takes at least {self.min_inputs} inputs, got {n}")
        if self.max_inputs is not None and n > self.max_inputs:
            raise ShapeError(f"{self.kind} takes at most {self.max_inputs} inputs, got {n}")
        out = list(in_shapes[0][1:])
        for shape in in_shapes[1:]:
            out = _broadcast(out, list(shape[1:]), in_shapes)
        batch = next((s[0] for s in in_shapes if s[0] is not None), None)
        return [(batch, *out)]

    def operands(self, xs: list, call: dict | None) -> list:
        """The operands in call order: the inputs, with the recorded constants between them.

        Each entry is ('tensor', input) or ('const', float32 array).
        """
        positional = (call or {}).get("positional")
        if not positional:
            return [("tensor", x) for x in xs]
        tensors = iter(xs)
        return [("tensor", next(tensors)) if p is None else ("const", _constant(p, self.kind)) for p in positional]

    def reference_node(self, xs, w, call):
        operands = self.operands(xs, call)
        if all(kind == "tensor" for kind, _ in operands):
            return self.reference(xs, w)
        values = [v.astype(xs[0].dtype) if kind == "const" else v for kind, v in operands]
        y = values[0]
        for v in values[1:]:
            y = self.combine(y, v)
        return [np.asarray(self.finish(y, len(values)), dtype=xs[0].dtype)]

    def reference(self, xs, w):
        rank = max(x.ndim for x in xs)
        xs = [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]
        y = xs[0]
        for x in xs[1:]:
            y = self.combine(y, x)
        return [self.finish(y, len(xs)).astype(xs[0].dtype)]

    def finish(self, y: np.ndarray, n: int) -> np.ndarray:
        """A last step after the fold (Average divides)."""
        return y

    def to_onnx(self, g, xs, w, node):
        operands = self.operands(xs, node.call)
        if any(kind == "const" for kind, _ in operands):
            names = [g.const(v) if kind == "const" else v for kind, v in operands]
        else:
            rank = max(len(s) for s in node.in_shapes)
            names = [unsqueeze(g, x, range(1, 1 + rank - len(s))) if len(s) < rank else x
                     for x, s in zip(xs, node.in_shapes)]
        y = names[0]
        for x in names[1:]:
            y = g.op(self.onnx_binary, [y, x])
        return [self.finish_onnx(g, y, len(names))]

    def finish_onnx(self, g, y: str, n: int) -> str:
        """The ONNX form of `finish`."""
        return y

    def torch_binary(self, a: str, b: str) -> str:
        """The PyTorch expression of the binary step."""
        raise NotImplementedError

    def finish_torch(self, y: str, n: int) -> str:
        """The PyTorch expression of `finish`."""
        return y

    def to_torch(self, t, xs, w, node):
        operands = self.operands(xs, node.call)
        if any(kind == "const" for kind, _ in operands):
            names = [_torch_constant(t, v, w) if kind == "const" else v for kind, v in operands]
        else:
            rank = max(len(s) for s in node.in_shapes)
            names = [f"{x}[:, {', '.join(['None'] * (rank - len(s)))}]" if len(s) < rank else x
                     for x, s in zip(xs, node.in_shapes)]
        y = names[0]
        for x in names[1:]:
            y = self.torch_binary(y, x)
        return [t.line(self.finish_torch(y, len(names)))]

    def keras_node(self, flavor: str, refs: list, node) -> dict | None:
        """Writes a Keras 3 operation call with constants (`x * 2.0`) the way Keras saved it.

        Keras 3 gets the operation back (module keras.src.ops.numpy, constants
        among the args); tf.keras gets the TensorFlow function it would have
        recorded (a TFOpLambda). Calls without constants are ordinary merges.
        """
        positional = (node.call or {}).get("positional")
        if not positional or all(p is None for p in positional):
            return None
        if flavor == "keras3":
            pending = iter(refs)
            args = [next(pending) if p is None else p for p in positional]
            return {"module": "keras.src.ops.numpy", "config": {}, "omit": ("build_config",),
                    "inbound": {"args": args, "kwargs": {}}}
        function = TF_FUNCTIONS.get(self.kind)
        if function is None or len(positional) != 2:
            raise ExportError(f"{self.kind} with a constant operand has no tf.keras form", layer=node.layer,
                              hint="write a Keras 3 file (--to keras), ONNX or PyTorch instead")
        from kport.ops.tf_binary import TFBinary
        from kport.ops.tf_op_common import frozen

        x, y = (None if p is None else frozen(_constant(p, self.kind).tolist()) for p in positional)
        spec = TFBinary(function=function, x=x, y=y).keras_node(flavor, refs, node)
        return {**spec, "class_name": "TFOpLambda",
                "config": {"trainable": True, "dtype": "float32", "function": function}}


# the TensorFlow function tf.keras records for each merge applied to a constant
TF_FUNCTIONS = {"Add": "math.add", "Subtract": "math.subtract", "Multiply": "math.multiply",
                "Maximum": "math.maximum", "Minimum": "math.minimum"}


def _broadcast(a: list, b: list, in_shapes) -> list:
    if len(a) < len(b):
        a, b = b, a
    out = a[: len(a) - len(b)]
    for i, j in zip(a[len(a) - len(b):], b):
        if i is None or j is None:
            out.append(None if 1 in (i, j) or i != j else i)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ShapeError(f"merge inputs have incompatible shapes {in_shapes}")
        else:
            out.append(i)
    return out


def is_number(expr: str) -> bool:
    """True when a PyTorch operand expression is a number literal (a recorded scalar)."""
    try:
        float(expr)
        return True
    except ValueError:
        return False


def _constant(value, kind: str) -> np.ndarray:
    """A recorded constant operand as a float32 array (scalars, lists, Keras 3 `__numpy__` dicts)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__":
        value = value.get("config", {}).get("value")
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise UnsupportedLayerError(f"{kind} has a constant operand kport cannot read: {str(value)[:80]}",
                                    hint="use a number or an array as the constant operand")


TORCH_CONSTANT = '''
class KerasConstant(nn.Module):
    """A constant operand of a Keras 3 operation, as a buffer so it follows the module's device."""

    def __init__(self, shape: list[int]):
        super().__init__()
        self.register_buffer("value", torch.zeros(shape))
'''


def _torch_constant(t, value: np.ndarray, w) -> str:
    if value.ndim == 0:
        return repr(float(value))
    from kport.exporters.torch.emitter import ParamSpec

    t.helper("KerasConstant", TORCH_CONSTANT)
    m = t.submodule(f"KerasConstant({list(value.shape)})", w, {"value": ParamSpec(None, constant=value)},
                    suffix="_constant")
    return f"{m}.value"
