# Every target installs what it needs into .venv from the project's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

PYTHON_VERSION ?= 3.10

.PHONY: demo test lint package bench reliability clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tools.demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check handler tests tools
	$(BIN)/mypy

package: $(STAMP)
	$(BIN)/python -m tools.package --python-version $(PYTHON_VERSION)

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
