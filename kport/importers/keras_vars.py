"""The `vars` weights layout of `.keras` zips and Keras 3 `.weights.h5` files.

Keras's saving_lib stores each object's variables as datasets `0`, `1`, ... of
a group `<object path>/vars`. A model's layers sit under `<model>/layers/`,
named by snake_case class name plus `_N` in layer order (`layers/dense`,
`layers/dense_1`), not by layer name; recent Keras 3 files also put the real
name in the `vars` group's attribute `name`. tf.keras 2.13-2.15 used
`_layer_checkpoint_dependencies` instead of `layers`, and files saved on
Windows have `\\` in group names. A layer's sub-objects (an RNN `cell`, a
Bidirectional `forward_layer`) hold its weights in their own `vars` groups.
"""
from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from kport.errors import FormatError, WeightError
from kport.importers import damage, keras_config, nested_weights
from kport.ir.graph import Graph

# sub-objects of one layer, in the order Keras lists their weights
_CHILD_ORDER = ("cell", "forward_layer", "backward_layer", "layer")


@dataclass
class VarsStore:
    """Every `vars` group of a weights file, by normalized object path.

    Attributes:
        path: the file the weights came from (for messages).
        objects: object path ('layers/dense') -> arrays by index (shards may each hold some).
        names: object path -> the layer name stored beside it, when the file has one.
    """

    path: str
    objects: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def add(self, raw_path: str, arrays: dict[int, np.ndarray], name: str | None) -> None:
        """Adds (or completes) one object's arrays."""
        obj = normalize_path(raw_path)
        self.objects.setdefault(obj, {}).update(arrays)
        if name:
            self.names[obj] = name

    def arrays(self, obj: str) -> list[np.ndarray]:
        """One object's arrays in index order."""
        found = self.objects[obj]
        return [found[i] for i in sorted(found)]


def normalize_path(raw: str) -> str:
    """Object path of a `vars` group: '/' separators, `layers` for every layer container."""
    parts = [p for p in raw.replace("\\", "/").split("/") if p]
    if parts and parts[-1] == "vars":
        parts = parts[:-1]
    return "/".join("layers" if p == "_layer_checkpoint_dependencies" else p for p in parts)


def is_vars_layout(h5) -> bool:
    """True when an open HDF5 file uses the saving_lib `vars` layout."""
    if "layer_names" in h5.attrs or "layer_names0" in h5.attrs:
        return False
    return bool({normalize_path(k).split("/")[0] for k in h5.keys()} & {"layers", ""})


def read_h5_store(h5, path: str, store: VarsStore | None = None) -> VarsStore:
    """Collects every `vars` group of an open HDF5 weights file (into `store`, for shards)."""
    store = store if store is not None else VarsStore(path)

    names: list[str] = []
    with damage.reading(path):
        # walking names is much cheaper in h5py than visiting every object
        h5.visit(lambda name: names.append(name) if name.replace("\\", "/").split("/")[-1] == "vars" else None)
        for name in names:
            group = h5[name]
            if hasattr(group, "keys"):
                arrays = {int(k): _read_dataset(group[k], path, name) for k in group.keys() if k.isdigit()}
                store.add(name, arrays, _str_attr(group, "name"))
    return store


def read_sharded_store(index_path: str) -> VarsStore:
    """Reads Keras 3 sharded weights: a `.weights.json` index and its `_NNNNN.weights.h5` shards.

    Raises:
        FormatError: the index is not a shard map, or a shard is missing.
    """
    from kport.importers.keras_h5 import open_h5

    try:
        with open(index_path, encoding="utf-8") as fh:
            index = json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FormatError(f"unreadable weights index ({err})", path=index_path, hint="the file is corrupt")
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        raise FormatError("JSON file is not a Keras sharded-weights index (no weight_map)", path=index_path,
                          hint="give the .weights.json written by model.save_weights(..., max_shard_size=...)")
    shards = []
    for names in weight_map.values():
        for name in names if isinstance(names, list) else [names]:
            if not isinstance(name, str) or os.path.basename(name) != name:
                raise FormatError(f"shard name {name!r} is not a file name beside the index", path=index_path,
                                  hint="the index is corrupt")
            if name not in shards:
                shards.append(name)
    store = VarsStore(index_path)
    for name in shards:
        shard = os.path.join(os.path.dirname(os.path.abspath(index_path)), name)
        if not os.path.exists(shard):
            raise FormatError(f"weights shard '{name}' is missing", path=index_path,
                              hint="keep every *_NNNNN.weights.h5 shard beside the .weights.json index")
        with open_h5(shard) as h5:
            read_h5_store(h5, index_path, store)
    return store


def _read_dataset(ds, path: str, where: str) -> np.ndarray:
    try:
        arr = ds[()]
    except (OSError, KeyError) as err:
        raise FormatError(f"cannot read weights at '{where}' ({err})", path=path,
                          hint="the file is truncated or corrupt")
    arr = np.asarray(arr)
    if _str_attr(ds, "dtype") == "bfloat16":
        # h5py stores bfloat16 as opaque 2-byte values: the top half of a float32
        words = arr.view("<u2") if arr.dtype.itemsize == 2 else arr.astype(np.uint16)
        arr = (words.astype(np.uint32) << 16).view(np.float32)
    return arr


