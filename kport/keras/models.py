"""`keras.models`: Sequential, Model, load_model, save_model, model_from_json, clone_model."""
from __future__ import annotations

from kport.keras.engine.ir_export import from_graph, to_graph
from kport.keras.engine.saving import load_model, model_from_config, model_from_json, save_model
from kport.keras.engine.sequential import Sequential
from kport.keras.engine.training import Model


def clone_model(model, input_tensors=None):
    """A new model of the same architecture with freshly initialized weights."""
    return from_graph(to_graph(model, with_masks=False), with_weights=False)


__all__ = ["Sequential", "Model", "load_model", "save_model", "model_from_json", "model_from_config", "clone_model"]
