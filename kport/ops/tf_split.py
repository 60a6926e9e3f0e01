"""TFSplit: `tf.split(x, num_or_size_splits, axis)`: equal parts or given sizes (one may be -1); several outputs."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError
from kport.ops.tf_op_common import TENSOR, TFFunctionOp, tf_classes


@dataclass
class TFSplit(TFFunctionOp):
    kind = "TFSplit"
    keras_classes = tf_classes("split")
    # Keras 3 ops.split takes numpy's cut points (`indices_or_sections`), not sizes
    keras3_ops = {"split": ("keras.src.ops.numpy", "Split", {"indices_or_sections": "num_or_size_splits",
                                                            "axis": "axis"})}

    @classmethod
    def from_keras(cls, config, ctx):
        op = super().from_keras(config, ctx)
        if getattr(op, "_from_keras3_config", False) and isinstance(op.num_or_size_splits, tuple):
            cuts = (0, *op.num_or_size_splits)
            op = dataclasses.replace(op, num_or_size_splits=tuple(b - a for a, b in zip(cuts, cuts[1:])) + (-1,))
            op._from_keras3_config = True
        return op

    def keras3_node(self, refs, node):
        spec = super().keras3_node(refs, node)
        if isinstance(self.num_or_size_splits, tuple):
            shape = refs[0]["config"]["shape"]
            sizes = self.sizes(shape[self.axis % len(shape)])
            if None in sizes[:-1]:
                return dataclasses.replace(self, function="split (sizes over an unknown axis)").keras3_node(refs, node)
            spec["config"]["indices_or_sections"] = np.cumsum(sizes[:-1]).tolist()
        return spec

    function: str = "split"
    # a number of equal parts, or the part sizes (one may be -1: the rest)
    num_or_size_splits: int | tuple = 2
    axis: int = 0

    def read_call(self, args):
        if args.first is not None:
            raise args.refuse("splits a constant or a list")
        if args.constant("num") is not None:
            raise args.refuse("sets num; kport converts num_or_size_splits only")
        splits = args.constant("num_or_size_splits")
        axis = args.constant("axis", 0)
        if not (isinstance(splits, int) or (isinstance(splits, tuple) and all(isinstance(s, int) for s in splits))):
            raise args.refuse(f"has num_or_size_splits={splits!r}; kport converts an int or a list of ints")
        if not isinstance(axis, int):
            raise args.refuse(f"has axis {axis}; kport converts one constant int axis")
        return {"num_or_size_splits": splits, "axis": axis}

    def tf_call(self, n_inputs: int):
        splits = self.num_or_size_splits
        return TENSOR, {"num_or_size_splits": list(splits) if isinstance(splits, tuple) else splits,
                        "axis": self.axis}

    def num_outputs(self, n_inputs: int) -> int:
        splits = self.num_or_size_splits
        return splits if isinstance(splits, int) else len(splits)

    def sizes(self, size: int | None) -> list[int | None]:
        """The part sizes along the axis (None where the axis size is unknown)."""
        splits = self.num_or_size_splits
        if isinstance(splits, int):
            if size is not None and size % splits:
                raise ShapeError(f"tf.split cannot cut an axis of size {size} into {splits} equal parts")
            return [None if size is None else size // splits] * splits
        if -1 not in splits:
            if size is not None and sum(splits) != size:
                raise ShapeError(f"tf.split sizes {list(splits)} do not add up to the axis size {size}")
            return list(splits)
        rest = None if size is None else size - sum(s for s in splits if s != -1)
        return [rest if s == -1 else s for s in splits]

    def output_shapes(self, in_shapes):
        shape = list(in_shapes[0])
        axis = self.axis % len(shape)
        outs = []
        for part in self.sizes(shape[axis]):
            shape[axis] = part
            outs.append(tuple(shape))
        return outs

    def reference(self, xs, w):
        x = xs[0]
        axis = self.axis % x.ndim
        bounds = np.cumsum(self.sizes(x.shape[axis]))[:-1]
        return [np.ascontiguousarray(p) for p in np.split(x, bounds, axis)]

    def to_onnx(self, g, xs, w, node):
        rank = len(node.in_shapes[0])
        axis = self.axis % rank
        n = self.num_outputs(1)
        sizes = self.sizes(node.in_shapes[0][axis])
        if None not in sizes:
            outs = g.op("Split", [xs[0], g.const(np.array(sizes, np.int64))], n_out=n, axis=axis)
        elif g.opset >= 18:
            outs = g.op("Split", [xs[0]], n_out=n, axis=axis, num_outputs=n)
        else:
            outs = g.op("Split", [xs[0]], n_out=n, axis=axis)
        return list(outs) if isinstance(outs, (list, tuple)) else [outs]

    def to_torch(self, t, xs, w, node):
        rank = len(node.in_shapes[0])
        axis = self.axis % rank
        sizes = self.sizes(node.in_shapes[0][axis])
        if None in sizes:
            parts = t.line(f"torch.chunk({xs[0]}, {len(sizes)}, dim={axis})")
        else:
            parts = t.line(f"torch.split({xs[0]}, {sizes}, dim={axis})")
        return [t.line(f"{parts}[{i}]") for i in range(len(sizes))]
