"""Persistence through kport's own Keras writers and readers.

`model.save('m.h5')` writes a tf.keras HDF5 file (`kport.exporters.keras.legacy_h5_file`),
`.keras` a Keras 3 zip (`keras3_file`); `load_model` reads any Keras file
through `kport.load`. `save_weights` writes the Keras 2 weights layout
(`layer_names` / `weight_names`), which every Keras 2 loads.
"""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from kport.keras.engine.ir_export import ENGINE_KERAS_VERSION, from_graph, to_graph


def save_model(model, filepath, save_format: str | None = None, include_optimizer: bool = True) -> None:
    """Writes the architecture and weights (`.keras`: Keras 3 zip; otherwise tf.keras HDF5)."""
    path = str(filepath)
    keras3 = save_format == "keras" or path.endswith(".keras")
    # custom layers and Lambdas go in as their class name and get_config(), as Keras writes them
    graph = to_graph(model, with_masks=False, custom_layers=True)
    if keras3:
        from kport.exporters.keras.keras3_file import write_keras

        write_keras(graph, path)
        return
    from kport.exporters.keras.legacy_h5_file import write_h5

    write_h5(graph, path)
    if include_optimizer and getattr(model, "optimizer", None) is not None:
        import h5py

        with h5py.File(path, "r+") as f:
            f.attrs["training_config"] = json.dumps(training_config(model))
            if model.optimizer.iterations and getattr(model, "_is_graph_network", False):
                _write_optimizer_weights(f, model)


def training_config(model) -> dict:
    """The compile arguments as Keras 2 stores them in an HDF5 file (`training_config`)."""
    from kport.keras import losses, optimizers

    def nested(value, fn):
        if isinstance(value, dict):
            return {k: nested(v, fn) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [nested(v, fn) for v in value]
        return None if value is None else fn(value)

    def metric_name(m):
        return m if isinstance(m, str) else getattr(m, "name", None) or m.__name__

    metrics, weighted = model._metric_specs
    return {"loss": nested(model.loss, losses.serialize), "metrics": nested(metrics, metric_name),
            "weighted_metrics": nested(weighted, metric_name), "loss_weights": model._loss_weights_arg,
            "sample_weight_mode": None, "optimizer_config": optimizers.serialize(model.optimizer)}


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True,  # noqa: A002
               **kwargs):
    """Reads any Keras model file kport understands into an engine model.

    An HDF5 file's `training_config` (written by Keras or by `model.save`)
    compiles the model again, with kport's Keras 2 optimizer of that name.
    A file (`.h5` or Keras 3 `.keras`) whose config names classes from `custom_objects` (or
    `keras.utils.get_custom_objects()`), or holds Lambda layers, is rebuilt by the engine from its config
    (`custom_saving.py`, `keras3_custom.py`); Lambda
    bytecode loads only with `safe_mode=False` (it runs code from the file).
    """
    import kport

    from kport.keras import utils
    from kport.keras.engine import custom_saving, keras3_custom, stateful

    objects = {**utils.get_custom_objects(), **(custom_objects or {})}
    stored = custom_saving.stored_model_config(str(filepath))
    if stored is not None and custom_saving.needs_engine(stored, objects):
        model = custom_saving.load(str(filepath), stored, objects, safe_mode)
    elif (zipped := keras3_custom.stored_config(str(filepath))) is not None and \
            custom_saving.needs_engine(zipped, objects):
        model = keras3_custom.load(str(filepath), zipped, objects, safe_mode)
    else:
        from kport.errors import UnsupportedLayerError

        try:
            with stateful.engine_runs_states():
                model = from_graph(kport.load(str(filepath)))
        except UnsupportedLayerError as err:
            raise ValueError(f"{err}. If it is your own layer class, pass it to load_model: "
                             "custom_objects={'ClassName': ClassName}") from err
    stateful.restore_fixed_batch(model, str(filepath))
    config = _stored_training_config(str(filepath)) if compile else None
    if config:
        from kport.keras import losses, optimizers

        def nested(value, fn):
            if isinstance(value, dict) and "class_name" not in value:
                return {k: nested(v, fn) for k, v in value.items()}
            if isinstance(value, list):
                return [nested(v, fn) for v in value]
            return None if value is None else fn(value)

        model.compile(optimizer=optimizers.get(config["optimizer_config"]),
                      loss=nested(config.get("loss"), losses.get), metrics=config.get("metrics"),
                      weighted_metrics=config.get("weighted_metrics"), loss_weights=config.get("loss_weights"))
        _read_optimizer_weights(str(filepath), model)
    return model


def _write_optimizer_weights(f, model) -> None:
    """Keras 2's `optimizer_weights` group: the optimizer state in optimizer_v1 order and Keras layouts."""
    model.compile_modules()
    arrays = model.optimizer.keras_weights(model.optimizer_params())
    group = f.create_group("optimizer_weights")
    cls = type(model.optimizer).__name__
    names = [f"training/{cls}/Variable_{i}:0" if i else f"training/{cls}/iterations:0" for i in range(len(arrays))]
    group.attrs["weight_names"] = np.array([n.encode() for n in names])
    for name, value in zip(names, arrays):
        group.create_dataset(name, data=value)


def _read_optimizer_weights(path: str, model) -> None:
    """Restores the optimizer state of a Keras 2 file when it fits (otherwise training restarts it, as Keras warns)."""
    import warnings

    import h5py

    with h5py.File(path, "r") as f:
        if "optimizer_weights" not in f:
            return
        group = f["optimizer_weights"]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
        arrays = [np.asarray(group[n]) for n in names]
    model.compile_modules()
    try:
        model.optimizer.set_keras_weights(model.optimizer_params(), arrays)
    except ValueError as err:
        warnings.warn(f"the saved optimizer state does not fit; the optimizer starts fresh ({err})")


