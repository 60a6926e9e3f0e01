"""tf.keras `TFOpLambda` / `SlicingOpLambda` layers: their class names and inbound-node spelling.

tf.keras 2.4+ records a TensorFlow function called on Keras tensors as a
`TFOpLambda` layer whose config names the function (`function: 'math.add'`);
`x[...]` becomes a `SlicingOpLambda`. The call's first argument is written as
the node's entries, every other argument as keywords of those entries:

- one tensor: a bare entry `[layer, node, tensor, kwargs]` (not wrapped in a list);
- a constant first argument: `['_CONSTANT_VALUE', -1, value, kwargs]`;
- a list (`tf.concat([a, b], axis=1)`): one entry per element, each with the kwargs.

Layer meaning lives in the ops: each TF function family's op claims the class
name `TFOpLambda:<function>`, which the normalizer below spells from the config.
"""
from __future__ import annotations

from kport.errors import KportError, UnsupportedLayerError

CONSTANT = "_CONSTANT_VALUE"
TF_OP_CLASSES = ("TFOpLambda", "SlicingOpLambda")


def _is_entry(value) -> bool:
    return isinstance(value, list) and len(value) in (3, 4) and isinstance(value[0], str)


def read_first_argument(node: list, refs: list, raw: dict):
    """Reads a Keras 1/2 / tf.keras inbound node's entries into `refs` and `raw` keyword args.

    Returns:
        None when every entry is a tensor, else the Keras-3-style positional
        record `[first]`: the first argument with None where a tensor went
        (a list when the argument was a list).
    """
    single = _is_entry(node)
    structure = []
    for entry in ([node] if single else node):
        if len(entry) > 3 and isinstance(entry[3], dict):
            raw.update(entry[3])
        if entry[0] == CONSTANT:
            structure.append(entry[2])
        else:
            refs.append((entry[0], int(entry[1]), int(entry[2])))
            structure.append(None)
    if all(s is None for s in structure):
        return None
    return [structure[0] if single else structure]


def normalize_class(class_name: str, cfg: dict, ctx) -> tuple[str, dict]:
    """Spells a TFOpLambda as `TFOpLambda:<function>`, refusing TF functions kport does not cover."""
    from kport.ops.registry import op_for_keras_class

    if class_name not in TF_OP_CLASSES:
        return _keras3_operation(class_name, cfg, ctx)

    function = cfg.get("function")
    if isinstance(function, dict):  # a serialized Python function: not a TF API name
        function = None
    key = f"TFOpLambda:{function}"
    if function is None or op_for_keras_class(key) is None:
        raise UnsupportedLayerError(
            f"{class_name} calls the TensorFlow function tf.{function}, which kport does not convert",
            path=ctx.path, layer=ctx.layer,
            hint="replace the call by a Keras layer, or add an op claiming "
                 f"'TFOpLambda:{function}' in kport/ops (see kport/ops/tf_op_common.py)")
    return key, cfg


def _keras3_operation(class_name: str, cfg: dict, ctx) -> tuple[str, dict]:
    """Reads a Keras 3 operation node (`keras.ops.mean`: class Mean) into the TF function op that writes it."""
    from kport.ops.registry import op_for_keras_class
    from kport.ops.tf_op_common import keras3_index

    if ctx.flavor != "keras3" or op_for_keras_class(class_name) is not None:
        return class_name, cfg
    found = keras3_index().get(class_name)
    if found is None:
        return class_name, cfg
    function, keys = found
    # config entries kport does not map must hold their neutral value (Max's `initial`, Round's `decimals`)
    unmapped = {k: v for k, v in cfg.items()
                if k not in keys and k not in ("name", "trainable", "dtype") and v not in (None, 0)}
    if unmapped:
        raise UnsupportedLayerError(f"Keras 3 operation {class_name} sets {unmapped}, which kport does not convert",
                                    path=ctx.path, layer=ctx.layer, hint="leave those arguments at their defaults")
    return f"TFOpLambda:{function}", {"function": function,
                                      "keras3_attributes": {attr: cfg.get(key) for key, attr in keys.items()}}


def bind_call(op, call: dict, n_inputs: int, path: str | None, layer: str, again: bool = False):
    """Returns the op with its call's arguments as attributes (ops with `bind_call` only).

    `again` marks a later call of the same layer (a nested model called twice):
    its arguments must be the first call's.
    """
    if not hasattr(op, "bind_call"):
        return op
    try:
        bound = op.bind_call(call, n_inputs)
    except KportError as err:
        raise err.with_context(path=path, layer=layer)
    if again and bound != op:
        raise UnsupportedLayerError("the TensorFlow function layer is called twice with different arguments",
                                    path=path, layer=layer, hint="call each TensorFlow function once")
    return bound


def register() -> None:
    """Installs the class-name normalizer in the config reader."""
    from kport.importers import keras_config

    if normalize_class not in keras_config.CONFIG_NORMALIZERS:
        keras_config.CONFIG_NORMALIZERS.append(normalize_class)
