"""kport's error types: every failure a user can cause is one of these.

Each error carries the file, the layer (when known) and a hint saying what to
do, so the CLI can print one clear line instead of a traceback.
"""
from __future__ import annotations


class KportError(Exception):
    """Base class of every user-facing kport failure.

    Attributes:
        message: what went wrong.
        path: the file being read or written, if any.
        layer: the Keras layer name involved, if any.
        hint: what the user can do about it.
    """

    def __init__(self, message: str, *, path: str | None = None, layer: str | None = None,
                 hint: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.layer = layer
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        """Returns the one-line message the CLI prints."""
        where = []
        if self.path:
            where.append(self.path)
        if self.layer:
            where.append(f"layer '{self.layer}'")
        text = (": ".join([", ".join(where), self.message]) if where else self.message)
        if self.hint:
            text += f" ({self.hint})"
        return text

    def with_context(self, *, path: str | None = None, layer: str | None = None) -> "KportError":
        """Fills in the file or layer when a lower level did not know them."""
        if path is not None and self.path is None:
            self.path = str(path)
        if layer is not None and self.layer is None:
            self.layer = layer
        self.args = (self.format(),)
        return self


class FormatError(KportError):
    """The file is not a model file kport can read, or it is corrupt."""


class UnsupportedLayerError(KportError):
    """A layer class kport has no op for."""


class WeightError(KportError):
    """Weights are missing, extra, or of the wrong shape."""


class ShapeError(KportError):
    """Tensor shapes do not fit a layer."""


class UnsafeContentError(KportError):
    """The file asks to run code (pickle globals, Lambda bytecode) that kport refuses."""


class ExportError(KportError):
    """A target format cannot express part of the model."""


class ParityError(KportError):
    """Two backends disagree beyond tolerance."""


class BackendUnavailableError(KportError):
    """A runtime or exporter needs a package that is not installed."""
