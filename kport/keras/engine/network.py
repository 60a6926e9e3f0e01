"""The graph side of `Model`: nodes between inputs and outputs, run in topological order."""
from __future__ import annotations

from kport.keras.engine import masking
from kport.keras.engine.base_layer import Layer
from kport.keras.engine.input_layer import InputLayer
from kport.keras.engine.tensor import KerasTensor, Node, flatten


def collect_nodes(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Node]:
    """Returns the nodes between `inputs` and `outputs` in topological order.

    Raises:
        ValueError: an output depends on an input that is not among `inputs` ("graph disconnected").
    """
    input_ids = {id(t) for t in inputs}
    ordered: list[Node] = []
    seen: set[int] = set()

    def visit(tensor: KerasTensor) -> None:
        if id(tensor) in input_ids:
            return
        if tensor.keras_history is None:
            raise ValueError(f"{tensor} was not produced by a Keras layer")
        node = tensor.node
        if node.is_input:
            raise ValueError(f"Graph disconnected: cannot reach {tensor.name} from the model inputs "
                             f"{[t.name for t in inputs]}")
        if id(node) in seen:
            return
        for x in node.inputs:
            visit(x)
        seen.add(id(node))
        ordered.append(node)

    for t in outputs:
        visit(t)
    return ordered


def keras_layer_order(inputs: list[KerasTensor], outputs: list[KerasTensor], layers: list[Layer]) -> list[Layer]:
    """`layers` in tf.keras's `model.layers` order: by decreasing node depth, ties by first visit from the outputs.

    Weight files list layers in this order, so branchy models (ResNet shortcuts, Inception branches) need it
    to load Keras weights by position. Returns `layers` unchanged if the walk finds another set of layers.
    """
    from kport.exporters.keras.layer_order import keras_rank

    input_ids = {id(t) for t in inputs}
    nodes: dict[int, Node] = {}

    def key(node: Node) -> int:
        nodes[id(node)] = node
        return id(node)

    def parents(k: int) -> list[int]:
        node = nodes[k]
        if any(id(t) in input_ids for t in node.outputs):  # a model input: the walk stops there
            return []
        return [key(x.node) for x in node.inputs]

    rank = keras_rank([key(t.node) for t in outputs], parents, lambda k: id(nodes[k].layer))
    if set(rank) != {id(layer) for layer in layers}:
        return layers
    return sorted(layers, key=lambda layer: rank[id(layer)])


class Network:
    """Graph bookkeeping shared by functional and Sequential models (a mixin of Model)."""

    def _init_graph(self, inputs, outputs) -> None:
        self._nested_inputs = inputs
        self._nested_outputs = outputs
        self.inputs: list[KerasTensor] = flatten(inputs)
        self.outputs: list[KerasTensor] = flatten(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model inputs and outputs must be symbolic tensors (from Input or a layer), "
                                f"got {type(t).__name__}")
        self._nodes = collect_nodes(self.inputs, self.outputs)
        layers: list[Layer] = []
        for t in self.inputs:
            layer = t.keras_history[0]
            if layer not in layers:
                layers.append(layer)
        for node in self._nodes:
            if node.layer not in layers:
                layers.append(node.layer)
        self._graph_layers = keras_layer_order(self.inputs, self.outputs, layers)
        self.built = True
        self._is_graph_network = True

    # ---- Keras properties --------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        return list(self._graph_layers)

    @property
    def input(self):
        return self.inputs[0] if len(self.inputs) == 1 else list(self.inputs)

    @property
    def output(self):
        return self.outputs[0] if len(self.outputs) == 1 else list(self.outputs)

    @property
    def input_names(self) -> list[str]:
        return [t.keras_history[0].name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.keras_history[0].name for t in self.outputs]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """Finds a layer by name or by index in `model.layers`."""
        if index is not None:
            if index >= len(self.layers):
                raise ValueError(f"index {index} is out of range: the model has {len(self.layers)} layers")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}")

    # ---- running ------------------------------------------------------------------------
    def run_graph(self, xs: list, training: bool) -> list:
        """Computes the outputs from torch input tensors."""
        return self.run_graph_masked(xs, training)[0]

    def run_graph_masked(self, xs: list, training: bool, in_masks: list | None = None) -> tuple[list, list]:
        """Computes the outputs and their implicit Keras masks (None where unmasked)."""
        values = {id(t): x for t, x in zip(self.inputs, xs)}
        masks = {id(t): m for t, m in zip(self.inputs, in_masks or [])}
        for node in self._nodes:
            args = [values[id(t)] for t in node.inputs]
            main_masks = [masks.get(id(t)) for t in node.main_inputs]
            layer = node.layer
            if getattr(layer, "_is_graph_network", False):  # a nested model takes and gives masks
                fixed = node.kwargs.get("training")
                outs, out_masks = layer.run_graph_masked(args[:node.n_main], training if fixed is None else fixed,
                                                         main_masks)
            else:
                op = getattr(layer, "op", None)
                consumed = None
                if op is not None and "mask" not in node.tensor_kwargs:
                    consumed = masking.consumed_mask(op, main_masks)
                outs = layer.run_node(args, node, training, consumed)
                first = masking.output_mask(op, args[:node.n_main], main_masks) if op is not None else None
                out_masks = [first] + [None] * (len(outs) - 1)
            for t, o, m in zip(node.outputs, outs, out_masks):
                values[id(t)] = o
                if m is not None:
                    masks[id(t)] = m
        return [values[id(t)] for t in self.outputs], [masks.get(id(t)) for t in self.outputs]

    def compile_modules(self) -> None:
        """Creates every op layer's torch module from the recorded input shapes."""
        for node in self._nodes:
            layer = node.layer
            if hasattr(layer, "ensure_compiled"):
                layer.ensure_compiled([t.shape for t in node.inputs])
            elif hasattr(layer, "compile_modules"):
                layer.compile_modules()

    def all_layers(self) -> list[Layer]:
        """Every layer, nested models expanded, without input layers; each once."""
        out: list[Layer] = []
        for layer in self.layers:
            if isinstance(layer, InputLayer):
                continue
            inner = layer.all_layers() if hasattr(layer, "all_layers") and getattr(layer, "_is_graph_network",
                                                                                  False) else [layer]
            out.extend(x for x in inner if x not in out)
        return out
