"""Keras model configs (every era's spelling) -> IR graph structure, and weight binding.

The format readers (HDF5, .keras zip, JSON) hand over the parsed
`{class_name, config}` dict and per-layer weight lists; this module turns them
into nodes, infers shapes and binds weights. Nested models are flattened:
their layers join the graph with `scope` recording where they sat, and their
input/output tensors alias the outer tensors.
"""
from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable

import numpy as np

from kport.errors import FormatError, KportError, ShapeError, UnsupportedLayerError, WeightError
from kport.importers import nested_weights
from kport.ir.graph import Graph, Layer, Node, SourceInfo, TensorSpec
from kport.ops.base import ImportContext
from kport.ops.registry import op_for_keras_class

MODEL_CLASSES = {"Sequential", "Functional", "Model"}
INPUT_CLASSES = {"InputLayer"}

# hooks that rewrite a raw layer config before ops see it (legacy spellings register here)
CONFIG_NORMALIZERS: list[Callable[[str, dict, ImportContext], tuple[str, dict]]] = []
# hooks that rewrite a whole `{class_name, config}` model dict before building (Keras 1 Merge-headed Sequential)
MODEL_NORMALIZERS: list[Callable[[dict, ImportContext], dict]] = []
# hooks that build a layer call as several nodes (trusted Lambda layers): class name ->
# f(builder, layer_cfg, scope, xs, call) -> output tensor names, or None to build it as one node
CALL_EXPANDERS: dict[str, Callable[..., list[str] | None]] = {}
# hooks that turn one layer's saved `(name, array)` list into the canonical layout:
# f(graph, layer, items, in_shapes) -> items (Keras 1 layouts, Theano kernel flips)
WEIGHT_NORMALIZERS: list[Callable[..., list]] = []


def tensor_name(layer: str, node_index: int, tensor_index: int) -> str:
    """The IR name of a layer call's output: the layer name for its first call."""
    if node_index == 0 and tensor_index == 0:
        return layer
    return f"{layer}:{node_index}:{tensor_index}"


def unwrap_dtype(dtype: Any) -> str:
    """Returns the dtype name of a Keras 3 DTypePolicy dict or a plain string."""
    if isinstance(dtype, dict):
        cfg = dtype.get("config", {})
        name = cfg.get("name", "float32") if isinstance(cfg, dict) else "float32"
        return {"mixed_float16": "float32", "mixed_bfloat16": "float32"}.get(name, name)
    return dtype or "float32"


