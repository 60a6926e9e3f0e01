"""Theano-era pickles -> IR: whole pickled Keras models, or parameter collections bound to an architecture.

Everything is read by `safe_unpickle` (nothing imported, nothing run). Then:
(a) a pickled Keras 0.x/1.x model (Sequential or functional Model, compiled or
    not) is turned back into the config Keras would have written, from the
    recorded layer attributes, and its weights are read from the Theano shared
    variables the layers hold (values in `container.storage[0]`);
(b) otherwise the file's arrays (shared variables, CUDA/GpuArray variables, plain
    arrays, Lasagne `get_all_param_values` lists, dicts) are bound in order onto
    the architecture given with `arch` (`--arch model.json`).
Pickled models come from Theano, so kernels are flipped like any Theano file.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from kport.errors import FormatError, WeightError
from kport.importers import keras_config, safe_unpickle
from kport.importers.safe_unpickle import Stub, stub_path
from kport.ir.graph import Graph, SourceInfo
from kport.ops.base import ImportContext

MODEL_SUFFIXES = (".Sequential", ".Model", ".Container", ".Functional")
# recorded layer attributes that are runtime state, not configuration
STATE_ATTRS = {"inbound_nodes", "outbound_nodes", "trainable_weights", "non_trainable_weights", "input_spec",
               "losses", "constraints", "regularizers", "updates", "built", "supports_masking",
               "uses_learning_phase", "initial_weights", "states", "model", "inputs", "outputs", "container_nodes",
               "nodes_by_depth", "input_layers", "output_layers", "layers_by_depth", "output_names", "input_names",
               "internal_input_shapes", "internal_output_shapes", "stateful_metric_names", "metrics",
               "pool_size_1d", "st", "W_shape", "output_shape_"}
# per-class attributes that shadow a config key with a different meaning
CLASS_DROP = {"MaxPooling1D": {"pool_size", "strides"}, "AveragePooling1D": {"pool_size", "strides"},
              "Merge": {"layers"}}


def load_pickle(path: str, weights: str | None = None, *, arch: str | None = None, **options) -> Graph:
    """Imports a Theano-era pickle.

    Args:
        path: the pickle (plain, gzip, bz2, appended pickles, pkl_utils zip, joblib file).
        weights: unused for pickles (they carry their own values); give `arch` for
            parameter collections.
        arch: architecture file (model JSON or .h5) to bind a parameter collection onto.
        **options: `keras_version` overrides the assumed Keras 1.1+ for pickled models.

    Raises:
        UnsafeContentError: the pickle names a global outside the whitelist (nothing ran).
        FormatError: no model and no architecture for the parameters.
    """
    path = str(path)
    objs = safe_unpickle.load_all(path)
    model = find_keras_model(objs)
    if model is not None and "model_config" in model.attrs:
        return graph_from_keras2_pickle(model, path)
    if model is not None:
        return graph_from_pickled_model(model, path, options.get("keras_version"))
    params = collect_parameters(objs)
    if not params:
        raise FormatError("the pickle holds neither a Keras model nor parameter arrays", path=path,
                          hint="kport reads pickled Keras 0.x/1.x models and lists/dicts of Theano parameters")
    arch = arch or options.get("architecture")
    if arch is None:
        raise FormatError(f"the pickle holds {len(params)} parameter arrays but no architecture", path=path,
                          hint="give the model architecture with --arch model.json")
    from kport.importers import load_model

    graph = load_model(str(arch))
    bind_parameters(graph, params, path)
    return graph


# ---- (a) pickled Keras models ------------------------------------------------------------
def find_keras_model(objs: list[Any]) -> Stub | None:
    """The first pickled Keras model among the loaded objects (also inside a list or dict)."""
    candidates = list(objs)
    for o in objs:
        if isinstance(o, (list, tuple)):
            candidates.extend(o)
        elif isinstance(o, dict):
            candidates.extend(o.values())
    for o in candidates:
        path = stub_path(o) if isinstance(o, Stub) else None
        if path and path.startswith("keras") and path.endswith(MODEL_SUFFIXES):
            return o
    return None


def graph_from_pickled_model(model: Stub, path: str, keras_version: str | None = None) -> Graph:
    """Rebuilds the IR of a pickled Keras model from its recorded attributes and shared variables."""
    version = str(keras_version or "1")
    config = model_config(model)
    source = SourceInfo(path=path, format="theano-pickle", keras_version=version, backend="theano")
    ctx = ImportContext(path=path, keras_major=source.keras_major, keras_version=version, backend="theano",
                        flavor="keras")
    graph = keras_config.build_graph(config, source, ctx)
    groups = {}
    for layer in _all_layers(model):
        groups[layer.attrs.get("name")] = layer_weights(layer)
    # nested layers' groups are shared out by their Keras 1 names (`dense_1_W`)
    keras_config.bind_weights(graph, {k: v for k, v in groups.items() if k in graph.layers or v})
    return graph


def graph_from_keras2_pickle(model: Stub, path: str) -> Graph:
    """A Keras 2.2.3+ model pickles as the HDF5 layout in a dict (keras.utils.io_utils.H5Dict).

    Its state holds `keras_version`, `backend`, `model_config` and `model_weights` groups
    whose arrays are themselves pickled (flagged `_<name>_pickled`); those inner pickles go
    through the same restricted unpickler.
    """
    a = model.attrs
    try:
        config = json.loads(_text(a["model_config"]))
    except (ValueError, TypeError) as err:
        raise FormatError(f"the pickled model's config is not JSON ({err})", path=path)
    version, backend = _text(a.get("keras_version")) or "2", _text(a.get("backend"))
    source = SourceInfo(path=path, format="keras-pickle", keras_version=version, backend=backend)
    ctx = ImportContext(path=path, keras_major=source.keras_major, keras_version=version, backend=backend,
                        flavor="keras")
    graph = keras_config.build_graph(config, source, ctx)
    weights = a.get("model_weights") or {}
    groups = {}
    for lname in weights.get("layer_names", []):
        lname = _text(lname)
        group = weights.get(lname) or {}
        items = []
        for wname in group.get("weight_names", []):
            wname = _text(wname)
            value = group.get(wname)
            if group.get(f"_{wname}_pickled"):
                value = safe_unpickle.loads(value, path)
            items.append((wname, np.asarray(value)))
        groups[lname] = items
    keras_config.bind_weights(graph, groups)
    return graph


def _text(value) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _all_layers(model: Stub) -> list[Stub]:
    out = []
    for layer in model.attrs.get("layers") or []:
        if not isinstance(layer, Stub):
            continue
        sub = layer.attrs.get("layers")
        if isinstance(sub, list) and sub and all(isinstance(s, Stub) for s in sub):
            out.extend(x for s in sub for x in (_all_layers(s) if _is_model(s) else [s]))
            if not _is_model(layer):
                out.append(layer)  # a Merge of branches: its branches' layers, then itself
        else:
            out.append(layer)
    return out


def _is_model(obj) -> bool:
    return isinstance(obj, Stub) and obj.path.endswith(MODEL_SUFFIXES)


def model_config(model: Stub) -> dict:
    """The `{class_name, config}` Keras 1 would have saved for a pickled model."""
    class_name = model.path.rsplit(".", 1)[-1]
    attrs = model.attrs
    if class_name == "Sequential":
        return {"class_name": "Sequential",
                "config": [model_config(x) if _is_model(x) else layer_config(x) for x in attrs.get("layers") or []]}
    layers = [x for x in attrs.get("layers") or [] if isinstance(x, Stub)]
    kept = attrs.get("container_nodes")
    conversion = {}
    for layer in layers:
        n_kept = 1 if _is_model(layer) else 0
        for k, _ in enumerate(layer.attrs.get("inbound_nodes") or []):
            key = f"{layer.attrs['name']}_ib-{k}"
            if kept is None or key in kept:
                conversion[key] = n_kept
                n_kept += 1
    layer_cfgs = []
    for layer in layers:
        name = layer.attrs["name"]
        inbound = []
        for k, node in enumerate(layer.attrs.get("inbound_nodes") or []):
            if f"{name}_ib-{k}" not in conversion or not isinstance(node, Stub):
                continue
            na = node.attrs
            refs = [[il.attrs["name"], conversion.get(f"{il.attrs['name']}_ib-{ni}", 0), ti]
                    for il, ni, ti in zip(na.get("inbound_layers") or [], na.get("node_indices") or [],
                                          na.get("tensor_indices") or [])]
            if refs:
                inbound.append(refs)
        cfg = model_config(layer) if _is_model(layer) else layer_config(layer)
        layer_cfgs.append({"name": name, "class_name": cfg["class_name"], "config": cfg["config"],
                           "inbound_nodes": inbound})

    def refs(key):
        return [[lay.attrs["name"], conversion.get(f"{lay.attrs['name']}_ib-{ni}", ni), ti]
                for lay, ni, ti in zip(attrs.get(f"{key}_layers") or [], attrs.get(f"{key}_layers_node_indices") or [],
                                       attrs.get(f"{key}_layers_tensor_indices") or [])]

    return {"class_name": "Model", "config": {"name": attrs.get("name", "model"), "layers": layer_cfgs,
                                              "input_layers": refs("input"), "output_layers": refs("output")}}


def layer_config(layer: Stub) -> dict:
    """A layer's config from its recorded attributes: simple values kept, function references by name."""
    class_name = layer.path.rsplit(".", 1)[-1]
    drop = STATE_ATTRS | CLASS_DROP.get(class_name, set())
    cfg: dict[str, Any] = {}
    for key, value in layer.attrs.items():
        if not isinstance(key, str) or key.startswith("_") or key in drop:
            continue
        simple = _simple(value)
        if simple is not _SKIP:
            cfg[key] = simple
    if cfg.get("shared_axes") == [None]:
        cfg.pop("shared_axes")  # Keras 1 stored "no sharing" as [None]
    if class_name == "Merge":
        sub = layer.attrs.get("layers")
        if isinstance(sub, list) and sub and all(_is_model(s) for s in sub):
            cfg["layers"] = [model_config(s) for s in sub]
        mode = layer.attrs.get("mode")
        if isinstance(mode, type) and issubclass(mode, Stub):
            cfg["mode_type"] = "function"
            cfg["module"], cfg["mode"] = _module_and_name(mode.path)
    if class_name == "Lambda":  # pickles hold the function by reference: module + name, no code
        cfg["function_type"] = "function"
        function = layer.attrs.get("function")
        if isinstance(function, type) and issubclass(function, Stub):
            cfg["module"], cfg["function"] = _module_and_name(function.path)
    return {"class_name": class_name, "config": cfg}


