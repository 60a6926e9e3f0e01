"""Which Keras wrote a file: version string -> flavour, format name and import context."""
from __future__ import annotations

from kport.ir.graph import SourceInfo
from kport.ops.base import ImportContext


def flavor_of(version: str | None) -> str:
    """'keras3', 'tf.keras' or 'keras' (multi-backend Keras 1/2) for a `keras_version` string.

    tf.keras wrote '2.2.4-tf' up to TF 2.3 and plain versions from 2.4.0;
    multi-backend Keras stopped at 2.3.1, so a plain 2.4+ is tf.keras.
    """
    if not version:
        return "keras"
    version = str(version)
    if version.endswith("-tf"):
        return "tf.keras"
    parts = version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return "keras"
    if major >= 3:
        return "keras3"
    return "tf.keras" if major == 2 and minor >= 4 else "keras"


def describe(path: str, container: str, version: str | None, backend: str | None = None
             ) -> tuple[SourceInfo, ImportContext]:
    """Builds the provenance of a file.

    Args:
        path: the file.
        container: format family for the name ('keras', 'json').
        version: the `keras_version` the file records, if any.
        backend: the backend the file records, if any.
    """
    flavor = flavor_of(version)
    prefix = {"keras": "keras", "tf.keras": "tf.keras", "keras3": "keras3"}[flavor]
    if version and str(version).split(".")[0] == "1":
        prefix = "keras1"
    source = SourceInfo(path=path, format=f"{prefix}-{container}", keras_version=version, backend=backend)
    ctx = ImportContext(path=path, keras_major=source.keras_major, keras_version=version, backend=backend,
                        flavor=flavor)
    return source, ctx