def _str_attr(obj, name: str) -> str | None:
    value = obj.attrs.get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    return str(value) if value is not None else None


def snake_case(class_name: str) -> str:
    """Keras's object name for a class: 'BatchNormalization' -> 'batch_normalization'."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def walk_config(model: dict, obj: str = "", scope: tuple[str, ...] = ()):
    """Yields (Keras path of a layer, its object path) for every leaf layer of a model config."""
    cfg = model.get("config")
    layers = cfg if isinstance(cfg, list) else (cfg or {}).get("layers", [])
    counts: dict[str, int] = {}
    for lc in layers:
        cls = lc.get("class_name", "")
        if cls in ("Model",):  # tf.keras 1.x-era name of a functional model
            cls = "Functional"
        snake = snake_case(cls)
        n = counts.get(snake, 0)
        counts[snake] = n + 1
        child = "/".join(p for p in (obj, "layers", snake + (f"_{n}" if n else "")) if p)
        name = lc.get("name") or (lc.get("config") or {}).get("name")
        if lc.get("class_name") in keras_config.MODEL_CLASSES:
            yield from walk_config(lc, child, scope + (name,))
        else:
            yield scope + (name,), child, obj


@contextmanager
def messages_name(graph: Graph, path: str):
    """Makes weight errors raised while binding name `path` (the weights file) as the file."""
    saved = graph.source.path
    graph.source.path = path
    try:
        yield
    finally:
        graph.source.path = saved


def bind_vars(graph: Graph, model: dict, store: VarsStore) -> None:
    """Binds a `vars`-layout store onto a graph built from `model`.

    Raises:
        WeightError: weights missing, extra or mis-shaped, naming the layer.
    """
    with messages_name(graph, store.path):
        _bind_vars(graph, model, store)
    graph.has_weights = True


def _bind_vars(graph: Graph, model: dict, store: VarsStore) -> None:
    by_path = {nested_weights.keras_path(layer): layer for layer in graph.layers.values()}
    by_name = {("/".join(o.split("/")[:-2]), n): o for o, n in store.names.items()}
    claimed: set[str] = set()
    below = _descendants(store)
    for kpath, obj, container in walk_config(model):
        layer = by_path.get(kpath)
        if layer is None:  # InputLayer and other layers without a node in the IR
            continue
        # a stored name beats the computed object name (containers renamed or reordered)
        obj = by_name.get((container, kpath[-1]), obj)
        items = _layer_items(store, obj, below.get(obj, []), claimed, _declared_subpaths(layer.op))
        keras_config.assign_layer_weights(graph, layer, items)
    extra = [o for o, arrays in store.objects.items() if arrays and o not in claimed
             and (o.startswith("layers") or o == "")]
    if extra:
        raise WeightError(f"the weights file holds weights at '{extra[0]}' that match no layer of the model",
                          path=store.path, hint="the architecture and the weights come from different models")


def _descendants(store: VarsStore) -> dict[str, list[str]]:
    """Every object path -> the stored objects below it (one pass, not one scan per layer)."""
    below: dict[str, list[str]] = {}
    for o in store.objects:
        parts = o.split("/")
        for k in range(1, len(parts)):
            below.setdefault("/".join(parts[:k]), []).append(o)
    return below


def _declared_subpaths(op) -> list[str]:
    """The sub-object paths an op's `keras3_vars` lists, in its weight order ([] when it has none).

    Only the keys are used: they follow the op's structure (an RNN's cells), not the arrays."""
    hook = getattr(op, "keras3_vars", None)
    return list(hook({})) if hook is not None else []


def _layer_items(store: VarsStore, obj: str, below: list[str], claimed: set[str],
                 declared: list[str] = ()) -> list[tuple[str, np.ndarray]]:
    """A layer's arrays: its own `vars`, then its sub-objects' (not nested models' layers) in Keras order.

    Sub-objects the op declares (`declared`) come in that order: a stack of different cells
    (`cell/cells/lstm_cell`, `cell/cells/gru_cell`) is not in alphabetical order."""
    own = [obj] if obj in store.objects else []
    children = [o for o in below if "/layers/" not in o[len(obj):]]

    def declared_rank(rel: str) -> int:
        return next((i for i, p in enumerate(declared) if rel == p or rel.startswith(p + "/")), len(declared))

    children.sort(key=lambda o: (declared_rank(o[len(obj) + 1:]), _child_rank(o[len(obj) + 1:]), o))
    items = []
    for o in own + children:
        claimed.add(o)
        rel = o[len(obj) + 1:]
        items.extend((f"{rel}/{i}" if rel else str(i), arr) for i, arr in enumerate(store.arrays(o)))
    return items


def _child_rank(rel: str) -> tuple[int, ...]:
    return tuple(_CHILD_ORDER.index(p) if p in _CHILD_ORDER else len(_CHILD_ORDER) for p in rel.split("/"))

