"""The order in which Keras lists a loaded Functional model's layers, so weights land where they belong.

tf.keras `.h5` files bind weights to layers by position (`layer_names`, weighted layers only)
and Keras 3 names a `.keras` file's weight groups by class and position (`dense`, `dense_1`);
both count in `model.layers` order, which Keras rebuilds from the config by depth (farthest
from the outputs first, ties in the order a depth-first walk from the outputs meets them:
`map_graph` in Keras 3, `_map_graph_network` in tf.keras), not in config order. Branching
graphs differ, so the writers list their weights in this order.
"""
from __future__ import annotations


def keras_layer_order(config: dict, order: list) -> list:
    """Returns `order` ((class, name, layer) per config layer) sorted as Keras will list the layers.

    Args:
        config: a Functional config as the writers build it (Keras 3 or tf.keras spelling).
        order: the writer's layer list, one entry per config layer, named by item 1.
    """
    names = {layer["name"] for layer in config["layers"]}  # constants' entries name none
    parents = {}  # (layer name, node index) -> [(layer name, node index), ...] in Keras's flatten order
    for layer in config["layers"]:
        for k, node in enumerate(layer["inbound_nodes"]):
            parents[(layer["name"], k)] = [(h[0], h[1]) for h in _histories(node) if h[0] in names]
    outputs = config["output_layers"]
    outputs = [outputs] if outputs and isinstance(outputs[0], str) else outputs
    rank = keras_rank([(out[0], out[1]) for out in outputs], lambda key: parents.get(key, []), lambda key: key[0])
    tail = len(order)
    return sorted(order, key=lambda entry: rank.get(entry[1], (1, tail)))


def keras_rank(outputs: list, parents, layer_of) -> dict:
    """Keras's `model.layers` ranking over any graph of call nodes.

    Keras numbers layers in the order a depth-first walk from the outputs first meets
    them (`_build_map_helper`), lists nodes after their parents, then gives each node
    the largest distance from an output along any path, and each layer the largest of
    its nodes'; layers sort by decreasing depth, ties by that first-visit number.

    Args:
        outputs: the keys (hashable) of the nodes that make the outputs, in output order.
        parents: key -> the keys of the nodes whose outputs the node reads, in Keras's flatten order.
        layer_of: key -> the (hashable) layer the node calls.

    Returns:
        layer -> (-depth, first-visit number): sorting by it gives Keras's order.
    """
    finished, visited, indices = set(), [], {}

    def walk(key):
        if key in finished:
            return
        indices.setdefault(layer_of(key), len(indices))
        for parent in parents(key):
            walk(parent)
        finished.add(key)
        visited.append(key)

    for out in outputs:
        walk(out)
    node_depth, layer_depth = {}, {}
    for key in reversed(visited):
        layer = layer_of(key)
        depth = max(node_depth.setdefault(key, 0), layer_depth.get(layer, 0))
        layer_depth[layer] = node_depth[key] = depth
        for parent in parents(key):
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    return {layer: (-depth, indices[layer]) for layer, depth in layer_depth.items()}


def _histories(node) -> list:
    """(layer, node index, tensor index) of each tensor a written inbound node passes, args before kwargs."""
    found: list = []
    if isinstance(node, dict) and "args" in node:  # Keras 3
        _flatten(node["args"], found, False)
        _flatten(node.get("kwargs", {}), found, False)
    else:  # tf.keras: [[layer, node, tensor, kwargs], ...] (one call of a TF function: one entry)
        entries = [node] if node and isinstance(node[0], str) else node
        for entry in entries:
            found.append(tuple(entry[:3]))
        if entries and len(entries[0]) > 3:
            _flatten(entries[0][3], found, True)
    return found


def _flatten(value, found: list, lists: bool) -> None:
    if isinstance(value, dict):
        if value.get("class_name") == "__keras_tensor__":
            found.append(tuple(value["config"]["keras_history"]))
            return
        for key in sorted(value):  # tree.flatten / tf.nest.flatten sort dict keys
            _flatten(value[key], found, lists)
    elif isinstance(value, (list, tuple)):
        if lists and len(value) == 3 and isinstance(value[0], str) and all(isinstance(v, int) for v in value[1:]):
            found.append(tuple(value))  # a tf.keras tensor reference inside call kwargs
            return
        for item in value:
            _flatten(item, found, lists)
