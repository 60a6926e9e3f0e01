"""TFSlice: `x[...]` on a Keras tensor (tf.keras `SlicingOpLambda`, function `__operators__.getitem`).

The slice spec holds, per item, a slice `{start, stop, step}`, an int index
(drops the axis), None (`tf.newaxis`: a new size-1 axis) or an Ellipsis
(`{class_name: '__ellipsis__'}`). Semantics are numpy's basic indexing,
negative steps included; ints must be constants (a tensor bound is refused).
ONNX limit: on an axis of unknown size, a backward slice starting before the
axis's beginning (`x[-5::-1]` on 3 elements: empty in numpy) is clamped by ONNX
Slice to the first element; known sizes get exact bounds.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from kport.errors import ExportError, ShapeError, UnsupportedLayerError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes

INT64_MAX, INT64_MIN = 2**63 - 1, -(2**63)


@dataclass
class TFSlice(TFFunctionOp):
    kind = "TFSlice"
    keras_classes = tf_classes("__operators__.getitem")
    tf_keras_class: ClassVar[str] = "SlicingOpLambda"
    keras3_ops = {"__operators__.getitem": ("keras.src.ops.numpy", "GetItem", {})}

    function: str = "__operators__.getitem"
    # items: ('slice', start, stop, step) | ('index', i) | ('newaxis',) | ('ellipsis',)
    spec: tuple = ()

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("slices a constant")
        raw = args.call.get("slice_spec")
        args.constant("slice_spec")
        items = raw if isinstance(raw, list) else [raw]
        spec = []
        for item in items:
            if isinstance(item, dict) and item.get("class_name") == "__slice__":  # Keras 3 spelling
                item = item.get("config", {})
            if item is None:
                spec.append(("newaxis",))
            elif isinstance(item, bool) or not isinstance(item, (int, dict)):
                raise args.refuse(f"has slice item {item!r}; kport converts ints, slices, None and ...")
            elif isinstance(item, int):
                spec.append(("index", item))
            elif item.get("class_name") == "__ellipsis__":
                spec.append(("ellipsis",))
            elif set(item) <= {"start", "stop", "step"} and all(
                    v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in item.values()):
                if item.get("step") == 0:
                    raise args.refuse("has a slice step of 0")
                spec.append(("slice", item.get("start"), item.get("stop"), item.get("step")))
            else:
                raise args.refuse(f"has slice item {item!r}; kport converts constant int bounds only")
        if sum(s[0] == "ellipsis" for s in spec) > 1:
            raise args.refuse("has more than one Ellipsis")
        return {"spec": tuple(spec)}

    def bind_call(self, call, n_inputs):
        """Keras 3 GetItem carries its key as the second positional argument; tf.keras as slice_spec."""
        if not getattr(self, "_from_keras3_config", False):
            return super().bind_call(call, n_inputs)
        from kport.ops.tf_op_common import TFCall

        positional = (call or {}).get("positional") or []
        if len(positional) != 2 or positional[0] is not None:
            raise UnsupportedLayerError("GetItem needs a tensor and a constant key",
                                        hint="index Keras tensors with constant ints and slices")
        return dataclasses.replace(self, **self.read_call(TFCall(self.function, {"slice_spec": positional[1]}, 1)))

    def keras3_node(self, refs, node):
        key = []
        for item in self.tf_call(1)[1]["slice_spec"]:
            if isinstance(item, dict) and "start" in item:
                item = {"class_name": "__slice__", "config": item}
            elif isinstance(item, dict):
                item = {"class_name": "__ellipsis__", "config": {}}
            key.append(item)
        spec = super().keras3_node(refs, node)
        spec["inbound"]["args"].append(key)
        return spec

    def tf_call(self, n_inputs: int):
        items = []
        for s in self.spec:
            if s[0] == "slice":
                items.append({"start": s[1], "stop": s[2], "step": s[3]})
            elif s[0] == "index":
                items.append(s[1])
            elif s[0] == "newaxis":
                items.append(None)
            else:
                items.append({"class_name": "__ellipsis__"})
        return TENSOR, {"slice_spec": items}

    def expanded(self, rank: int) -> list[tuple]:
        """The spec with the Ellipsis (or the implicit trailing one) replaced by full slices."""
        used = sum(s[0] in ("slice", "index") for s in self.spec)
        if used > rank:
            raise ShapeError(f"slice {self.key_text()} indexes {used} axes of a rank-{rank} tensor")
        full = [("slice", None, None, None)] * (rank - used)
        spec = list(self.spec)
        if ("ellipsis",) in spec:
            i = spec.index(("ellipsis",))
            return spec[:i] + full + spec[i + 1:]
        return spec + full

    def key_text(self) -> str:
        """The spec as Python indexing text (messages)."""
        parts = []
        for s in self.spec:
            if s[0] == "slice":
                parts.append(":".join("" if v is None else str(v) for v in s[1:3]) + ("" if s[3] is None else f":{s[3]}"))
            else:
                parts.append({"index": lambda: str(s[1]), "newaxis": lambda: "None", "ellipsis": lambda: "..."}[s[0]]())
        return "[" + ", ".join(parts) + "]"

    def _key(self, rank: int) -> tuple:
        out = []
        for s in self.expanded(rank):
            out.append(slice(*s[1:]) if s[0] == "slice" else (s[1] if s[0] == "index" else None))
        return tuple(out)

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        out, axis = [], 0
        for s in self.expanded(len(shape)):
            if s[0] == "newaxis":
                out.append(1)
                continue
            size = shape[axis]
            axis += 1
            if s[0] == "index":
                if size is not None and not -size <= s[1] < size:
                    raise ShapeError(f"index {s[1]} is out of range for an axis of size {size}")
                continue
            out.append(None if size is None else len(range(*slice(*s[1:]).indices(size))))
        return [tuple(out)]

    def reference(self, xs, w):
        return [np.array(xs[0][self._key(xs[0].ndim)])]  # a copy; ascontiguousarray makes 0-d 1-d

    def to_onnx(self, g, xs, w, node):
        spec = self.expanded(len(node.in_shapes[0]))
        starts, ends, axes, steps, squeeze, unsqueeze_at = [], [], [], [], [], []
        axis = out = 0
        for s in spec:
            if s[0] == "newaxis":
                unsqueeze_at.append(out)
                out += 1
                continue
            if s[0] == "index":
                starts.append(s[1]), ends.append(s[1] + 1 if s[1] != -1 else INT64_MAX)
                axes.append(axis), steps.append(1), squeeze.append(axis)
            elif s[1:] not in ((None, None, None), (None, None, 1)):
                step = 1 if s[3] is None else s[3]
                start = s[1] if s[1] is not None else (0 if step > 0 else INT64_MAX)
                stop = s[2] if s[2] is not None else (INT64_MAX if step > 0 else INT64_MIN)
                size = node.in_shapes[0][axis]
                if size is not None:  # exact bounds: ONNX clamps a negative step's out-of-range start, numpy empties
                    picked = range(*slice(*s[1:]).indices(size))
                    start, stop = (picked[0], picked[-1] + step) if picked else (0, 0)
                    step = step if picked else 1
                    stop = INT64_MIN if stop < 0 else stop
                starts.append(start), ends.append(stop), axes.append(axis), steps.append(step)
                out += 1
            else:
                out += 1
            axis += 1
        y = xs[0]
        if axes:
            y = g.op("Slice", [y, g.const(np.array(starts, np.int64)), g.const(np.array(ends, np.int64)),
                               g.const(np.array(axes, np.int64)), g.const(np.array(steps, np.int64))])
        if squeeze:
            y = g.op("Squeeze", [y, g.ints(squeeze)])
        if unsqueeze_at:
            y = g.op("Unsqueeze", [y, g.ints(unsqueeze_at)])
        return [y]

    def to_torch(self, t, xs, w, node):
        # torch indexing has no negative steps: slice forward over the same elements, then flip
        shape = node.in_shapes[0]
        parts, flips, pre_flips = [], [], []
        axis = out = 0
        for s in self.expanded(len(shape)):
            if s[0] == "newaxis":
                parts.append("None")
                out += 1
                continue
            size = shape[axis]
            axis += 1
            if s[0] == "index":
                parts.append(str(s[1]))
                continue
            step = 1 if s[3] is None else s[3]
            if step < 0 and size is None and s[1] is None and s[2] is None:  # x[::-k]: flip first, then step
                pre_flips.append(axis - 1)
                parts.append(f"::{-step}")
            elif step < 0:
                if size is None:
                    raise ExportError(f"slice {self.key_text()} steps backwards over an axis of unknown size",
                                      layer=node.layer, hint="give the input a fixed size on that axis")
                picked = range(*slice(*s[1:]).indices(size))
                if len(picked) == 0:
                    parts.append("0:0")
                else:
                    parts.append(f"{picked[-1]}:{picked[0] + 1}:{-step}")
                    flips.append(out)
            else:
                parts.append(":".join("" if v is None else str(v) for v in (s[1], s[2], step)))
            out += 1
        x = t.line(f"torch.flip({xs[0]}, dims={pre_flips})") if pre_flips else xs[0]
        y = t.line(f"{x}[{', '.join(parts)}]")
        if flips:
            y = t.line(f"torch.flip({y}, dims={flips})")
        return [y]
