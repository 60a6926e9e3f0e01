# Two entry points for a fresh clone (only Python 3.11 needed):
#   make demo   sets up .venv, converts a bundled fixture to ONNX and prints the parity verdict
#   make test   sets up .venv with the test extras and runs the whole suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kport-installed

.PHONY: demo test setup fixtures bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/kport inspect fixtures/models/tfkeras/mlp.h5
	$(VENV)/bin/kport convert fixtures/models/tfkeras/mlp.h5 --to onnx -o out/mlp.onnx

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests

fixtures:
	$(PY) -m pip install -q -e ".[all]"
	$(PY) fixtures/make_fixtures.py

clean:
	rm -rf $(VENV) out build *.egg-info