class GraphBuilder:
    """Builds one Graph from a top-level model config."""

    def __init__(self, source: SourceInfo, ctx: ImportContext):
        self.source = source
        self.ctx = ctx
        self.graph = Graph(source=source)
        # (layer name in its model, node index, tensor index) -> IR tensor name, per model scope
        self._calls: dict[str, int] = {}
        # scoped Keras path ('outer/inner') -> IR layer name
        self._layer_names: dict[str, str] = {}
        # top-level layer names: a nested layer of the same name gets the scoped IR name
        self._top_names: set[str] = set()

    # ---- entry --------------------------------------------------------------
    def build(self, model: dict) -> Graph:
        class_name, config = model.get("class_name"), model.get("config")
        if class_name not in MODEL_CLASSES and class_name is not None:
            # a bare layer saved as a model is not a Keras model file
            raise FormatError(f"top-level class '{class_name}' is not a Keras model", path=self.source.path,
                              hint="give a file saved with model.save() or model.to_json()")
        if isinstance(config, list):  # Keras 1 / early Keras 2 Sequential: a bare list of layers
            config = {"name": "sequential", "layers": config}
        if not isinstance(config, dict):
            raise FormatError("model config has no 'config' section", path=self.source.path,
                              hint="the file does not hold a Keras model architecture")
        self.graph.name = config.get("name") or "model"
        self.graph.kind = "Sequential" if class_name == "Sequential" else "Functional"
        self._top_names = {_layer_name(lc) for lc in config.get("layers", []) if isinstance(lc, dict)}
        outputs = self._add_model(class_name, config, (), None)
        self.graph.outputs = outputs
        from kport.importers.masks import add_implicit_masks  # masks Keras passed without recording them

        add_implicit_masks(self.graph, self.ctx)
        self._infer_shapes()
        return self.graph

    # ---- models ---------------------------------------------------------------
    def _add_model(self, class_name: str, config: dict, scope: tuple[str, ...],
                   inputs: list[str] | None) -> list[str]:
        if class_name == "Sequential" or ("layers" in config and "input_layers" not in config):
            return self._add_sequential(config, scope, inputs)
        return self._add_functional(config, scope, inputs)

    def _add_sequential(self, config: dict, scope, inputs) -> list[str]:
        layers = config.get("layers", [])
        if not layers:
            raise FormatError("Sequential model has no layers", path=self.source.path)
        first = layers[0]
        if first.get("class_name") in INPUT_CLASSES:
            layers = layers[1:]
            spec_cfg = first["config"]
            name = spec_cfg.get("name", "input")
        else:
            spec_cfg = _inner_config(first)
            name = f"{spec_cfg.get('name', 'sequential')}_input"
            if not _has_input_shape(spec_cfg):
                spec_cfg = {"batch_input_shape": config.get("build_input_shape")
                            or (config.get("build_config") or {}).get("input_shape")}
        if inputs is None:
            x = self._add_input(name, spec_cfg)
        else:
            x = inputs[0]
        for layer_cfg in layers:
            x = self._call_layer(layer_cfg, scope, [x], {})[0]
        return [x]

    def _add_functional(self, config: dict, scope, inputs) -> list[str]:
        produced: dict[tuple[str, int, int], str] = {}
        input_refs = _refs(config.get("input_layers", []))
        by_name = {lc.get("name") or lc["config"]["name"]: lc for lc in config.get("layers", [])}
        for i, (lname, n, t) in enumerate(input_refs):
            lc = by_name.get(lname)
            if lc is None:
                raise FormatError(f"input layer '{lname}' is not among the model's layers", path=self.source.path)
            if lc["class_name"] in INPUT_CLASSES:
                produced[(lname, n, t)] = (self._add_input(lname, lc["config"]) if inputs is None else inputs[i])
            elif inputs is not None:
                produced[(lname, n, t)] = inputs[i]
            else:
                raise FormatError(f"input '{lname}' is not an InputLayer", path=self.source.path)
        # create nodes as their inputs become available (Keras's own processing order)
        pending = [(lc, k + self._node_offset(lc, config), nd) for lc in config.get("layers", [])
                   if lc["class_name"] not in INPUT_CLASSES for k, nd in enumerate(lc.get("inbound_nodes") or [])]
        while pending:
            progressed = False
            rest = []
            for lc, k, nd in pending:
                lname = lc.get("name") or lc["config"]["name"]
                args, tensor_kwargs, call = _parse_inbound(nd)
                try:
                    xs = [produced[r] for r in args]
                    extra = {key: [None if r is None else produced[r] for r in refs]
                             for key, refs in tensor_kwargs.items()}
                except KeyError:
                    rest.append((lc, k, nd))
                    continue
                # tensor keyword arguments follow the positional inputs; `call` records where
                call = dict(call)
                for key, names in extra.items():
                    call[f"tensor:{key}"] = [None if n is None else len(xs) + sum(m is not None for m in names[:i])
                                             for i, n in enumerate(names)]
                    xs = xs + [n for n in names if n is not None]
                outs = self._call_layer(lc, scope, xs, call)
                for j, o in enumerate(outs):
                    produced[(lname, k, j)] = o
                progressed = True
            if not progressed:
                names = sorted({lc.get("name", "?") for lc, _, _ in rest})
                raise FormatError(f"layer inputs never become available for {names}", path=self.source.path,
                                  hint="the model config is inconsistent or truncated")
            pending = rest
        try:
            return [produced[r] for r in _refs(config.get("output_layers", []))]
        except KeyError as err:
            raise FormatError(f"model output {err.args[0]} is not produced by any layer", path=self.source.path)

    def _node_offset(self, layer_cfg: dict, config: dict) -> int:
        """Where a layer's saved inbound nodes start in the node numbering other layers use.

        tf.keras 2.x does not save node 0 of a nested model that has its own
        Input (the model's internal node) but keeps the numbering, so references
        to its calls start at 1; Keras 2 and 3 renumber from 0. The references
        decide when the flavour does not.
        """
        if layer_cfg.get("class_name") not in MODEL_CLASSES:
            return 0
        name, count = _layer_name(layer_cfg), len(layer_cfg.get("inbound_nodes") or [])
        used = {n for lc in config.get("layers", []) for nd in (lc.get("inbound_nodes") or [])
                for (lname, n, _) in _parse_inbound(nd)[0] + [r for refs in _parse_inbound(nd)[1].values()
                                                             for r in refs] if lname == name}
        used |= {n for (lname, n, _) in _refs(config.get("output_layers", [])) if lname == name}
        inner = _inner_config(layer_cfg)
        has_input = isinstance(inner, dict) and any(
            isinstance(c, dict) and c.get("class_name") in INPUT_CLASSES for c in inner.get("layers", []))
        offsets = (1, 0) if self.ctx.flavor == "tf.keras" and has_input else (0, 1)
        for off in offsets:
            if all(off <= n < off + count for n in used):
                return off
        return offsets[0]

    # ---- layers ---------------------------------------------------------------
    def _add_input(self, name: str, cfg: dict) -> str:
        shape = _input_shape(cfg)
        if shape is None:
            raise FormatError(f"input '{name}' has no shape", path=self.source.path, layer=name,
                              hint="the model was saved unbuilt; build it with an input shape and save again")
        spec = TensorSpec(name, shape, unwrap_dtype(cfg.get("dtype")))
        self.graph.inputs.append(spec)
        self.graph.tensors[name] = spec
        return name

    def _call_layer(self, layer_cfg: dict, scope, xs: list[str], call: dict) -> list[str]:
        class_name = layer_cfg.get("class_name")
        cfg = _inner_config(layer_cfg)
        name = layer_cfg.get("name") or cfg.get("name")
        if class_name in MODEL_CLASSES:
            return self._call_nested(name, class_name, cfg, scope, xs)
        expand = CALL_EXPANDERS.get(class_name)
        outs = expand(self, layer_cfg, scope, xs, call) if expand is not None else None
        if outs is not None:
            return outs
        key = "/".join(scope + (name,))
        layer_name = self._layer_names.get(key)
        if layer_name is None:
            try:
                layer_name = self._new_layer(name, class_name, cfg, scope, key)
            except UnsupportedLayerError as err:
                raise _with_custom_origin(err, layer_cfg)
        layer = self.graph.layers[layer_name]  # TF function layers take their call's arguments as attributes
        layer.op = tf_op_nodes.bind_call(layer.op, call, len(xs), self.source.path, layer_name,
                                         again=layer_name in self._calls)
        k = self._calls.get(layer_name, 0)
        self._calls[layer_name] = k + 1
        outs_n = getattr(self.graph.layers[layer_name].op, "num_outputs", lambda n: 1)(len(xs))
        outs = [tensor_name(layer_name, k, j) for j in range(outs_n)]
        self.graph.nodes.append(Node(layer_name, list(xs), outs, call))
        return outs

    def _new_layer(self, name: str, class_name: str, cfg: dict, scope, key: str) -> str:
        ctx = dataclasses.replace(self.ctx, layer=name)
        cfg = copy.deepcopy(cfg)  # one private copy: normalizers may rewrite it, the file's config stays intact
        for normalize in CONFIG_NORMALIZERS:
            class_name, cfg = normalize(class_name, cfg, ctx)
        op_cls = op_for_keras_class(class_name)
        if op_cls is None:
            raise UnsupportedLayerError(
                f"unknown layer class '{class_name}'", path=self.source.path, layer=name,
                hint="run `kport ops` for the supported layers; custom layers need an op registered in kport.ops")
        try:
            op = op_cls.from_keras(cfg, ctx)
        except KportError as err:
            raise err.with_context(path=self.source.path, layer=name)
        except (TypeError, ValueError, KeyError) as err:
            raise FormatError(f"cannot read the {class_name} config: {err}", path=self.source.path, layer=name,
                              hint="the layer config is malformed")
        taken = name in self.graph.layers or (scope and name in self._top_names)
        layer_name = "/".join(scope + (name,)) if taken else name
        self.graph.layers[layer_name] = Layer(layer_name, op, trainable=bool(cfg.get("trainable", True)),
                                              scope=tuple(scope))
        self._layer_names[key] = layer_name
        return layer_name

    def _call_nested(self, name, class_name, cfg, scope, xs) -> list[str]:
        # each call of a nested model re-emits its nodes; layers are shared by name
        return self._add_model(class_name, cfg, tuple(scope) + (name,), xs)

    # ---- shapes ---------------------------------------------------------------
    def _infer_shapes(self) -> None:
        g = self.graph
        for node in g.nodes:
            layer = g.layers[node.layer]
            in_shapes = [g.tensors[t].shape for t in node.inputs]
            try:
                out_shapes = layer.op.output_shapes(in_shapes)
            except KportError as err:
                raise err.with_context(path=self.source.path, layer=layer.name)
            except (ValueError, IndexError, TypeError) as err:
                raise ShapeError(f"cannot infer the output shape from inputs {in_shapes}: {err}",
                                 path=self.source.path, layer=layer.name)
            dtype = getattr(layer.op, "output_dtype", None) or (g.tensors[node.inputs[0]].dtype if node.inputs
                                                                  else "float32")
            for t, s in zip(node.outputs, out_shapes):
                g.tensors[t] = TensorSpec(t, tuple(s), dtype)


