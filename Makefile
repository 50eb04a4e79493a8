# trailkit: two commands on a fresh machine.
#   make lab    JupyterLab on notebooks/, backed by the embedded demo AWS
#   make app    the guided update as a standalone web app (Voila), on the demo AWS
#   make test   the whole suite: ruff, import contracts, mypy, pytest (notebooks and browser tests included)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PORT   ?= 8888

.PHONY: lab app demo test lint contracts typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo,notebook,test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/trailkit lab --port $(PORT)

app: $(STAMP)
	$(BIN)/trailkit app

demo: $(STAMP)
	$(BIN)/trailkit demo

lint: $(STAMP)
	$(BIN)/ruff check trailkit tests bench tools
	$(BIN)/ruff format --check trailkit tests bench tools

contracts: $(STAMP)
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest

test: lint contracts typecheck pytest

bench: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/inventory.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
