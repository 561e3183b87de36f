# Two entry points (see README): `make lab` and `make test`. Both create .venv from scratch if needed.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# JupyterLab refuses to run as root unless told (containers often run as root)
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test lint labtest unit bench up down clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The JupyterLab extension (labextension/) is built here with npm whenever its sources change, so a failing
# build stops make with npm's own message; the editable install then finds it up to date (its build hook,
# hatch-jupyter-builder, builds only when jupyter_knative/labextension is missing or older) and copies it into
# $(VENV)/share/jupyter/labextensions/jupyter-knative, so a rebuilt extension means a reinstall.
LAB_SOURCES := $(shell find labextension/src labextension/style labextension/schema -type f 2>/dev/null) \
	$(wildcard labextension/package.json labextension/tsconfig.json labextension/install.json)
LAB_MODULES := labextension/node_modules/.package-lock.json
LAB_BUILT := jupyter_knative/labextension/package.json

$(LAB_MODULES): labextension/package.json labextension/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "error: npm is not installed; it builds the JupyterLab extension in" \
		"labextension/. Install Node.js >= 20.19 with npm (Debian: apt-get install nodejs npm), then run make again." >&2; exit 1; }
	cd labextension && npm ci --no-audit --no-fund
	touch $@

$(LAB_BUILT): $(LAB_SOURCES) $(LAB_MODULES)
	cd labextension && npm run build

$(VENV)/.lab-installed: pyproject.toml $(LAB_BUILT) | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[lab]'
	touch $@

$(VENV)/.test-installed: pyproject.toml $(LAB_BUILT) | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[lab,test]'
	touch $@

lab: $(VENV)/.lab-installed
	$(BIN)/jupyter knative up
	$(BIN)/jupyter lab $(LAB_FLAGS) notebooks/

lint: $(VENV)/.test-installed $(LAB_MODULES)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	cd labextension && npx tsc --noEmit && npm run --silent lint

# jest for the labextension's TypeScript
labtest: $(LAB_MODULES)
	cd labextension && npm test --silent

unit: $(VENV)/.test-installed
	$(BIN)/pytest

test: lint labtest unit

bench: $(VENV)/.test-installed
	$(BIN)/python -m bench

up: $(VENV)/.lab-installed
	$(BIN)/jupyter knative up

down:
	$(BIN)/jupyter knative down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache labextension/node_modules labextension/lib jupyter_knative/labextension
