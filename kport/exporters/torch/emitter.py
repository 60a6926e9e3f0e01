"""The builder torch hooks emit into: submodules named after Keras layers, and forward lines."""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field

import numpy as np

from kport.exporters.torch.layouts import SAME


@dataclass
class ParamSpec:
    """One torch parameter or buffer of a layer's submodule and where it comes from in Keras.

    Attributes:
        keras_name: the Keras weight it is made from, or None for a constant.
        layout: invertible transform Keras -> torch (see layouts.py).
        extra: True for a second torch parameter adding into the same Keras weight
            (torch's b_hh beside b_ih): it starts at zero and is summed back.
        constant: the value of a parameter with no Keras weight (e.g. a step counter).
    """

    keras_name: str | None
    layout: object = SAME
    extra: bool = False
    constant: np.ndarray | None = None


@dataclass
class Submodule:
    attr: str
    layer: str
    code: str
    params: dict[str, ParamSpec] = field(default_factory=dict)


class TorchEmitter:
    """Collects `__init__` submodules, `forward` lines, helper sources and the state_dict."""

    def __init__(self):
        self.submodules: list[Submodule] = []
        self.forward_lines: list[str] = []
        self.helpers: dict[str, str] = {}
        self.state: dict[str, np.ndarray] = {}
        self._names: set[str] = set()
        self._vars = 0
        self.layer = ""

    # ---- names --------------------------------------------------------------
    def identifier(self, name: str) -> str:
        """A unique python identifier made from a Keras name."""
        ident = re.sub(r"\W", "_", name)
        if not ident or ident[0].isdigit() or keyword.iskeyword(ident):
            ident = f"l_{ident}"
        base, n = ident, 1
        while ident in self._names:
            ident = f"{base}_{n}"
            n += 1
        self._names.add(ident)
        return ident

    def var(self) -> str:
        """A fresh local variable name for forward()."""
        self._vars += 1
        return f"x{self._vars}"

    # ---- emission -------------------------------------------------------------
    def submodule(self, code: str, weights: dict[str, np.ndarray], params: dict[str, ParamSpec],
                  suffix: str = "") -> str:
        """Declares `self.<layer> = <code>` and its parameters; returns `self.<attr>`.

        Args:
            code: constructor expression, e.g. `nn.Linear(3, 4)`.
            weights: the layer's Keras weights.
            params: torch parameter name -> where it comes from in Keras.
            suffix: distinguishes several submodules of one layer.
        """
        attr = self.identifier(self.layer + suffix)
        sub = Submodule(attr, self.layer, code, dict(params))
        self.submodules.append(sub)
        for pname, spec in params.items():
            if spec.keras_name is None:
                value = np.asarray(spec.constant)
            else:
                value = np.asarray(spec.layout.to_torch(weights[spec.keras_name]), dtype=np.float32)
                if spec.extra:
                    value = np.zeros_like(value)
            self.state[f"{attr}.{pname}"] = value
        return f"self.{attr}"

    def line(self, expr: str) -> str:
        """Emits `v = expr` in forward and returns `v`."""
        name = self.var()
        self.forward_lines.append(f"{name} = {expr}")
        return name

    def helper(self, name: str, source: str) -> str:
        """Adds a helper function or class to the generated file once; returns its name."""
        self.helpers.setdefault(name, source.strip() + "\n")
        return name
