"""Reshape: gives the non-batch axes a new `target_shape` (one entry may be -1)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kport.errors import ShapeError, UnsupportedLayerError
from kport.ops.base import ImportContext, Op


@dataclass
class Reshape(Op):
    kind = "Reshape"
    keras_classes = ("Reshape",)

    target_shape: tuple[int, ...] = ()

    @classmethod
    def from_keras(cls, config: dict, ctx: ImportContext) -> "Reshape":
        if "newshape" in config:  # keras.ops.reshape: the new shape includes the batch axis
            config = {"target_shape": _operation_target(config["newshape"])}
        target = tuple(-1 if d is None else int(d) for d in config.get("target_shape", ()))
        if sum(d == -1 for d in target) > 1:
            raise ShapeError(f"Reshape target_shape {target} has more than one unknown (-1) size",
                             hint="give every size but one")
        return cls(target_shape=target)

    def keras_config(self, flavor: str = "keras3") -> dict:
        return {"target_shape": list(self.target_shape)}

    def output_shapes(self, in_shapes):
        rest = in_shapes[0][1:]
        target = list(self.target_shape)
        if -1 in target:
            known = int(np.prod([d for d in target if d != -1], dtype=np.int64))
            if None in rest:
                target[target.index(-1)] = None
            else:
                total = int(np.prod(rest, dtype=np.int64))
                if known == 0 or total % known:
                    raise ShapeError(f"cannot reshape {tuple(rest)} into {self.target_shape}")
                target[target.index(-1)] = total // known
        elif None not in rest and int(np.prod(rest, dtype=np.int64)) != int(np.prod(target, dtype=np.int64)):
            raise ShapeError(f"cannot reshape {tuple(rest)} into {self.target_shape}: sizes differ")
        return [(in_shapes[0][0], *target)]

    def reference(self, xs, w):
        return [xs[0].reshape((xs[0].shape[0], *self.target_shape))]

    def to_onnx(self, g, xs, w, node):
        # 0 copies the batch size from the input
        return [g.op("Reshape", [xs[0], g.ints([0, *self.target_shape])])]

    def to_torch(self, t, xs, w, node):
        dims = ", ".join(str(d) for d in self.target_shape)
        return [t.line(f"{xs[0]}.reshape([{xs[0]}.shape[0], {dims}])")]


def _operation_target(newshape) -> list:
    """The Reshape layer target of a keras.ops.reshape whose first size is the batch (-1 or None)."""
    newshape = list(newshape)
    rest = newshape[1:]
    if not newshape or newshape[0] not in (-1, None) or -1 in rest or None in rest:
        raise UnsupportedLayerError(f"keras.ops.reshape to {tuple(newshape)} does not keep the batch axis first",
                                    hint="reshape with -1 as the first size and known other sizes")
    return rest
