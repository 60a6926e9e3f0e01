"""Every op kind is complete: numpy reference, ONNX hook (or a written reason), current docs."""
from pathlib import Path

import pytest

from kport.ops.base import Op
from kport.ops.registry import all_ops
from kport.support import has_hook, support_table

OPS = sorted(all_ops().items())
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("kind,cls", OPS, ids=[k for k, _ in OPS])
def test_op_has_numpy_reference(kind, cls):
    assert cls.reference is not Op.reference, f"{kind} has no numpy reference"


@pytest.mark.parametrize("kind,cls", OPS, ids=[k for k, _ in OPS])
@pytest.mark.parametrize("backend", ["onnx"])
def test_op_has_hook_or_reason(kind, cls, backend):
    assert has_hook(cls, backend) or cls.no_hook.get(backend), (
        f"{kind} has no {backend} hook and no written reason in no_hook")


def test_keras_class_names_are_unique():
    seen = {}
    for kind, cls in OPS:
        for name in cls.keras_classes or (kind,):
            assert name not in seen, f"Keras class {name} claimed by {seen.get(name)} and {kind}"
            seen[name] = kind


def test_support_table_is_current():
    committed = (ROOT / "docs" / "SUPPORT.md").read_text()
    assert committed == support_table(), "docs/SUPPORT.md is stale: run `kport ops --markdown > docs/SUPPORT.md`"


def test_op_index_is_current():
    import json

    from kport.ops.registry import INDEX_FILE, build_index

    assert json.loads(INDEX_FILE.read_text()) == build_index(), (
        "kport/ops/index.json is stale: run `python -c 'from kport.ops.registry import write_index; write_index()'`")