def _module_and_name(path: str) -> tuple[str, str]:
    module, _, name = path.rpartition(".")
    return module, name


_SKIP = object()


def _simple(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, type) and issubclass(value, Stub):  # a function pickled by reference
        return value.path.rsplit(".", 1)[-1]
    if isinstance(value, (list, tuple)):
        items = [_simple(v) for v in value]
        return _SKIP if any(v is _SKIP for v in items) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: _simple(v) for k, v in value.items()}
        return _SKIP if any(v is _SKIP for v in items.values()) else items
    return _SKIP


def layer_weights(layer: Stub) -> list[tuple[str, np.ndarray]]:
    """The layer's weights in Keras order (trainable, then non-trainable) with their Theano names."""
    a = layer.attrs
    variables = list(a.get("trainable_weights", a.get("_trainable_weights")) or []) + \
        list(a.get("non_trainable_weights", a.get("_non_trainable_weights")) or [])
    out = []
    for var in variables:
        value = shared_value(var)
        if value is None:
            raise WeightError(f"a weight of {a.get('name')} holds no array", hint="the pickle is incomplete")
        out.append((str(_var_name(var) or f"{a.get('name')}_{len(out)}"), value))
    return out


def shared_value(obj) -> np.ndarray | None:
    """The array a Theano/Aesara/PyTensor shared variable (or a plain array) holds."""
    if isinstance(obj, np.ndarray):
        return obj
    if not isinstance(obj, Stub):
        return None
    if obj.path.endswith("load_shared_variable") and obj.args:
        return shared_value(obj.args[0])
    container = obj.attrs.get("container")
    if isinstance(container, Stub):
        storage = container.attrs.get("storage")
        if isinstance(storage, list) and storage:
            return shared_value(storage[0]) if isinstance(storage[0], Stub) else np.asarray(storage[0])
    for key in ("value", "data", "_value"):
        if isinstance(obj.attrs.get(key), np.ndarray):
            return obj.attrs[key]
    return None


