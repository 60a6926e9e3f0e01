"""Layer kinds: one module per kind, found by the registry."""
from kport.ops.registry import all_ops, op_for_keras_class, op_for_kind

__all__ = ["all_ops", "op_for_keras_class", "op_for_kind"]