def build_graph(model: dict, source: SourceInfo, ctx: ImportContext) -> Graph:
    """Builds the IR structure (no weights yet) from a `{class_name, config}` dict."""
    for normalize in MODEL_NORMALIZERS:
        model = normalize(model, ctx)
    return GraphBuilder(source, ctx).build(model)


# ---- weights -------------------------------------------------------------------
def bind_weights(graph: Graph, groups: dict[str, list[tuple[str, np.ndarray]]], *, strict: bool = True) -> None:
    """Binds per-group weight lists (as saved files list them) onto the graph's layers.

    Args:
        graph: the IR, with layers but no weights yet.
        groups: weights by top-level layer name; a nested model's group holds all of
            its layers' weights, their names saying which layer they belong to.
        strict: raise when a layer that needs weights gets none.

    Raises:
        WeightError: missing, extra or mis-shaped weights, naming the layer.
    """
    leaves = {layer.name: layer for layer in graph.layers.values()}
    scoped: dict[str, list[Layer]] = {}
    for layer in graph.layers.values():
        if layer.scope:
            scoped.setdefault(layer.scope[0], []).append(layer)
    per_layer: dict[str, list[tuple[str, np.ndarray]]] = {}
    for gname, items in groups.items():
        if gname in leaves and not leaves[gname].scope:
            per_layer.setdefault(gname, []).extend(items)
        elif gname in scoped:
            for owner, owned in nested_weights.split(graph, gname, scoped[gname], items).items():
                per_layer.setdefault(owner, []).extend(owned)
        elif items and keras1_legacy.split_by_layer_prefix(items, leaves, per_layer):
            continue  # Keras 1 group of a nested model: `dense_1_W` names its layer
        elif items:
            raise WeightError(f"the weights file has weights for '{gname}', which the model does not have",
                              path=graph.source.path, layer=gname,
                              hint="the architecture and the weights come from different models")
    for layer in graph.layers.values():
        assign_layer_weights(graph, layer, per_layer.get(layer.name, []), strict=strict)