def _var_name(var) -> str | None:
    return var.attrs.get("name") if isinstance(var, Stub) else None


# ---- (b) parameter collections ----------------------------------------------------------
def is_shared_variable(obj) -> bool:
    """Theano/Aesara/PyTensor shared variables (tensor, scalar, CUDA, GpuArray), not RNG states."""
    if not isinstance(obj, Stub):
        return False
    name = obj.path.rsplit(".", 1)[-1]
    return (name.endswith("SharedVariable") and "Random" not in name) or name == "load_shared_variable"


def collect_parameters(objs: list[Any]) -> list[tuple[str, np.ndarray]]:
    """Every parameter array in the loaded objects, in pickle order, named by variable name or path.

    Lists, tuples and dicts are walked in order; pickled objects (whole Lasagne or
    pylearn2 models) are walked through their recorded attributes, and each
    shared variable counts once however often it is referenced.
    """
    out: list[tuple[str, np.ndarray]] = []
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(o, f"pickle{i}") for i, o in enumerate(objs)][::-1]
    while stack:
        o, where = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        if isinstance(o, np.ndarray):
            if o.dtype.kind in "fiub" and o.ndim > 0:
                out.append((where, o))
        elif is_shared_variable(o):
            value = shared_value(o)
            if value is not None and np.ndim(value) > 0:
                out.append((_var_name(o) or where, np.asarray(value)))
        elif isinstance(o, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(o))))
        elif isinstance(o, dict):
            stack.extend((v, str(k)) for k, v in reversed(list(o.items())))
        elif isinstance(o, Stub):
            # random-stream states are not parameters
            children = [(v, f"{where}.{k}") for k, v in o.attrs.items() if not _is_rng_key(k)]
            children += [(v, f"{where}[{i}]") for i, v in enumerate(o.items)]
            children += [(v, f"{where}[{k!r}]") for k, v in o.entries.items()]
            children += [(v, f"{where}({i})") for i, v in enumerate(o.args)]
            stack.extend(reversed(children))
    return out


