"""`Model`: a functional graph (or a subclass with `call`): layers, weights, calling, persistence.

The training entry points (compile, fit, evaluate, predict, *_on_batch) come
from `engine/trainer.py`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from kport.keras.engine.base_layer import Layer
from kport.keras.engine.network import Network
from kport.keras.engine.trainer import Trainer


class Model(Network, Trainer, Layer):
    """A Keras model: `Model(inputs, outputs)` or a subclass defining `call`."""

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", kwargs.pop("input", args[0] if len(args) > 0 else None))
        outputs = kwargs.pop("outputs", kwargs.pop("output", args[1] if len(args) > 1 else None))
        name = kwargs.pop("name", None)
        Layer.__init__(self, name=name, **{k: v for k, v in kwargs.items() if k in ("trainable", "dtype")})
        self._is_graph_network = False
        self._tracked: list[Layer] = []
        self.optimizer = None
        self.compiled_loss = None
        self.stop_training = False
        self.history = None
        self._metric_entries: list = []
        if inputs is not None and outputs is not None:
            self._init_graph(inputs, outputs)

    # ---- layers -------------------------------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # tf.keras 2: freezing a model freezes every layer in it
        self.__dict__["_trainable"] = bool(value)
        if "_tracked" in self.__dict__:
            for layer in self.layers:
                layer.trainable = bool(value)

    def __setattr__(self, key: str, value: Any) -> None:
        # subclassed models own the layers assigned to them, as in Keras
        if isinstance(value, Layer) and "_tracked" in self.__dict__:
            if value not in self._tracked:
                self._tracked.append(value)
        super().__setattr__(key, value)

    @property
    def layers(self) -> list[Layer]:
        if self._is_graph_network:
            return list(self._graph_layers)
        return list(self._tracked)

    def all_layers(self) -> list[Layer]:
        """Every layer, nested models expanded, input layers left out; each once."""
        from kport.keras.engine.input_layer import InputLayer

        out: list[Layer] = []
        for layer in self.layers:
            if isinstance(layer, InputLayer):
                continue
            inner = layer.all_layers() if isinstance(layer, Model) else [layer]
            out.extend(x for x in inner if x not in out)
        return out

    def _weight_owners(self) -> list[Layer]:
        """Layers in the order their weights are listed (nested models count as one)."""
        from kport.keras.engine.input_layer import InputLayer

        return [layer for layer in self.layers if not isinstance(layer, InputLayer)]

    @property
    def weights(self) -> list:
        out = [w for layer in self._weight_owners() for w in layer.weights]
        return out + list(self._trainable_weights) + list(self._non_trainable_weights)

    @property
    def trainable_weights(self) -> list:
        if not self.trainable:
            return []
        return [w for layer in self._weight_owners() for w in layer.trainable_weights] + list(self._trainable_weights)

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        return [w for layer in self._weight_owners() for w in layer.non_trainable_weights]

    def to(self, device) -> "Model":
        """Moves the model (every layer's parameters and buffers, its optimizer's slots) to `device` and pins it.

        Batches then go to that device; predictions and History stay numpy / Python floats.
        Returns the model (like `torch.nn.Module.to`).
        """
        from kport.keras.engine import devices
        from kport.keras.engine.input_layer import InputLayer

        target = devices.check(device)
        self._device = target
        for layer in self.layers:
            if not isinstance(layer, InputLayer):
                layer.to(target)
        for p in self._own_weights():
            devices.move_parameter(p, target)
        if self.optimizer is not None:
            self.optimizer.to(target)
        return self

    def reset_states(self) -> None:
        """Zeroes the carried states of every stateful layer (recurrent layers with stateful=True)."""
        for layer in self.all_layers():
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    def _own_weights(self) -> list:
        """Weights the model itself created with add_weight (subclassed models)."""
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    def get_weights(self) -> list[np.ndarray]:
        out = [w for layer in self._weight_owners() for w in layer.get_weights()]
        return out + [p.detach().cpu().numpy().copy() for p in self._own_weights()]

    def set_weights(self, weights: list) -> None:
        from kport.keras import backend as K

        weights = list(weights)
        for layer in self._weight_owners():
            n = len(layer.weights)
            layer.set_weights(weights[:n])
            weights = weights[n:]
        own = self._own_weights()
        if len(weights) != len(own):
            raise ValueError(f"model {self.name}: {len(weights)} weights left over for {len(own)} own weights")
        for p, w in zip(own, weights):
            K.set_value(p, w)

    def count_params(self) -> int:
        own = sum(int(np.prod(p.shape)) for p in self._own_weights())
        return sum(layer.count_params() for layer in self._weight_owners()) + own

    def torch_parameters(self) -> list:
        if not self.trainable:
            return []
        out, seen = [], set()
        for layer in self._weight_owners():
            for p in layer.torch_parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
        out.extend(p for p in self._own_weights() if getattr(p, "requires_grad", False) and id(p) not in seen)
        return out

    def optimizer_params(self) -> list:
        if not self.trainable:
            return []
        from kport.exporters.torch.layouts import SAME

        out = [pair for layer in self._weight_owners() for pair in layer.optimizer_params()]
        return out + [(p, SAME) for p in self._own_weights() if getattr(p, "requires_grad", False)]

    @property
    def losses(self) -> list:
        out = [loss() if callable(loss) else loss for loss in self._losses]
        for layer in self._weight_owners():
            out.extend(layer.losses)
        return out

    def _clear_call_losses(self) -> None:
        Layer._clear_call_losses(self)
        for layer in self._weight_owners():
            layer._clear_call_losses()

    # ---- calling ---------------------------------------------------------------------------
    def call(self, inputs, training=None, mask=None):
        if not self._is_graph_network:
            raise NotImplementedError("a subclassed Model must define call()")
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        outs = self.run_graph(xs, bool(training))
        return outs[0] if len(outs) == 1 else outs

    def compute_output_shape(self, input_shape):
        if self._is_graph_network:
            shapes = [t.shape for t in self.outputs]
            return shapes[0] if len(shapes) == 1 else shapes
        return Layer.compute_output_shape(self, input_shape)

    def _forward(self, xs: list, training: bool) -> list:
        from kport.keras import backend as K

        previous = K._LEARNING_PHASE
        K.set_learning_phase(1 if training else 0)
        try:
            if self._is_graph_network:
                return self.run_graph(xs, training)
            out = self._call_eager(xs[0] if len(xs) == 1 else xs, {"training": training})
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            self._n_outputs = len(outs)
            return outs
        finally:
            K.set_learning_phase(previous)

    def _ensure_built(self, xs: list[np.ndarray]) -> None:
        """Builds a deferred model (Sequential without input shape) from the first data."""
        if not self.built:
            shapes = [(None,) + tuple(np.shape(x)[1:]) for x in xs]
            self.build(shapes[0] if len(shapes) == 1 else shapes)

    @property
    def _input_names(self) -> list[str]:
        return self.input_names if self._is_graph_network else ["input_1"]

    @property
    def _output_names(self) -> list[str]:
        if self._is_graph_network:
            return self.output_names
        # a subclassed model's outputs are known after its first call
        return [f"output_{i + 1}" for i in range(getattr(self, "_n_outputs", None) or 1)]

    # ---- persistence and inspection ---------------------------------------------------------------
    def summary(self, line_length=None, positions=None, print_fn=None):
        from kport.keras.engine.summary import print_summary

        print_summary(self, line_length, positions, print_fn)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None, **kwargs):
        """Writes the whole model: `.keras` as Keras 3 writes it, anything else as a tf.keras `.h5`."""
        from kport.keras.engine import saving

        saving.save_model(self, filepath, save_format=save_format, include_optimizer=include_optimizer)

    def save_weights(self, filepath, overwrite=True, save_format=None):
        from kport.keras.engine import saving

        saving.save_weights(self, filepath)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        from kport.keras.engine import saving

        saving.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs) -> str:
        from kport.keras.engine import saving

        return saving.to_json(self, **kwargs)

    def to_ir(self):
        """The model as a kport IR graph (weights included): convert it with kport.convert/kport.save."""
        from kport.keras.engine.ir_export import to_graph

        return to_graph(self)

    def get_config(self) -> dict:
        from kport.keras.engine.saving import model_config

        return model_config(self)["config"]

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "Model":
        """A freshly initialized model from `get_config()` (a Sequential's layer list or a Functional config)."""
        from kport.keras.engine.saving import model_from_config

        class_name = "Sequential" if cls.__name__ == "Sequential" or "input_layers" not in config else "Functional"
        return model_from_config({"class_name": class_name, "config": config})