def assign_layer_weights(graph: Graph, layer: Layer, items: list[tuple[str, np.ndarray]], *,
                         strict: bool = True) -> None:
    """Puts one layer's saved weights into canonical names, checking count and shapes."""
    node = next((n for n in graph.nodes if n.layer == layer.name), None)
    in_shapes = [graph.tensors[t].shape for t in node.inputs] if node else []
    expected = layer.op.weight_shapes(in_shapes) if node else {}
    for normalize in WEIGHT_NORMALIZERS:
        items = normalize(graph, layer, items, in_shapes)
    if hasattr(layer.op, "load_weights"):
        items = layer.op.load_weights(items, in_shapes)
    if not expected:
        if items and strict:
            raise WeightError(f"has {len(items)} saved weight(s) but {layer.op.kind} takes none",
                              path=graph.source.path, layer=layer.name)
        return
    if not items:
        if strict:
            raise WeightError(f"weights are missing (expected {', '.join(expected)})", path=graph.source.path,
                              layer=layer.name, hint="give the weights file with --weights, or a full model file")
        return
    if len(items) != len(expected):
        raise WeightError(f"expected {len(expected)} weights ({', '.join(expected)}), the file has {len(items)}",
                          path=graph.source.path, layer=layer.name,
                          hint="the architecture and the weights come from different models")
    short = [_var_name(n) for n, _ in items]
    if set(short) == set(expected) and len(set(short)) == len(short):
        ordered = dict(zip(short, (a for _, a in items)))
        arrays = [ordered[k] for k in expected]
    else:
        arrays = [a for _, a in items]
    weights = {}
    for (key, shape), arr in zip(expected.items(), arrays):
        arr = np.asarray(arr)
        if not _shape_fits(shape, arr.shape):
            raise WeightError(f"weight '{key}' has shape {arr.shape}, expected {tuple(shape)}",
                              path=graph.source.path, layer=layer.name,
                              hint="the architecture and the weights come from different models")
        weights[key] = arr
    layer.weights = weights


def _shape_fits(expected, actual) -> bool:
    return len(expected) == len(actual) and all(e is None or e == a for e, a in zip(expected, actual))


def _var_name(weight_name: str) -> str:
    return weight_name.split("/")[-1].split(":")[0]


# ---- config helpers --------------------------------------------------------------
def _with_custom_origin(err: UnsupportedLayerError, layer_cfg: dict) -> UnsupportedLayerError:
    """Names the package of a custom layer (Keras 3 and tf.keras 2.13+ record module and registered name)."""
    module = str(layer_cfg.get("module") or "")
    origin = layer_cfg.get("registered_name") or module
    if origin and not module.startswith(("keras", "tf_keras", "tensorflow")):
        err.message += f" (a custom layer from '{origin}')"
        err.args = (err.format(),)
    return err


