# trailkit: two commands on a fresh machine.
#   make lab    JupyterLab on notebooks/, backed by the embedded demo AWS
#   make app    the guided update as a standalone web app (Voila), on the demo AWS
#   make test   the whole suite: ruff, import contracts, mypy, pytest (notebooks and browser tests included)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
PIP    := $(BIN)/python -m pip --quiet --disable-pip-version-check

# What is installed, and for which pyproject.toml: `make lab`, `app`, `demo` and `bench` need the
# lab's extras; `make test` adds the test tools (a later `make lab` then installs nothing).
SUM        := $(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
LAB_STAMP  := $(VENV)/.installed-lab-$(SUM)
TEST_STAMP := $(VENV)/.installed-test-$(SUM)

.PHONY: lab app demo test lint contracts typecheck pytest bench clean constraints

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(LAB_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[demo,notebook]'
	$(BIN)/python tools/messages.py --compile
	@rm -f $(filter-out $(TEST_STAMP),$(wildcard $(VENV)/.installed-*))
	@touch $(LAB_STAMP)

$(TEST_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[demo,notebook,test]'
	$(BIN)/python tools/messages.py --compile
	@rm -f $(wildcard $(VENV)/.installed-*)
	@touch $(LAB_STAMP) $(TEST_STAMP)

lab: $(LAB_STAMP)
	$(BIN)/trailkit lab --port $(PORT)

app: $(LAB_STAMP)
	$(BIN)/trailkit app

demo: $(LAB_STAMP)
	$(BIN)/trailkit demo

lint: $(TEST_STAMP)
	$(BIN)/ruff check trailkit tests bench tools
	$(BIN)/ruff format --check trailkit tests bench tools

contracts: $(TEST_STAMP)
	$(BIN)/lint-imports --no-cache

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

pytest: $(TEST_STAMP)
	$(BIN)/python -m pytest

test: lint contracts typecheck pytest

bench: $(LAB_STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/inventory.py
	$(BIN)/python bench/org.py

# Pin what the suite passes with now (run after `make test` passes with newer packages).
constraints: $(TEST_STAMP)
	@sed -n '/^#/p' constraints.txt > constraints.new
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check | grep -v '^#' >> constraints.new
	mv constraints.new constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache test-artifacts
