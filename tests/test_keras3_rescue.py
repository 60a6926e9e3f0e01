"""tf.keras 2.x files that Keras 3 itself cannot load become .keras files that it loads and runs identically."""
from pathlib import Path

import numpy as np
import pytest

import kport

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "fixtures" / "models" / "tfkeras"
# tf_keras writes `groups: 1` into DepthwiseConv2D configs, which Keras 3 refuses to load
CASES = ["mini_mobilenet", "separable_depthwise"]


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_kport_written_keras_file_loads_where_the_original_does_not(case, tmp_path):
    pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    source = MODELS / f"{case}.h5"
    with pytest.raises(Exception) as refused:
        keras.models.load_model(str(source), compile=False)
    assert "groups" in str(refused.value) or "Unrecognized" in str(refused.value), str(refused.value)

    out = tmp_path / f"{case}.keras"
    report = kport.convert(str(source), str(out), to="keras")
    assert report.ok, report.summary()
    model = keras.models.load_model(str(out), compile=False)
    io = np.load(MODELS / f"{case}.npz")
    inputs = [io[k] for k in sorted(io.files) if k.startswith("input_")]
    got = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    got = got if isinstance(got, list) else [got]
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, io[f"output_{i}"], atol=1e-5, rtol=1e-4)