def _is_rng_key(key) -> bool:
    key = str(key).lower()
    return "rng" in key or key in ("rstate", "state_updates", "random_state", "seed")


def bind_parameters(graph: Graph, params: list[tuple[str, np.ndarray]], path: str) -> None:
    """Binds parameter arrays onto the graph's layers in model order (Theano layouts converted).

    Arrays named after Keras variables (`dense_1_W`) go to the layer of that name;
    unnamed arrays fill the layers that take weights, in order.
    """
    graph.source.backend = graph.source.backend or "theano"
    layers = [layer for layer in graph.layers.values() if _weight_count(graph, layer)]
    named = _by_layer_name(params, layers)
    if named is None:
        named = {}
        rest = list(params)
        for layer in layers:
            n = _weight_count(graph, layer, len(rest))
            if n > len(rest):
                raise WeightError(f"the pickle has {len(params)} arrays, too few for the architecture",
                                  path=path, layer=layer.name,
                                  hint="the architecture and the parameters come from different models")
            named[layer.name], rest = rest[:n], rest[n:]
        if rest:
            raise WeightError(f"the pickle has {len(rest)} more arrays than the architecture takes", path=path,
                              hint="the architecture and the parameters come from different models")
    for layer in graph.layers.values():
        try:
            keras_config.assign_layer_weights(graph, layer, named.get(layer.name, []))
        except WeightError as err:
            raise err.with_context(path=path)
    graph.has_weights = True


def _weight_count(graph: Graph, layer, available: int | None = None) -> int:
    node = next((n for n in graph.nodes if n.layer == layer.name), None)
    if node is None:
        return 0
    n = len(layer.op.weight_shapes([graph.tensors[t].shape for t in node.inputs]))
    # Keras 1 LSTM/GRU kept one array per gate piece (12 / 9) where Keras 2 keeps 3
    legacy = {"LSTM": 12, "GRU": 9}.get(layer.op.kind)
    if legacy and graph.source.keras_major <= 1 and available is not None and available >= legacy:
        return legacy
    return n


def _by_layer_name(params, layers) -> dict | None:
    names = [layer.name for layer in layers]
    result: dict[str, list] = {}
    for pname, arr in params:
        owner = max((n for n in names if pname == n or pname.startswith(n + "_") or pname.startswith(n + "/")),
                    key=len, default=None)
        if owner is None:
            return None
        result.setdefault(owner, []).append((pname, arr))
    for owner, items in result.items():
        ranks = [_suffix_rank(pname[len(owner) + 1:]) for pname, _ in items]
        if None not in ranks:  # a dict (unordered in Python 2) loses Keras's order: restore it
            result[owner] = [item for _, item in sorted(zip(ranks, items), key=lambda p: p[0])]
    return result


# Keras 1 weight-name suffixes in the order layers created them
SUFFIX_ORDER = ["W", "W_carry", "depthwise_kernel", "pointwise_kernel", "U", "b", "b_carry", "gamma", "beta",
                "running_mean", "running_std", "t_left", "a_left", "t_right", "a_right", "alphas", "betas"]
GATE_ORDER = ["i", "c", "f", "o", "z", "r", "h"]  # LSTM i,c,f,o; GRU z,r,h; each gate W, U, b


def _suffix_rank(suffix: str):
    if suffix in SUFFIX_ORDER:
        return (0, SUFFIX_ORDER.index(suffix), 0)
    piece, _, gate = suffix.partition("_")
    if piece in ("W", "U", "b") and gate in GATE_ORDER:
        return (1, GATE_ORDER.index(gate), "WUb".index(piece))
    return None
