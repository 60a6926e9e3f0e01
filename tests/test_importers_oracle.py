"""The importer fixtures still agree with the Keras that wrote them (needs TensorFlow).

Each producer reloads its own `.keras` and `.h5` files and predicts on the
stored inputs; the stored outputs must match, so the committed expectations
cannot drift from real Keras.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

from importer_files import MANIFEST, fixture

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CASES = [(e["case"], e["producer"], fmt) for e in MANIFEST for fmt in ("keras", "h5")]


def _keras(producer: str):
    pytest.importorskip("tensorflow")
    return pytest.importorskip("keras" if producer == "keras3" else "tf_keras")


@pytest.mark.slow
@pytest.mark.parametrize("case,producer,fmt", CASES, ids=["-".join(c) for c in CASES])
def test_producer_reloads_its_file_and_reproduces_the_outputs(case, producer, fmt):
    keras = _keras(producer)
    e = next(x for x in MANIFEST if x["case"] == case and x["producer"] == producer)
    model = keras.models.load_model(fixture(producer, e["files"][fmt]), compile=False)
    data = np.load(fixture(producer, e["io"]))
    xs = [data[f"input_{i}"] for i in range(len(model.inputs))]
    ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    ys = ys if isinstance(ys, list) else [ys]
    for i, y in enumerate(ys):
        np.testing.assert_allclose(y, data[f"output_{i}"], atol=e["atol"], rtol=e["rtol"])
