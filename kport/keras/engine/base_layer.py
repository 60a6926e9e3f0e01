"""`keras.layers.Layer`: the base of every layer, built-in or custom.

A layer called on symbolic tensors (`Input`s) records a `Node` and returns
symbolic outputs; called on arrays or torch tensors it computes. Custom layers
override `build` (creating weights with `add_weight`), `call` (torch code, see
`kport.keras.backend`) and optionally `compute_output_shape` and `get_config`.
"""
from __future__ import annotations

import numpy as np

from kport.keras import initializers
from kport.keras.engine import naming
from kport.keras.engine.tensor import KerasTensor, Node, flatten, is_symbolic

# constructor keywords every layer accepts (Keras 1 and 2 spellings)
BASE_KWARGS = ("name", "trainable", "dtype", "input_shape", "batch_input_shape", "batch_size", "input_dim",
               "input_length", "weights", "activity_regularizer", "autocast", "dynamic")


class Layer:
    """Base layer.

    Attributes:
        name: unique layer name.
        trainable: whether fit updates its weights.
        built: whether `build` has run.
        supports_masking: Keras compatibility flag (masks are not propagated yet).
    """

    _device = None  # a torch.device pinned by `to`; None: the engine-wide device (keras.backend.set_device)

    def __init__(self, trainable: bool = True, name: str | None = None, dtype: str | None = None, **kwargs):
        unknown = [k for k in kwargs if k not in BASE_KWARGS]
        if unknown:
            raise TypeError(f"Keyword argument not understood: {unknown[0]!r}")
        self.name = name or naming.unique_name(naming.snake_case(self._name_base()))
        self.trainable = trainable
        self.dtype = dtype or "float32"
        self.built = False
        self.supports_masking = False
        self._trainable_weights: list = []
        self._non_trainable_weights: list = []
        self._losses: list = []
        self._inbound_nodes: list[Node] = []
        self._initial_weights = kwargs.get("weights")
        self._batch_input_shape = _batch_input_shape(kwargs)
        self.activity_regularizer = kwargs.get("activity_regularizer")

    @classmethod
    def _name_base(cls) -> str:
        """The class name automatic layer names derive from."""
        return cls.__name__

    # ---- weights ---------------------------------------------------------------
    def add_weight(self, name: str | None = None, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable: bool = True, constraint=None, **kwargs):
        """Creates a weight (a torch Parameter) initialized like Keras; returns it."""
        from kport.keras import backend as K

        shape = tuple(int(s) for s in (shape or ()))
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        value = np.asarray(init(shape, dtype or "float32"), dtype=dtype or "float32").reshape(shape)
        param = K.variable(value, dtype or "float32")
        param.requires_grad_(bool(trainable))
        param.keras_name = f"{self.name}/{name or 'weight'}"
        param.regularizer = regularizer
        param.constraint = constraint
        (self._trainable_weights if trainable else self._non_trainable_weights).append(param)
        return param

    @property
    def trainable_weights(self) -> list:
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        if self.trainable:
            return list(self._non_trainable_weights)
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    @property
    def weights(self) -> list:
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    def get_weights(self) -> list[np.ndarray]:
        """The weights as numpy arrays, in `layer.weights` order."""
        return [p.detach().cpu().numpy().copy() for p in self.weights]

    def set_weights(self, weights: list) -> None:
        """Assigns numpy arrays to the weights, in `layer.weights` order."""
        from kport.keras import backend as K

        params = self.weights
        if len(weights) != len(params):
            raise ValueError(f"layer {self.name} expects {len(params)} weights, got {len(weights)}")
        for p, w in zip(params, weights):
            if tuple(np.shape(w)) != tuple(p.shape):
                raise ValueError(f"layer {self.name}: weight shape {tuple(p.shape)} cannot take {np.shape(w)}")
            K.set_value(p, w)

    def count_params(self) -> int:
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def torch_parameters(self) -> list:
        """The trainable torch tensors the optimizer updates."""
        return [p for p in self.trainable_weights if getattr(p, "requires_grad", False)]

    def optimizer_params(self) -> list:
        """(torch parameter, layout) pairs in Keras order; a custom layer's weights are their own layout."""
        from kport.exporters.torch.layouts import SAME

        return [(p, SAME) for p in self.torch_parameters()]

    def torch_parameters_all(self) -> list:
        """Every torch tensor holding this layer's state (for device moves)."""
        return list(self.weights)

    def to(self, device) -> "Layer":
        """Moves the layer's weights to `device` ('cpu', 'cuda', 'cuda:1') and pins it there; returns the layer."""
        from kport.keras.engine import devices

        target = devices.check(device)
        self._device = target
        for p in self.torch_parameters_all():
            devices.move_parameter(p, target)
        return self

    # ---- losses ----------------------------------------------------------------
    def add_loss(self, loss, inputs=None) -> None:
        """Adds a loss term (a tensor or a zero-argument callable) to training."""
        self._losses.append(loss)

    @property
    def losses(self) -> list:
        """Regularization and added losses, as tensors (callables evaluated now)."""
        out = []
        for loss in self._losses:
            out.append(loss() if callable(loss) else loss)
        for p in self.weights:
            reg = getattr(p, "regularizer", None)
            if reg is not None and self.trainable:
                out.append(reg(p))
        return out

    def _clear_call_losses(self) -> None:
        self._losses = [loss for loss in self._losses if callable(loss)]

    # ---- the Keras contract ----------------------------------------------------------
    def build(self, input_shape) -> None:
        """Creates the weights; `input_shape` includes the batch axis (None)."""
        self.built = True

    def call(self, inputs, **kwargs):
        """The computation on torch tensors."""
        return inputs

    def compute_output_shape(self, input_shape):
        """Output shape(s) for an input shape; the default runs `call` on zeros once."""
        return _dry_run_shapes(self, input_shape)

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    # ---- calling ---------------------------------------------------------------
    def __call__(self, inputs, **kwargs):
        if is_symbolic(inputs):
            return self._call_symbolic(inputs, kwargs)
        return self._call_eager(inputs, kwargs)

    def _maybe_build(self, shapes: list[tuple]) -> None:
        if self.built:
            return
        self.build(shapes[0] if len(shapes) == 1 else shapes)
        self.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _call_symbolic(self, inputs, kwargs: dict):
        xs = flatten(inputs)
        tensor_kwargs: dict = {}
        extra: list = []
        for key, value in kwargs.items():
            if is_symbolic(value):  # keyword tensors (initial_state=, mask=) become node inputs too
                flat = flatten(value)
                start = len(xs) + len(extra)
                tensor_kwargs[key] = (list(range(start, start + len(flat))), isinstance(value, (list, tuple)))
                extra.extend(flat)
        kwargs = {k: v for k, v in kwargs.items() if k not in tensor_kwargs}
        shapes = [tuple(x.shape) for x in xs]
        self._maybe_build(shapes)
        out_shapes = self._symbolic_output_shapes(shapes, [tuple(x.shape) for x in extra])
        many = isinstance(out_shapes, list) or (isinstance(out_shapes, tuple) and out_shapes
                                                and isinstance(out_shapes[0], (tuple, list)))
        out_shapes = list(out_shapes) if many else [out_shapes]
        k = len(self._inbound_nodes)
        outs = [KerasTensor(tuple(s), xs[0].dtype if xs else "float32", f"{self.name}/{k}:{j}",
                            (self, k, j)) for j, s in enumerate(out_shapes)]
        node = Node(self, xs + extra, outs, dict(kwargs), single_input=not isinstance(inputs, list), n_main=len(xs),
                    tensor_kwargs=tensor_kwargs)
        self._inbound_nodes.append(node)
        return outs if many else outs[0]

    def _symbolic_output_shapes(self, shapes: list[tuple], kwarg_shapes: list[tuple]):
        """Output shape(s) of a symbolic call; keyword tensors do not change them for a custom layer."""
        return self.compute_output_shape(shapes[0] if len(shapes) == 1 else shapes)

    def _call_eager(self, inputs, kwargs: dict):
        from kport.keras import backend as K
        from kport.keras.engine import devices

        single = not isinstance(inputs, (list, tuple))
        device = devices.of(self)
        xs = [K.as_tensor(x).to(device) for x in ([inputs] if single else list(inputs))]
        self._maybe_build([(None,) + tuple(x.shape[1:]) for x in xs])
        return self.call(xs[0] if single else xs, **self._call_kwargs(kwargs))

    def _call_kwargs(self, kwargs: dict) -> dict:
        """Drops `training` and `mask` for layers whose `call` does not take them."""
        for name in ("training", "mask"):
            if name in kwargs and not _accepts(type(self), name):
                kwargs = {k: v for k, v in kwargs.items() if k != name}
        return kwargs

    def run_node(self, xs: list, node: Node, training: bool, mask=None) -> list:
        """Computes one recorded call on torch tensors; returns the outputs as a list."""
        kwargs = dict(node.kwargs)
        if kwargs.get("training") is None:
            kwargs["training"] = training
        if mask is not None:
            kwargs["mask"] = mask
        for key, (positions, as_list) in node.tensor_kwargs.items():
            kwargs[key] = [xs[p] for p in positions] if as_list else xs[positions[0]]
        main = xs[:node.n_main]
        out = self.call(main[0] if node.single_input and len(main) == 1 else main, **self._call_kwargs(kwargs))
        return list(out) if isinstance(out, (list, tuple)) else [out]

    # ---- introspection --------------------------------------------------------------
    def _node(self, index: int = 0) -> Node:
        if not self._inbound_nodes:
            raise AttributeError(f"layer {self.name} has not been called on a symbolic input yet")
        return self._inbound_nodes[index]

    def get_input_at(self, index: int):
        node = self._node(index)
        return node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)

    def get_output_at(self, index: int):
        node = self._node(index)
        return node.outputs[0] if len(node.outputs) == 1 else list(node.outputs)

    @property
    def input(self):
        return self.get_input_at(0)

    @property
    def output(self):
        return self.get_output_at(0)

    @property
    def input_shape(self):
        x = self.input
        return [t.shape for t in x] if isinstance(x, list) else x.shape

    @property
    def output_shape(self):
        x = self.output
        return [t.shape for t in x] if isinstance(x, list) else x.shape

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


