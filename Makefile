# Two entry points for a fresh clone (only Python 3.11 needed):
#   make demo   sets up .venv, converts a bundled fixture to ONNX and prints the parity verdict
#   make test   sets up .venv with every extra (the real-Keras, torch and TF oracles) and runs the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kport-installed-all
DEMO_STAMP := $(VENV)/.kport-installed-onnx

.PHONY: demo test setup fixtures bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e ".[all]"
	touch $(STAMP)

# the demo needs only the core and onnxruntime: no TensorFlow, no torch
$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e ".[onnx]"
	touch $(DEMO_STAMP)

setup: $(STAMP)

demo: $(DEMO_STAMP)
	$(VENV)/bin/kport inspect fixtures/models/tfkeras/mlp.h5
	$(VENV)/bin/kport convert fixtures/models/tfkeras/mlp.h5 --to onnx -o out/mlp.onnx

test: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m pytest -q -p no:cacheprovider tests

fixtures: $(STAMP)
	$(PY) fixtures/make_fixtures.py

clean:
	rm -rf $(VENV) out build *.egg-info
