"""IR -> ONNX through another converter, as a cross-check of kport's own ONNX exporter.

The graph is written as the tf.keras file kport writes (exact constructions
included), loaded by real tf_keras, and converted by tf2onnx's `from_keras`.
The ONNX file so made shares no code with kport's exporter, so agreeing
parity checks of both files are independent evidence.
"""
from __future__ import annotations

import os

from kport.errors import BackendUnavailableError, ExportError
from kport.ir.graph import Graph
from kport.util.atomic import atomic_write


def write_onnx_via_tf2onnx(graph: Graph, path, opset: int = 17) -> list[str]:
    """Writes `graph` as ONNX made by tf2onnx from kport's tf.keras file; returns the paths written.

    Raises:
        BackendUnavailableError: TensorFlow, tf_keras or tf2onnx is not installed.
        ExportError: tf2onnx failed on the model.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError as err:
        raise BackendUnavailableError(f"--via tf2onnx needs TensorFlow, tf_keras and tf2onnx ({err})",
                                      hint="pip install 'kport[tf]' tf2onnx, or convert without --via") from None
    from kport.runtime.tf_backend import build_tf_model

    model = build_tf_model(graph)
    specs = [tf.TensorSpec(spec.shape, tf.as_dtype(spec.dtype), name=spec.name) for spec in graph.inputs]
    try:
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=specs, opset=opset)
    except Exception as err:  # tf2onnx raises assorted errors for graphs it cannot convert
        raise ExportError(f"tf2onnx could not convert the model: {type(err).__name__}: {err}",
                          path=graph.source.path, hint="convert without --via (kport's own ONNX exporter)") from err
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(proto.SerializeToString())
    return [os.fspath(path)]
