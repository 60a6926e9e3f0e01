"""IR -> TensorFlow SavedModel, through the tf.keras file kport writes and real TensorFlow."""
from __future__ import annotations

from kport.ir.graph import Graph
from kport.util.atomic import atomic_write


def write_savedmodel(graph: Graph, folder) -> None:
    """Writes a SavedModel folder whose `serve` signature takes the Keras inputs by name."""
    import tensorflow as tf

    from kport.runtime.tf_backend import build_tf_model

    model = build_tf_model(graph)
    specs = [tf.TensorSpec(s.shape, s.dtype, name=s.name) for s in graph.inputs]

    @tf.function(input_signature=specs)
    def serve(*args):
        out = model(list(args) if len(args) > 1 else args[0], training=False)
        out = out if isinstance(out, (list, tuple)) else [out]
        return dict(zip(graph.outputs, out))

    with atomic_write(folder, directory=True) as tmp:
        tf.saved_model.save(model, tmp, signatures={"serving_default": serve})
