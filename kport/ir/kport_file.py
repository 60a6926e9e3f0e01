"""The `.kport` file: a zip holding a readable graph document and safetensors weights.

`kport.json` is the graph (format version, layers with their op kind and typed
attributes, whether a layer passes an incoming Keras mask on where the writing
Keras decided it, nodes, inputs, outputs, tensor specs, source). `weights.safetensors`
holds every array bit-exactly; nothing is pickled. Saving then loading gives
the same graph and the same weight bytes.
"""
from __future__ import annotations

import dataclasses
import json
import zipfile

import numpy as np

from kport.errors import FormatError
from kport.ir.graph import Graph, Layer, Node, SourceInfo, TensorSpec

# 2: a layer entry may carry "propagates_mask" (whether the layer passes an incoming Keras mask on, where
# that depends on the Keras that wrote the file: Identity, Rescaling, Normalization, a Lambda's layers).
# Format 1 files load as before (the flag unset); a format-1 reader would drop it silently, hence the bump.
FORMAT_VERSION = 2
DOC = "kport.json"
WEIGHTS = "weights.safetensors"


def is_kport_file(path) -> bool:
    """True when `path` is a zip with a kport graph document."""
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                return False
        with zipfile.ZipFile(path) as z:
            return DOC in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def encode_value(value):
    """Makes an attribute value JSON-safe (ops nest as {'__op__': kind, ...})."""
    from kport.ops.base import Op

    if isinstance(value, Op):
        return {"__op__": value.kind, "attributes": {k: encode_value(v) for k, v in value.attributes().items()}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {k: encode_value(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return {"__array__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode_value(value):
    """Inverse of `encode_value`."""
    from kport.ops.registry import op_for_kind

    if isinstance(value, dict):
        if "__op__" in value:
            return op_for_kind(value["__op__"])(**{k: decode_value(v) for k, v in value["attributes"].items()})
        if "__tuple__" in value:
            return tuple(decode_value(v) for v in value["__tuple__"])
        if "__array__" in value:
            return np.asarray(value["__array__"], dtype=np.dtype(value["dtype"]))
        return {k: decode_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    return value


def to_document(graph: Graph) -> tuple[dict, dict[str, np.ndarray]]:
    """Splits a graph into its JSON document and a flat weights dict."""
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for layer in graph.layers.values():
        keys = {}
        for wname, arr in layer.weights.items():
            key = f"{layer.name}/{wname}"
            arrays[key] = np.require(arr, requirements="C")  # ascontiguousarray would make 0-d arrays 1-d
            keys[wname] = key
        entry = {"name": layer.name, "kind": layer.op.kind,
                 "attributes": encode_value(layer.op.attributes()), "weights": keys,
                 "trainable": layer.trainable, "scope": list(layer.scope)}
        flag = _propagates_mask(layer.op)
        if flag is not None:
            entry["propagates_mask"] = flag
        layers.append(entry)
    doc = {
        "format": "kport", "format_version": FORMAT_VERSION, "name": graph.name, "kind": graph.kind,
        "has_weights": graph.has_weights,
        "source": dataclasses.asdict(graph.source),
        "inputs": [_spec(t) for t in graph.inputs],
        "outputs": list(graph.outputs),
        "layers": layers,
        "nodes": [{"layer": n.layer, "inputs": n.inputs, "outputs": n.outputs, "call": encode_value(n.call)}
                  for n in graph.nodes],
        "tensors": [_spec(t) for t in graph.tensors.values()],
    }
    return doc, arrays


def from_document(doc: dict, arrays: dict[str, np.ndarray], path: str | None = None) -> Graph:
    """Rebuilds a graph from its document and weights."""
    from kport.ops.registry import op_for_kind

    if doc.get("format") != "kport":
        raise FormatError("not a kport graph document", path=path)
    if doc.get("format_version", 0) > FORMAT_VERSION:
        raise FormatError(f"written by a newer kport (format {doc['format_version']})", path=path,
                          hint="upgrade kport")
    g = Graph(name=doc["name"], kind=doc.get("kind", "Functional"), source=SourceInfo(**doc["source"]),
              has_weights=doc.get("has_weights", True))
    for entry in doc["layers"]:
        try:
            op_cls = op_for_kind(entry["kind"])
        except KeyError:
            raise FormatError(f"unknown op kind '{entry['kind']}'", path=path, layer=entry["name"],
                              hint="the file was written by a kport with more layer kinds; upgrade kport")
        op = op_cls(**decode_value(entry["attributes"]))
        if "propagates_mask" in entry:  # format >= 2; see _propagates_mask
            op.propagates_mask = bool(entry["propagates_mask"])
        weights = {w: arrays[key] for w, key in entry["weights"].items()}
        g.layers[entry["name"]] = Layer(entry["name"], op, weights, entry.get("trainable", True),
                                        tuple(entry.get("scope", ())))
    g.nodes = [Node(n["layer"], n["inputs"], n["outputs"], decode_value(n.get("call", {}))) for n in doc["nodes"]]
    g.tensors = {t["name"]: TensorSpec(t["name"], tuple(t["shape"]), t["dtype"]) for t in doc["tensors"]}
    g.inputs = [TensorSpec(t["name"], tuple(t["shape"]), t["dtype"]) for t in doc["inputs"]]
    g.outputs = list(doc["outputs"])
    return g


def save(graph: Graph, path) -> None:
    """Writes the `.kport` file atomically."""
    from safetensors.numpy import save as st_save

    from kport.util.atomic import atomic_write

    doc, arrays = to_document(graph)
    with atomic_write(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(_info(DOC), json.dumps(doc, indent=1))
            z.writestr(_info(WEIGHTS), st_save(arrays) if arrays else b"")


def load(path) -> Graph:
    """Reads a `.kport` file."""
    from safetensors.numpy import load as st_load

    try:
        with zipfile.ZipFile(path) as z:
            doc = json.loads(z.read(DOC))
            raw = z.read(WEIGHTS)
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as err:
        raise FormatError(f"corrupt .kport file ({err})", path=str(path))
    arrays = st_load(raw) if raw else {}
    return from_document(doc, arrays, str(path))


def _propagates_mask(op) -> bool | None:
    """The op's own mask-propagation flag, or None where it has none.

    Importers set `propagates_mask` on an op instance, after construction, where
    the layer's mask behaviour depends on the Keras that wrote the file (it is not
    an attribute: the layer computes the same values either way). It is lost if
    not saved, and the Keras writers read it (a tf.keras Identity drops masks, a
    Keras 3 Identity passes them on). A class-level default (attention layers)
    is the op's own and needs no saving.
    """
    flag = vars(op).get("propagates_mask")
    return None if flag is None else bool(flag)


def _spec(t: TensorSpec) -> dict:
    return {"name": t.name, "shape": list(t.shape), "dtype": t.dtype}


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed time: same bytes each save
    info.compress_type = zipfile.ZIP_STORED
    return info
