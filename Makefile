# Two entry points (see README): `make lab` and `make test`. Both create .venv from scratch if needed.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# JupyterLab refuses to run as root unless told (containers often run as root)
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test lint unit bench up down clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.lab-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[lab]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[lab,test]'
	touch $@

lab: $(VENV)/.lab-installed
	$(BIN)/jupyter knative up
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(VENV)/.test-installed
	$(BIN)/pytest

test: lint unit

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench

up: $(VENV)/.lab-installed
	$(BIN)/jupyter knative up

down:
	$(BIN)/jupyter knative down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
