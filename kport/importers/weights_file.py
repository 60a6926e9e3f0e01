"""Separate weights files bound onto a graph built from an architecture.

Layouts: `save_weights` HDF5 of Keras 1/2 and tf.keras (`layer_names` at the
root, one group per layer), the saving_lib `vars` layout (Keras 3
`.weights.h5`, a whole `.keras` zip, or sharded: a `.weights.json` index with
`_NNNNN.weights.h5` shards), and a full-model HDF5 given as the weights. Legacy files are matched by layer name; when the names do not match,
by order (Keras's `by_name=False`: the layers that have weights, in order).
"""
from __future__ import annotations

import numpy as np

from kport.errors import FormatError, WeightError
from kport.importers import damage, keras_config, keras_vars
from kport.importers.detect import sniff
from kport.ir.graph import Graph


def bind_weights_file(graph: Graph, path: str, model_config: dict | None = None) -> None:
    """Reads a weights file and binds it onto `graph`.

    Args:
        graph: a graph built from the architecture (weights not yet bound).
        path: the weights file.
        model_config: the architecture's `{class_name, config}`; the `vars`
            layout names objects by class and position, so it needs it.

    Raises:
        FormatError: the file is not a Keras weights file.
        WeightError: the weights do not fit the architecture.
    """
    path = str(path)
    kind = sniff(path)
    if kind == "zip":
        from kport.importers import keras_v3

        with keras_v3.open_zip(path) as z:
            if keras_v3.WEIGHTS_H5 not in z.namelist():
                raise FormatError("zip file holds no Keras weights (no model.weights.h5)", path=path,
                                  hint="give a .keras file or a .weights.h5 / .h5 weights file")
            store = keras_v3.read_h5_member(keras_v3.ZipMembers(z, path), keras_v3.WEIGHTS_H5)
            _bind_vars(graph, model_config, store)
        return
    if kind == "keras_dir":  # an unzipped .keras folder
        from kport.importers import keras_v3

        members = keras_v3.DirMembers(path)
        if keras_v3.WEIGHTS_H5 not in members.names:
            raise FormatError("folder holds no Keras weights (no model.weights.h5)", path=path,
                              hint="give a .keras file or a .weights.h5 / .h5 weights file")
        _bind_vars(graph, model_config, keras_v3.read_h5_member(members, keras_v3.WEIGHTS_H5))
        return
    if kind == "json":  # Keras 3 sharded weights: an index naming its .weights.h5 shards
        _bind_vars(graph, model_config, keras_vars.read_sharded_store(path))
        return
    if kind != "hdf5":
        raise FormatError("not a Keras weights file (expected HDF5, .keras or a .weights.json index)", path=path,
                          hint="give the file written by model.save_weights() or model.save()")
    from kport.importers.keras_h5 import open_h5, read_weight_groups

    with open_h5(path) as h5, damage.reading(path):
        group = h5["model_weights"] if "model_weights" in h5 else h5
        if keras_vars.is_vars_layout(h5):
            store = keras_vars.read_h5_store(h5, path)
        elif "layer_names" in group.attrs or "layer_names0" in group.attrs:
            store = None
            groups = read_weight_groups(group)
        elif "nb_layers" in group.attrs:  # Keras 0.x: layer_{k}/param_{p}, by model position
            from kport.importers.keras1_legacy import read_keras0_weights

            store = None
            groups = read_keras0_weights(group, graph)
        else:
            raise FormatError("HDF5 file holds no Keras weights (no layer_names, no vars groups)", path=path,
                              hint="give the file written by model.save_weights() or model.save()")
    if store is not None:
        _bind_vars(graph, model_config, store)
    else:
        bind_legacy_groups(graph, groups, path)


def _bind_vars(graph: Graph, model_config: dict | None, store: keras_vars.VarsStore) -> None:
    if model_config is None:
        raise WeightError("this weights layout names layers by class and position and needs the architecture",
                          path=store.path, hint="load the architecture file (JSON/.keras) with these weights")
    keras_vars.bind_vars(graph, model_config, store)


def bind_legacy_groups(graph: Graph, groups: dict[str, list[tuple[str, np.ndarray]]], path: str) -> None:
    """Binds `layer_names`-style groups by name, else by the order of the layers with weights."""
    with keras_vars.messages_name(graph, path):
        entities = top_level_entities(graph)
        filled = {name: items for name, items in groups.items() if items}
        if set(filled) <= set(entities):
            keras_config.bind_weights(graph, groups)
        else:
            keras_config.bind_weights(graph, _by_order(graph, entities, filled, path))
    graph.has_weights = True


def top_level_entities(graph: Graph) -> list[str]:
    """Names of the model's own layers in order: plain layers and nested models (by their name)."""
    seen: list[str] = []
    for layer in graph.layers.values():
        name = layer.scope[0] if layer.scope else layer.name
        if name not in seen:
            seen.append(name)
    return seen


def _by_order(graph: Graph, entities: list[str], filled: dict, path: str) -> dict:
    weighted = [e for e in entities if _takes_weights(graph, e)]
    if len(weighted) != len(filled):
        raise WeightError(f"the file has weights for {len(filled)} layer(s) named {list(filled)[:4]}..., "
                          f"the model has {len(weighted)} layer(s) with weights and the names do not match",
                          path=path, hint="the architecture and the weights come from different models")
    return dict(zip(weighted, filled.values()))


def _takes_weights(graph: Graph, entity: str) -> bool:
    for layer in graph.layers.values():
        if (layer.scope[:1] == (entity,) or (not layer.scope and layer.name == entity)):
            node = next((n for n in graph.nodes if n.layer == layer.name), None)
            if node and layer.op.weight_shapes([graph.tensors[t].shape for t in node.inputs]):
                return True
    return False
