"""Layers backed by a kport op: every op in the registry becomes a Keras layer class.

The layer holds the op (normalized attributes) and its weights in the
canonical Keras layout. On first real use it compiles the op's `to_torch`
hook into a small generated torch module (a one-node IR graph through
`kport.runtime.torch_backend.build_module`); from then on the torch
parameters are the live weights, and `get_weights` maps them back through the
hook's own invertible declarations (`kport.exporters.torch.state_dict`).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, ClassVar

import numpy as np

from kport.keras import initializers, regularizers
from kport.keras.engine import data_parallel, stateful, training_behaviors
from kport.keras.engine.base_layer import BASE_KWARGS, Layer
from kport.keras.layers import signatures
from kport.ops import activation_fns
from kport.ops.base import ImportContext, Op



class WeightRef:
    """A handle on one weight of an op layer (`layer.kernel`), in the Keras layout.

    `K.get_value(ref)` / `K.set_value(ref, value)` read and write it.
    """

    def __init__(self, layer: "OpLayer", weight: str):
        self.layer = layer
        self.weight = weight

    @property
    def name(self) -> str:
        return f"{self.layer.name}/{self.weight}:0"

    @property
    def shape(self) -> tuple:
        return tuple(self.layer._weight_shapes[self.weight])

    @property
    def dtype(self) -> str:
        return "float32"

    @property
    def trainable(self) -> bool:
        return self.layer.trainable and self.weight not in self.layer.op.non_trainable_weights

    def numpy(self) -> np.ndarray:
        return self.layer._weight_dict()[self.weight]

    def assign(self, value) -> None:
        weights = self.layer._weight_dict()
        weights[self.weight] = np.asarray(value, dtype=np.float32).reshape(self.shape)
        self.layer._set_weight_dict(weights)

    def torch_value(self):
        import torch

        from kport.keras.engine import devices

        return torch.from_numpy(self.numpy()).to(devices.of(self.layer))

    def __repr__(self) -> str:
        return f"<WeightRef {self.name} shape={self.shape}>"


class OpLayer(Layer):
    """A Keras layer whose meaning is a kport op (`op_class`)."""

    op_class: ClassVar[type[Op]]
    keras_class: ClassVar[str] = ""

    def __init__(self, *args, **kwargs):
        fields = [f.name for f in dataclasses.fields(self.op_class)]
        # an op's own `input_dim` (Embedding's vocabulary) is not an input shape
        base = {k: kwargs.pop(k) for k in list(kwargs) if k in BASE_KWARGS and k not in fields}
        if "input_length" in kwargs and "input_length" in fields and kwargs["input_length"] is not None:
            base["input_shape"] = base.get("input_shape") or (kwargs["input_length"],)
        super().__init__(**base)
        names = signatures.positional_names(self.keras_class or self.op_class.kind, self.op_class.kind, fields)
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} positional arguments "
                            f"({', '.join(names)}); pass the others by keyword")
        for field_name, value in zip(names, args):
            if field_name in kwargs:
                raise TypeError(f"{type(self).__name__} got multiple values for {field_name!r}")
            kwargs[field_name] = value
        # Keras 1 `Merge([model_a, model_b], mode=...)`: the branches a Sequential starts from
        self.branches = list(kwargs.pop("layers", None) or []) if self.op_class.kind == "Merge" else []
        self.op, self._extras = build_op(self.op_class, self.keras_class or self.op_class.kind, kwargs, self.name)
        self._setup_state()

    @classmethod
    def _name_base(cls) -> str:
        return cls.op_class.kind  # Convolution2D layers are named conv2d, as in Keras 2

    def _setup_state(self) -> None:
        self._ir_weights: dict[str, np.ndarray] = {}
        self._weight_shapes: dict[str, tuple] = {}
        self._modules: dict[tuple, Any] = {}
        self._primary = None  # (module, one-node graph, {keras weight: [(param key, ParamSpec)]})
        self._states = None  # a stateful recurrent layer's carried states (torch), None: zeros
        self._stateful_batch = None  # its fixed batch size

    @classmethod
    def from_op(cls, op: Op, name: str, trainable: bool = True) -> "OpLayer":
        """Wraps an existing op (a loaded model's layer) without going through Keras arguments."""
        layer = cls.__new__(cls)
        Layer.__init__(layer, name=name, trainable=trainable)
        layer.op = op
        layer._extras = {}
        layer.branches = []
        layer._setup_state()
        return layer

    # ---- building -------------------------------------------------------------
    def build(self, input_shape) -> None:
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        self._weight_shapes = {k: tuple(v) for k, v in self.op.weight_shapes([tuple(s) for s in shapes]).items()}
        if stateful.is_stateful(self.op):  # the batch_input_shape fixes the batch size of the carried states
            batch = tuple(shapes[0])[1 if self.op.time_major else 0]
            self._stateful_batch = batch if isinstance(batch, int) else None
        self._ir_weights = {name: self._initial_value(name, shape) for name, shape in self._weight_shapes.items()}
        self.built = True

    def _initial_value(self, weight: str, shape: tuple) -> np.ndarray:
        init = None
        for key in initializers.keyword_for(weight):
            if self._extras.get(key) is not None:
                init = initializers.get(self._extras[key])
                break
        if init is None:
            default = initializers.DEFAULTS.get(weight, "glorot_uniform" if len(shape) >= 2 else "zeros")
            init = initializers.get(default)
        return np.asarray(init(shape, "float32"), dtype=np.float32).reshape(shape)

    def compute_output_shape(self, input_shape):
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        outs = [tuple(s) for s in self.op.output_shapes([tuple(s) for s in shapes])]
        return outs[0] if len(outs) == 1 else outs

    # ---- weights ------------------------------------------------------------------
    def _weight_dict(self) -> dict[str, np.ndarray]:
        if self._primary is None:
            return {k: v.copy() for k, v in self._ir_weights.items()}
        from kport.exporters.torch.state_dict import from_state_dict

        module, graph, _ = self._primary
        state = {k: v.detach().cpu().numpy() for k, v in module.state_dict().items()}
        return {k: v.copy() for k, v in from_state_dict(graph, state).layers[self.name].weights.items()}

    def _set_weight_dict(self, weights: dict[str, np.ndarray]) -> None:
        self._ir_weights = {k: np.asarray(v, dtype=np.float32).copy() for k, v in weights.items()}
        if self._primary is not None:
            import torch

            from kport.exporters.torch.state_dict import to_state_dict

            module, graph, _ = self._primary
            graph.layers[self.name].weights = self._ir_weights
            state = to_state_dict(graph)
            with torch.no_grad():
                for key, tensor in module.state_dict().items():
                    tensor.copy_(torch.from_numpy(np.ascontiguousarray(state[key])))

    @property
    def weights(self) -> list:
        return [WeightRef(self, name) for name in self._weight_shapes]

    @property
    def trainable_weights(self) -> list:
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list:
        return [w for w in self.weights if not w.trainable]

    def get_weights(self) -> list[np.ndarray]:
        weights = self._weight_dict()
        return [weights[name] for name in self._weight_shapes]

    def set_weights(self, weights: list) -> None:
        if len(weights) != len(self._weight_shapes):
            raise ValueError(f"layer {self.name} expects {len(self._weight_shapes)} weights "
                             f"({', '.join(self._weight_shapes)}), got {len(weights)}")
        new = {}
        for (name, shape), value in zip(self._weight_shapes.items(), weights):
            value = np.asarray(value, dtype=np.float32)
            if value.shape != shape:
                raise ValueError(f"layer {self.name}: weight '{name}' has shape {shape}, got {value.shape}")
            new[name] = value
        self._set_weight_dict(new)

    def count_params(self) -> int:
        return int(sum(int(np.prod(s)) for s in self._weight_shapes.values()))

    def __getattr__(self, item: str):
        shapes = self.__dict__.get("_weight_shapes") or {}
        if item in shapes:
            return WeightRef(self, item)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {item!r}")

    # ---- torch ---------------------------------------------------------------------
    def _module_for(self, in_shapes: list[tuple], dtypes: list[str] | None = None, call: dict | None = None,
                    op: Op | None = None):
        """The torch module for these input shapes and call; `op`: a variant of the layer's op (same weights)."""
        dtypes = dtypes or ["float32"] * len(in_shapes)
        key = (tuple(tuple(s[1:]) for s in in_shapes), tuple(dtypes), repr(sorted((call or {}).items())), op is None)
        module = self._modules.get(key)
        if module is None:
            module = self._compile(in_shapes, dtypes, call or {}, op or self.op)
            self._modules[key] = module
        return module

    def _compile(self, in_shapes: list[tuple], dtypes: list[str], call: dict, op: Op):
        from kport.exporters.torch.codegen import emit
        from kport.runtime.torch_backend import build_module

        from kport.errors import ExportError, UnsupportedLayerError

        graph = self._one_node_graph(in_shapes, dtypes, call, op)
        try:
            module = build_module(graph)
        except ExportError as err:
            raise UnsupportedLayerError(f"kport.keras cannot run {self.op.kind} yet: {err}", layer=self.name,
                                        hint="the op needs a PyTorch hook (to_torch) in kport/ops/") from err
        from kport.keras.engine import devices

        module.to(devices.of(self))
        if self._primary is None:
            params: dict[str, list] = {}
            for sub in emit(graph).submodules:
                for pname, spec in sub.params.items():
                    if spec.keras_name is not None:
                        params.setdefault(spec.keras_name, []).append((f"{sub.attr}.{pname}", spec))
            self._primary = (module, graph, params)
            self._attach_constraints()
        else:
            _tie(module, self._primary[0])
        return module

    def _one_node_graph(self, in_shapes: list[tuple], dtypes: list[str], call: dict, op: Op):
        from kport.ir.graph import Graph, Layer as IRLayer, Node, TensorSpec

        graph = Graph(name=self.name)
        shapes = [(None,) + tuple(s[1:]) for s in in_shapes]
        for i, (shape, dtype) in enumerate(zip(shapes, dtypes)):
            spec = TensorSpec(f"input_{i}", shape, dtype)
            graph.inputs.append(spec)
            graph.tensors[spec.name] = spec
        outs = op.output_shapes(shapes)
        names = [f"output_{j}" for j in range(len(outs))]
        for name, shape in zip(names, outs):
            graph.tensors[name] = TensorSpec(name, tuple(shape))
        weights = self._weight_dict() if self._primary is not None else self._ir_weights
        graph.layers[self.name] = IRLayer(self.name, op, weights, self.trainable)
        graph.nodes.append(Node(self.name, [s.name for s in graph.inputs], names, dict(call)))
        graph.outputs = names
        return graph

    def to(self, device) -> "OpLayer":
        """Moves the layer's torch modules (parameters and buffers) to `device` and pins it there."""
        from kport.keras.engine import devices

        self._device = devices.check(device)
        for module in self._modules.values():
            module.to(self._device)  # parameters keep their identity (the optimizer's slots are keyed by it)
        if self._states is not None:
            self._states = [s.to(self._device) for s in self._states]
        return self

    @property
    def stateful(self) -> bool:
        """Whether the layer carries its states across batches (a recurrent layer with stateful=True)."""
        return stateful.is_stateful(self.op)

    def reset_states(self, states=None) -> None:
        """Zeroes a stateful recurrent layer's carried states (or sets them to `states`, numpy, one per state)."""
        stateful.reset(self, states)

    def torch_parameters(self) -> list:
        if not self.trainable or self._primary is None:
            return []
        module, _, params = self._primary
        named = dict(module.named_parameters())
        out = []
        for weight, entries in params.items():
            if weight in self.op.non_trainable_weights:
                continue
            out.extend(named[key] for key, spec in entries if key in named)
        return out

    def _extra_for(self, weight: str, what: str):
        """The `<weight>_initializer/_regularizer/_constraint` argument given for a weight, or None."""
        for key in initializers.keyword_for(weight):
            value = self._extras.get(key.replace("_initializer", f"_{what}"))
            if value is not None:
                return value
        return None

    def optimizer_params(self) -> list:
        """(torch parameter, layout) per trainable Keras weight, in Keras order (optimizer state files).

        A second torch parameter summed into one Keras weight (`extra`) has no Keras slot and is left out.
        """
        if not self.trainable or self._primary is None:
            return []
        module, _, params = self._primary
        named = dict(module.named_parameters())
        out = []
        for weight in self._weight_shapes:
            if weight in self.op.non_trainable_weights:
                continue
            out.extend((named[key], spec.layout) for key, spec in params.get(weight, [])
                       if key in named and not spec.extra)
        return out

    def regularized_parameters(self) -> list[tuple[Any, Any]]:
        """(regularizer, torch parameter) pairs; l1/l2 sums do not depend on the layout."""
        if self._primary is None:
            return []
        cached = self.__dict__.get("_regularized")
        if cached is not None and cached[0] is self._primary:  # asked at every training step
            return cached[1]
        pairs = self._find_regularized()
        self._regularized = (self._primary, pairs)
        return pairs

    def _find_regularized(self) -> list[tuple[Any, Any]]:
        module, _, params = self._primary
        named = dict(module.named_parameters())
        out = []
        for weight, entries in params.items():
            reg = regularizers.get(self._extra_for(weight, "regularizer"))
            if reg is not None:
                out.extend((reg, named[key]) for key, spec in entries if key in named and not spec.extra)
        return out

    def _attach_constraints(self) -> None:
        """Gives constrained torch parameters a `constraint` the optimizer applies after each update."""
        from kport.exporters.torch.layouts import Perm, Same
        from kport.keras import constraints

        module, _, params = self._primary
        named = dict(module.named_parameters())
        for weight, entries in params.items():
            constraint = constraints.get(self._extra_for(weight, "constraint"))
            if constraint is None:
                continue
            for key, spec in entries:
                if key not in named:
                    continue
                if isinstance(spec.layout, Same):
                    axes = None
                elif isinstance(spec.layout, Perm):
                    axes = tuple(int(a) for a in np.argsort(spec.layout.axes))
                else:
                    raise NotImplementedError(f"layer {self.name}: a constraint on '{weight}' needs a Keras view of "
                                              f"its torch layout {type(spec.layout).__name__}")
                named[key].constraint = constraints.InLayout(constraint, axes)

    @property
    def losses(self) -> list:
        out = [loss() if callable(loss) else loss for loss in self._losses]
        if self.trainable:
            out.extend(reg(p) for reg, p in self.regularized_parameters())
        return out

    def ensure_compiled(self, in_shapes: list[tuple]) -> None:
        """Builds the torch module now (the optimizer needs the parameters before the first step)."""
        if not training_behaviors.is_training_only(self.op):
            self._module_for(in_shapes)

    def _symbolic_output_shapes(self, shapes, kwarg_shapes):
        # ops see every node input, keyword tensors included, as in an imported graph
        outs = [tuple(s) for s in self.op.output_shapes([tuple(s) for s in shapes + kwarg_shapes])]
        return outs[0] if len(outs) == 1 else outs

    def run_node(self, xs: list, node, training: bool, mask=None) -> list:
        out = self._run(list(xs), bool(training if node.kwargs.get("training") is None else node.kwargs["training"]),
                        node.call_record(), mask)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def call(self, inputs, training=None, mask=None, **tensor_kwargs):
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        call = {}
        for key, value in tensor_kwargs.items():
            flat = list(value) if isinstance(value, (list, tuple)) else [value]
            call[f"tensor:{key}"] = list(range(len(xs), len(xs) + len(flat)))
            xs.extend(flat)
        return self._run(xs, bool(training), call, mask)

    def _run(self, xs: list, training: bool, call: dict, mask=None):
        if training_behaviors.is_training_only(self.op):
            return training_behaviors.run(self.op, xs[0], training, self)
        call = dict(call)
        if mask is not None and getattr(self.op, "accepts_mask", False) and "tensor:mask" not in call:
            if isinstance(mask, list):  # one per input: each distinct mask joins once, as the importer adds them
                present = list({id(m): m for m in mask if m is not None}.values())
                call["tensor:mask"] = [None if m is None else len(xs) + [id(p) for p in present].index(id(m))
                                       for m in mask]
                xs = xs + present
            else:
                call["tensor:mask"] = [len(xs)]  # the mask joins as the last input, as the importer adds it
                xs = xs + [mask]
        # hooks give train-mode behaviour through module.training (BatchNormalization's batch statistics);
        # a frozen layer runs in inference mode, as in tf.keras 2
        mode = training and self.trainable

        def compiled(inputs: list, record: dict, op: Op | None = None):
            module = data_parallel.replica(self._module_for([(None,) + tuple(x.shape[1:]) for x in inputs],
                                                            [_dtype_name(x) for x in inputs], record, op))
            if module.training != mode:
                module.train(mode)
            return module

        masks = {p for p in call.get("tensor:mask", []) if p is not None}
        if stateful.is_stateful(self.op) and len(xs) - len(masks) == 1:  # no initial state given: carry ours
            carrying = self.__dict__.get("_carrying_op")
            if carrying is None or carrying[0] is not self.op:
                carrying = self._carrying_op = (self.op, stateful.carrying_op(self.op))
            return stateful.run(self, xs, call, lambda inputs, record: compiled(inputs, record, carrying[1]))
        out = compiled(xs, call)(*xs)
        return list(out) if isinstance(out, tuple) else out

    # ---- config ---------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        for key, value in self.op.keras_config("tf.keras").items():
            if key in ("activation", "recurrent_activation") and isinstance(value, str):
                value = activation_fns.keras_name(value)
            config[key] = list(value) if isinstance(value, tuple) else value
        for key, value in self._extras.items():
            if isinstance(value, (str, int, float)) or value is None:
                config[key] = value
        return config

    @classmethod
    def from_config(cls, config: dict) -> "OpLayer":
        return cls(**config)


def _dtype_name(x) -> str:
    return str(x.dtype).replace("torch.", "")


def build_op(op_class: type[Op], class_name: str, kwargs: dict, name: str) -> tuple[Op, dict]:
    """Turns Keras constructor keywords (any era's spelling) into an op and its engine extras.

    Returns:
        (op, extras): extras are the initializers, regularizers and constraints by keyword.

    Raises:
        TypeError: a keyword the layer does not understand (as Keras does).
    """
    from kport.importers.keras1_legacy import normalize_layer

    ctx = ImportContext(layer=name, keras_major=2, flavor="tf.keras")
    config = {k: _activation_name(v) if k in ("activation", "recurrent_activation") else _layer_spec(v)
              for k, v in kwargs.items()}
    _, config = normalize_layer(class_name, dict(config), ctx)
    extras = {k: config.pop(k) for k in list(config)
              if k.endswith(("_initializer", "_regularizer", "_constraint"))}
    unknown = [k for k in config if k not in _known_keywords()]
    if unknown:
        raise TypeError(f"{class_name}: keyword argument not understood: {unknown[0]!r}")
    with stateful.engine_runs_states():
        return op_class.from_keras(config, ctx), extras


@functools.lru_cache(maxsize=1)
def _known_keywords() -> frozenset:
    return frozenset(signatures.known_keywords())


def _layer_spec(value: Any) -> Any:
    """Wrapped layers (Bidirectional(LSTM(...)), TimeDistributed(Dense(...))) as Keras config dicts."""
    if isinstance(value, OpLayer):
        return {"class_name": value.keras_class or value.op.kind, "config": value.get_config()}
    return value


def _activation_name(value: Any) -> Any:
    """Keras accepts activation functions too (`activation=keras.activations.relu`)."""
    if callable(value):
        name = getattr(value, "__name__", None)
        if name in activation_fns.NUMPY or name in activation_fns.ALIASES:
            return name
        raise TypeError(f"activation {value!r} is not a built-in Keras activation; "
                        "use an Activation-free layer followed by a custom Layer")
    return value


def _tie(module, primary) -> None:
    """Makes `module` use the very parameters of `primary` (a shared layer called on another shape)."""
    for key, param in primary.named_parameters():
        owner_path, _, attr = key.rpartition(".")
        owner = module.get_submodule(owner_path) if owner_path else module
        setattr(owner, attr, param)