def _stored_training_config(path: str) -> dict | None:
    import h5py

    if not h5py.is_hdf5(path):
        return None
    with h5py.File(path, "r") as f:
        raw = f.attrs.get("training_config")
    if raw is None:
        return None
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def model_config(model) -> dict:
    """`{class_name, config}` in tf.keras spelling (a Sequential lists its layers; else Functional)."""
    from kport.exporters.keras.layer_config import functional_config
    from kport.keras.engine.sequential import Sequential

    graph = to_graph(model, with_masks=False, custom_layers=True)
    config, _ = functional_config(graph, flavor="tf.keras")
    if isinstance(model, Sequential):
        layers = [{"class_name": entry["class_name"], "config": entry["config"]} for entry in config["layers"]]
        return {"class_name": "Sequential", "config": {"name": model.name, "layers": layers}}
    return {"class_name": "Functional", "config": config}


def to_json(model, **kwargs) -> str:
    document = dict(model_config(model), keras_version=ENGINE_KERAS_VERSION, backend="tensorflow")
    return json.dumps(document, **kwargs)


def model_from_json(json_string: str, custom_objects=None, safe_mode: bool = True):
    """Builds a freshly initialized model from a `to_json()` string of any Keras era."""
    return model_from_config(json.loads(json_string), custom_objects, safe_mode)


def model_from_config(document: dict, custom_objects=None, safe_mode: bool = True):
    """A freshly initialized model from a Keras model config (custom classes from `custom_objects`)."""
    from kport.keras import utils
    from kport.keras.engine import custom_saving

    objects = {**utils.get_custom_objects(), **(custom_objects or {})}
    if custom_saving.needs_engine(document, objects):
        return custom_saving.build(document, objects, safe_mode)
    from kport.importers import keras_config
    from kport.importers.provenance import describe

    source, ctx = describe(None, "json", document.get("keras_version", ENGINE_KERAS_VERSION), document.get("backend"))
    graph = keras_config.build_graph(document, source, ctx)
    return from_graph(graph, with_weights=False)


# ---- weights -----------------------------------------------------------------------------------
def _weight_layers(model) -> list:
    """Leaf layers in model order (nested models expanded), each with a name, op and weights dict."""
    out = []
    for layer in model.all_layers():
        if hasattr(layer, "_weight_dict"):
            weights = layer._weight_dict()
            op = layer.op
        else:
            weights = {getattr(p, "keras_name", f"w{i}").split("/")[-1]: v
                       for i, (p, v) in enumerate(zip(layer.weights, layer.get_weights()))}
            op = None
        out.append((layer, SimpleNamespace(name=layer.name, op=op, weights=weights)))
    return out


def save_weights(model, filepath) -> None:
    """Writes the Keras 2 HDF5 weights layout (one group per layer, `weight_names` in Keras order)."""
    import h5py

    from kport.exporters.keras.legacy_h5_file import write_weight_groups
    from kport.util.atomic import atomic_write

    entries = [(layer.name, view) for layer, view in _weight_layers(model)]
    with atomic_write(str(filepath)) as tmp:
        with h5py.File(tmp, "w") as f:
            write_weight_groups(f, entries)


def load_weights(model, filepath, by_name: bool = False, skip_mismatch: bool = False) -> None:
    """Loads Keras 2 HDF5 weights (a save_weights file or a full-model `.h5`) by layer order or by name."""
    import h5py

    path = str(filepath)
    with h5py.File(path, "r") as f:
        group = f["model_weights"] if "model_weights" in f else f
        if "layer_names" not in group.attrs:
            return _load_other_layout(model, path)
        saved = []
        for raw in group.attrs["layer_names"]:
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            g = group[name]
            wnames = [w.decode() if isinstance(w, bytes) else str(w) for w in g.attrs.get("weight_names", [])]
            saved.append((name, [np.asarray(g[w]) for w in wnames]))
    layers = [layer for layer, _ in _weight_layers(model)]
    if by_name:
        by = dict(saved)
        for layer in layers:
            if layer.name in by and by[layer.name]:
                _assign(layer, by[layer.name], skip_mismatch)
        return
    with_weights = [(n, a) for n, a in saved if a]
    targets = [layer for layer in layers if layer.weights]
    if len(with_weights) != len(targets):
        if _has_nested_models(model):
            # Keras writes a nested model as one group: kport's importer splits it onto the inner layers
            return _load_other_layout(model, path)
        raise ValueError(f"You are trying to load a weight file containing {len(with_weights)} layers into a model "
                         f"with {len(targets)} layers.")
    for layer, (_, arrays) in zip(targets, with_weights):
        _assign(layer, arrays, skip_mismatch)


def _has_nested_models(model) -> bool:
    from kport.keras.engine.training import Model

    return any(isinstance(layer, Model) for layer in model.layers)


def _assign(layer, arrays: list, skip_mismatch: bool) -> None:
    shapes = [tuple(w.shape) for w in layer.weights]
    if skip_mismatch and [tuple(a.shape) for a in arrays] != shapes:
        return
    layer.set_weights(arrays)


def _load_other_layout(model, path: str) -> None:
    """Other eras' weight files (Keras 3 `.weights.h5`, Keras 1 layouts) through kport's importer."""
    from kport.importers.weights_file import bind_weights_file

    graph = to_graph(model, with_masks=False)
    for layer in graph.layers.values():
        layer.weights = {}
    bind_weights_file(graph, path, model_config=model_config(model))
    for layer in model.all_layers():
        if layer.name in graph.layers and graph.layers[layer.name].weights:
            layer._set_weight_dict(dict(graph.layers[layer.name].weights))