_ACCEPTS: dict[tuple[type, str], bool] = {}


def _accepts(cls: type, name: str) -> bool:
    """Whether `cls.call` takes keyword `name` (cached per class: it is asked at every call)."""
    if (cls, name) not in _ACCEPTS:
        import inspect

        params = inspect.signature(cls.call).parameters
        _ACCEPTS[(cls, name)] = name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
    return _ACCEPTS[(cls, name)]


def _batch_input_shape(kwargs: dict) -> tuple | None:
    """Reads input_shape / batch_input_shape / input_dim (+ input_length) into one batch shape."""
    if kwargs.get("batch_input_shape") is not None:
        return tuple(kwargs["batch_input_shape"])
    batch = kwargs.get("batch_size")
    if kwargs.get("input_shape") is not None:
        return (batch,) + tuple(kwargs["input_shape"])
    if kwargs.get("input_dim") is not None:
        if "input_length" in kwargs:  # Keras 1 recurrent/embedding spelling
            return (batch, kwargs["input_length"], kwargs["input_dim"])
        return (batch, kwargs["input_dim"])
    if kwargs.get("input_length") is not None:
        return (batch, kwargs["input_length"])
    return None


def _dry_run_shapes(layer: Layer, input_shape):
    import torch

    many = isinstance(input_shape, list)
    shapes = input_shape if many else [input_shape]
    from kport.keras.engine import devices

    device = devices.of(layer)
    xs = [torch.zeros(tuple(2 if s is None else s for s in shape), device=device) for shape in shapes]
    with torch.no_grad():
        out = layer.call(xs if many else xs[0])
    if isinstance(out, (list, tuple)):
        return [(None,) + tuple(o.shape[1:]) for o in out]
    return (None,) + tuple(out.shape[1:])
