"""A live index of an OnnxGraph: who produces and who reads each tensor.

Passes edit through the index so lookups stay O(1) while they rewrite; `commit`
writes the surviving nodes back in a valid topological order (a node inserted
with `insert_after` lands right after its anchor).
"""
from __future__ import annotations

import numpy as np

from kport.exporters.onnx.builder import OnnxGraph, OnnxNode


class Index:
    """Producers and readers of every tensor of a graph, kept current during edits."""

    def __init__(self, g: OnnxGraph):
        self.g = g
        self.producer: dict[str, OnnxNode] = {}
        self._readers: dict[str, list[OnnxNode]] = {}
        self._dead: set[int] = set()
        self._after: dict[int, list[OnnxNode]] = {}
        for node in g.nodes:
            self._register(node)

    def _register(self, node: OnnxNode) -> None:
        for o in node.outputs:
            self.producer[o] = node
        for i in node.inputs:
            if i:
                self._readers.setdefault(i, []).append(node)

    # ---- queries ------------------------------------------------------------
    def readers(self, name: str) -> list[OnnxNode]:
        """Live nodes reading `name`, each once, in first-seen order."""
        seen, result = set(), []
        for n in self._readers.get(name, []):
            if id(n) not in self._dead and id(n) not in seen and name in n.inputs:
                seen.add(id(n))
                result.append(n)
        return result

    def const(self, name: str) -> np.ndarray | None:
        """The initializer called `name`, or None when it is computed."""
        return self.g.initializers.get(name) if name else None

    def alive(self, node: OnnxNode) -> bool:
        return id(node) not in self._dead

    def only_reader(self, name: str, keep: set[str]) -> OnnxNode | None:
        """The single node reading `name`, when it is the only use and `name` is no graph output."""
        users = self.readers(name)
        if len(users) != 1 or name in keep:
            return None
        return users[0]

    # ---- edits --------------------------------------------------------------
    def set_input(self, node: OnnxNode, old: str, new: str) -> None:
        """Makes `node` read `new` wherever it read `old`."""
        node.inputs = [new if i == old else i for i in node.inputs]
        self._readers.setdefault(new, []).append(node)

    def replace_uses(self, old: str, new: str) -> None:
        """Every reader of `old` reads `new` instead."""
        for n in self.readers(old):
            self.set_input(n, old, new)

    def rename_output(self, node: OnnxNode, old: str, new: str) -> None:
        """Renames one output of `node` (its readers must have been moved already)."""
        node.outputs = [new if o == old else o for o in node.outputs]
        self.producer.pop(old, None)
        self.producer[new] = node

    def insert_after(self, anchor: OnnxNode, node: OnnxNode) -> None:
        """Adds `node`, placed right after `anchor` when committed."""
        self._after.setdefault(id(anchor), []).append(node)
        self._register(node)

    def remove(self, node: OnnxNode) -> None:
        self._dead.add(id(node))
        for o in node.outputs:
            if self.producer.get(o) is node:
                del self.producer[o]

    def new_node(self, op_type: str, inputs: list[str], outputs: list[str], hint: str, **attrs) -> OnnxNode:
        """A node with a fresh unique name (not yet placed)."""
        return OnnxNode(op_type, list(inputs), list(outputs), self.g.fresh(hint), attrs)

    def commit(self) -> None:
        """Writes the live nodes back to the graph in order."""
        ordered: list[OnnxNode] = []

        def emit(node: OnnxNode) -> None:
            if id(node) not in self._dead:
                ordered.append(node)
            for follower in self._after.get(id(node), []):
                emit(follower)

        for node in self.g.nodes:
            emit(node)
        self.g.nodes = ordered
        self._after.clear()
        self._dead = set()


def perm_of(node: OnnxNode, rank: int | None = None) -> list[int] | None:
    """The permutation of a Transpose (None when it is implicit and the rank unknown)."""
    perm = node.attrs.get("perm")
    if perm is None:
        return None if rank is None else list(range(rank))[::-1]
    return [int(p) for p in perm]


def inverse(perm: list[int]) -> list[int]:
    return [int(i) for i in np.argsort(perm)]


def is_identity(perm: list[int]) -> bool:
    return list(perm) == list(range(len(perm)))
