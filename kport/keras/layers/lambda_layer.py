"""`Lambda`: wraps a Python function of torch tensors as a layer.

Its config is tf.keras's: a Python function is written as its marshalled bytecode
(`function_type: 'lambda'`, base64 of `marshal.dumps(code)`, defaults, closure
values), as tf.keras's `func_dump` writes it, so tf_keras loads a kport-saved
Lambda (with `custom_objects` for any names the function uses). Reading bytecode
back runs code from the file: `from_config` refuses it unless `safe_mode=False`.
"""
from __future__ import annotations

from typing import Callable

from kport.keras.engine.base_layer import Layer


class Lambda(Layer):
    """Applies `function(inputs, **arguments)`; `output_shape` (shape or function) skips the dry run."""

    def __init__(self, function: Callable, output_shape=None, mask=None, arguments: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self._output_shape = output_shape
        self.arguments = arguments or {}

    def call(self, inputs, mask=None, training=None):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (first[0],) + tuple(self._output_shape)

    def get_config(self) -> dict:
        function, function_type, module = _function_config(self.function, "function")
        shape, shape_type, shape_module = _function_config(self._output_shape, "output_shape", allow_raw=True)
        config = super().get_config()
        config.update({"function": function, "function_type": function_type, "module": module,
                       "output_shape": shape, "output_shape_type": shape_type, "output_shape_module": shape_module,
                       "arguments": dict(self.arguments)})
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "Lambda":
        """A Lambda from a tf.keras config; bytecode ('lambda' type) loads only with `safe_mode=False`.

        Raises:
            ValueError: the config holds bytecode and safe_mode is on, or names a function that is
                neither in `custom_objects` nor importable from its module.
        """
        config = dict(config)
        name = config.get("name", "lambda")
        function = _function_from_config(config, "function", "function_type", "module", custom_objects, safe_mode,
                                         name)
        output_shape = _function_from_config(config, "output_shape", "output_shape_type", "output_shape_module",
                                             custom_objects, safe_mode, name)
        for key in ("function", "function_type", "module", "output_shape", "output_shape_type",
                    "output_shape_module", "mask", "mask_type", "mask_module"):
            config.pop(key, None)
        if isinstance(output_shape, list):
            output_shape = tuple(output_shape)
        return cls(function, output_shape=output_shape, **config)


def _function_config(value, what: str, allow_raw: bool = False) -> tuple:
    """(value, type, module) as tf.keras writes a function-valued Lambda setting."""
    import types

    if isinstance(value, types.LambdaType):  # every Python function, named or not, as in tf.keras
        return list(_func_dump(value)), "lambda", value.__module__
    if callable(value):
        return value.__name__, "function", getattr(value, "__module__", None)
    if allow_raw:
        return (list(value) if isinstance(value, tuple) else value), "raw", None
    raise ValueError(f"Lambda {what} must be a Python function, got {type(value).__name__}")


def _func_dump(function) -> tuple:
    """(base64 marshalled code, defaults, closure cell values), tf.keras's `func_dump` layout."""
    import codecs
    import marshal

    code = codecs.encode(marshal.dumps(function.__code__), "base64").decode("ascii")
    closure = tuple(cell.cell_contents for cell in function.__closure__) if function.__closure__ else None
    return code, function.__defaults__, closure


def _function_from_config(config: dict, key: str, type_key: str, module_key: str, custom_objects: dict | None,
                          safe_mode: bool, layer: str):
    kind = config.get(type_key, "raw")
    value = config.get(key)
    if kind == "raw" or value is None:
        return value
    objects = dict(custom_objects or {})
    if kind == "function":
        if value in objects:
            return objects[value]
        module = config.get(module_key)
        found = getattr(_module(module), value, None) if module else None
        if found is None:
            raise ValueError(f"Lambda layer '{layer}' uses the function {value!r}: pass it in custom_objects "
                             f"({{{value!r}: {value}}})")
        return found
    if kind != "lambda":
        raise ValueError(f"Lambda layer '{layer}': unknown {type_key} {kind!r}")
    if safe_mode:
        raise ValueError(f"Lambda layer '{layer}' holds Python bytecode; loading it runs code from the file. "
                         "If you trust the file, pass safe_mode=False to load_model")
    return _func_load(value, config.get(module_key), objects)


def _module(name: str | None):
    import sys

    return sys.modules.get(name) if name else None


def _func_load(dumped, module: str | None, custom_objects: dict):
    """The function back from `_func_dump`'s layout (tf.keras's `func_load`), globals from its module."""
    import codecs
    import marshal
    import types

    code, defaults, closure = (list(dumped) + [None, None])[:3] if isinstance(dumped, (list, tuple)) else \
        (dumped, None, None)
    raw = codecs.decode(code.encode("ascii"), "base64")
    try:
        code_object = marshal.loads(raw)
    except (ValueError, EOFError, TypeError) as err:
        raise ValueError("Lambda bytecode was written by another Python version and cannot be loaded here; "
                         "re-create the Lambda layer in code and load the weights") from err
    globs = dict(vars(_module(module))) if _module(module) is not None else {}
    globs.update(custom_objects)
    cells = tuple(_cell(v) for v in closure) if closure else None
    return types.FunctionType(code_object, globs, code_object.co_name, tuple(defaults) if defaults else None, cells)


def _cell(value):
    import types

    return types.CellType(value)