def _layer_name(layer_cfg: dict) -> str | None:
    cfg = layer_cfg.get("config")
    return layer_cfg.get("name") or (cfg.get("name") if isinstance(cfg, dict) else None)


def _inner_config(layer_cfg: dict) -> dict:
    cfg = layer_cfg.get("config", {})
    if not isinstance(cfg, dict):
        raise FormatError(f"layer config of '{layer_cfg.get('class_name')}' is not a mapping")
    return cfg


def _has_input_shape(cfg: dict) -> bool:
    return any(k in cfg for k in ("batch_input_shape", "batch_shape", "input_shape", "input_dim"))


def _input_shape(cfg: dict):
    if cfg.get("batch_shape") is not None:
        shape = cfg["batch_shape"]
    elif cfg.get("batch_input_shape") is not None:
        shape = cfg["batch_input_shape"]
    elif cfg.get("input_shape") is not None:
        shape = [None] + list(cfg["input_shape"])
    elif cfg.get("input_dim") is not None:
        shape = [None, cfg["input_dim"]] if cfg.get("input_length") is None else [None, cfg["input_length"]]
    else:
        return None
    shape = list(shape)
    shape[0] = None  # the batch is always symbolic in the IR
    return tuple(None if d is None else int(d) for d in shape)


def _refs(spec) -> list[tuple[str, int, int]]:
    """Model input/output references in Keras's flattened order.

    A single `[name, node, tensor]`, a list of them, or (models built on dicts)
    a dict of them, which Keras flattens in sorted key order (`model.inputs`).
    """
    if not spec:
        return []
    if isinstance(spec, dict):
        return [ref for key in sorted(spec) for ref in _refs(spec[key])]
    if isinstance(spec[0], str):  # a single [name, node, tensor]
        spec = [spec]
    return [(s[0], int(s[1]), int(s[2])) for s in spec]


def _parse_inbound(node) -> tuple[list[tuple[str, int, int]], dict[str, list], dict[str, Any]]:
    """Parses one inbound node of any era.

    Returns:
        (positional tensor refs in call order, tensor keyword args as ref lists,
        the other keyword args).
    """
    refs: list[tuple[str, int, int]] = []
    tensor_kwargs: dict[str, list] = {}
    kwargs: dict[str, Any] = {}
    if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        has_scalar = False
        for a in node.get("args", []):
            before = len(refs)
            _collect_tensors(a, refs)
            has_scalar = has_scalar or len(refs) == before
        if has_scalar:  # op layers like NotEqual(x, 0.0): keep the scalars, None where a tensor went
            kwargs["positional"] = [None if _holds_tensor(a) else a for a in node.get("args", [])]
        raw = node.get("kwargs") or {}
    else:  # Keras 1/2: [[name, node, tensor, kwargs?], ...]; tf.keras TFOpLambda: bare entries, constants
        raw = {}
        first = tf_op_nodes.read_first_argument(node, refs, raw)
        if first is not None:  # a constant first argument: kept like Keras 3's scalars
            kwargs["positional"] = first
    for key, value in raw.items():
        found: list = []
        if isinstance(value, list) and None in value and _holds_tensor(value):
            # a per-input list such as mask=[None, m]: None keeps the place of an input without one
            for v in value:
                found.append(None) if v is None else _collect_tensors(v, found)
        else:
            _collect_tensors(value, found)
        if found:
            tensor_kwargs[key] = found
        else:
            kwargs[key] = value
    return refs, tensor_kwargs, kwargs


def _holds_tensor(value) -> bool:
    found: list = []
    _collect_tensors(value, found)
    return bool(found)


def _is_ref(value) -> bool:
    return (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], int) and isinstance(value[2], int))


def _collect_tensors(value, out: list) -> None:
    if _is_ref(value):  # Keras 2 keyword tensors: [layer, node, tensor]
        out.append((value[0], int(value[1]), int(value[2])))
    elif isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            h = value["config"]["keras_history"]
            out.append((h[0], int(h[1]), int(h[2])))
        else:
            for v in value.values():
                _collect_tensors(v, out)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _collect_tensors(v, out)


from kport.importers import keras1_legacy  # noqa: E402  (installs the Keras 0.x/1.x hooks above)

keras1_legacy.register()

from kport.importers import tf_op_nodes  # noqa: E402  (tf.keras TFOpLambda class names and inbound nodes)

tf_op_nodes.register()
