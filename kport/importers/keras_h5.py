"""Keras HDF5 files: Keras 1/2 multi-backend, tf.keras 2.x, Keras 3 legacy `.h5`.

Reads `model_config` and the weights groups. Weights come as per-layer lists
`(saved weight name, array)` in file order; `keras_config.bind_weights` maps
them onto the layers.
"""
from __future__ import annotations

import numpy as np

from kport.errors import FormatError
from kport.importers import damage, keras_config, provenance
from kport.importers.hdf5_attrs import read_attr, read_json_attr, read_str_list
from kport.ir.graph import Graph, SourceInfo
from kport.ops.base import ImportContext


def open_h5(path: str):
    """Opens an HDF5 file read-only, turning h5py's errors into kport's."""
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise FormatError(f"cannot open as HDF5 ({err})", path=path,
                          hint="the file is truncated or not an HDF5 file")


def describe(f, path: str) -> tuple[SourceInfo, ImportContext]:
    """Works out which Keras wrote an HDF5 file (version, backend, flavour)."""
    version = read_attr(f, "keras_version")
    weights = f["model_weights"] if "model_weights" in f else f
    if version is None:
        version = read_attr(weights, "keras_version")
    backend = read_attr(f, "backend") or read_attr(weights, "backend")
    if version is None:
        version = "1"  # Keras 1 wrote no version at all
    version = str(version)
    if backend is None and version.split(".")[0] == "1":  # Keras 1 never wrote it; weight names tell
        from kport.importers.keras1_legacy import guess_keras1_backend

        backend = guess_keras1_backend(weights)
    return provenance.describe(path, "h5", version, backend)


def read_weight_groups(group) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Reads `layer_names` / `weight_names` groups into per-layer weight lists."""
    result: dict[str, list[tuple[str, np.ndarray]]] = {}
    for lname in read_str_list(group, "layer_names"):
        if lname not in group:
            result[lname] = []
            continue
        g = group[lname]
        items = []
        for wname in read_str_list(g, "weight_names"):
            try:
                items.append((wname, g[wname][()]))
            except KeyError:
                raise FormatError(f"weight '{wname}' is listed but missing", path=group.file.filename,
                                  layer=lname, hint="the file is truncated or corrupt")
        result[lname] = items
    return result


def load_h5(path: str, weights: str | None = None) -> Graph:
    """Imports a full-model Keras HDF5 file.

    Args:
        path: the `.h5` file (model.save / save_model).
        weights: an optional separate weights file overriding the stored ones.
    """
    with open_h5(path) as f:
        with damage.reading(path):
            model_cfg = read_json_attr(f, "model_config")
        if model_cfg is None:
            raise FormatError("HDF5 file has no model architecture (model_config)", path=path,
                              hint="this looks like a weights-only file: pass the architecture JSON and give "
                                   "this file with --weights")
        with damage.reading(path):
            source, ctx = describe(f, path)
        graph = build(model_cfg, source, ctx)
        if weights is None:
            with damage.reading(path):
                group = f["model_weights"] if "model_weights" in f else f
                groups = read_weight_groups(group)
            keras_config.bind_weights(graph, groups)
    if weights is not None:
        from kport.importers.weights_file import bind_weights_file

        bind_weights_file(graph, weights, model_config=model_cfg)
    return graph


def build(model_cfg: dict, source: SourceInfo, ctx: ImportContext) -> Graph:
    """Builds the graph, checking the config is a model description."""
    if not isinstance(model_cfg, dict) or "class_name" not in model_cfg:
        raise FormatError("model_config is not a Keras model description", path=source.path)
    return keras_config.build_graph(model_cfg, source, ctx)
