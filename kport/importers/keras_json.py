"""Architecture JSON: `model.to_json()` of Keras 1/2, tf.keras and Keras 3.

The JSON is `{class_name, config, keras_version, backend}`; files written with
`json.dump(model.to_json(), f)` hold it double-encoded (a JSON string of JSON).
Weights come from a separate file; without one the graph has the structure
only (shapes, parameter counts) and refuses to run.
"""
from __future__ import annotations

import json

from kport.errors import FormatError
from kport.importers import keras_config, provenance
from kport.ir.graph import Graph


def load_json(path: str, weights: str | None = None, **options) -> Graph:
    """Imports an architecture JSON file, with its weights when given.

    Args:
        path: the JSON file.
        weights: a weights file (`save_weights` HDF5, Keras 3 `.weights.h5`,
            a full-model `.h5` or a `.keras` zip).
        **options: unused; accepted for a uniform importer signature.

    Raises:
        FormatError: unreadable JSON or not a Keras architecture.
        WeightError: the weights do not fit the architecture.
    """
    path = str(path)
    model = read_model_json(path)
    source, ctx = provenance.describe(path, "json", _version(model), model.get("backend"))
    graph = keras_config.build_graph(model, source, ctx)
    if weights is None:
        graph.has_weights = False
        return graph
    from kport.importers.weights_file import bind_weights_file

    bind_weights_file(graph, weights, model_config=model)
    return graph


def read_model_json(path: str) -> dict:
    """Parses the file into a `{class_name, config}` dict, undoing double encoding."""
    try:
        with open(path, "rb") as fh:
            text = fh.read().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise FormatError(f"the JSON file is not UTF-8 text ({err})", path=path, hint="the file is corrupt")
    try:
        value = json.loads(text)
        for _ in range(2):  # json.dump(model.to_json()) wraps the JSON in a string
            if isinstance(value, str):
                value = json.loads(value)
    except json.JSONDecodeError as err:
        raise FormatError(f"unreadable JSON at line {err.lineno} column {err.colno}: {err.msg}", path=path,
                          hint="the file is truncated or not JSON; save it again with model.to_json()")
    if isinstance(value, dict) and "weight_map" in value:
        raise FormatError("this JSON is a sharded-weights index, not a model architecture", path=path,
                          hint="give the architecture (JSON or .keras) as the model and this file as its weights")
    if isinstance(value, dict) and "class_name" not in value:  # Keras 0.x: {"name": "Sequential", "layers"}
        from kport.importers.keras1_models import keras0_model

        value = keras0_model(value) or value
    if not isinstance(value, dict) or "class_name" not in value or "config" not in value:
        raise FormatError("the JSON is not a Keras model architecture (no class_name/config)", path=path,
                          hint="give the output of model.to_json()")
    return value


def _version(model: dict) -> str | None:
    version = model.get("keras_version")
    if version is None and "module" in model:  # Keras 3 and tf.keras 2.13+ name modules, not versions
        from kport.importers.keras_v3 import guess_version

        version = guess_version(model)
    if version is None:  # Keras 1 to_json() wrote no version; its spellings tell
        from kport.importers.keras1_legacy import looks_like_keras1

        version = "1" if looks_like_keras1(model) else None
    return str(version) if version is not None else None
