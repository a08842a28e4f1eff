# The two commands a new user needs are `make run` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install whenever the pinned requirements change.
INSTALLED := $(VENV)/.installed
DATA_DIR ?= .data
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include

.PHONY: install run test emulator lint lint-specs demo clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(INSTALLED): requirements.txt constraints.txt pyproject.toml | $(PY)
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	# Our package as an Airflow provider (connection type "dynamics"); editable, so plugins/ stays the source.
	$(PY) -m pip install -q -e . --no-deps --no-build-isolation
	touch $@

install: $(INSTALLED)

## Start the Dataverse emulator and Airflow (UI on http://127.0.0.1:8080); Ctrl-C stops both.
run: install
	$(PY) include/local_stack.py --data-dir $(DATA_DIR)

## The whole test suite, end-to-end tests included.
test: install
	$(PY) -m pytest

## The local Dataverse emulator alone, in the foreground.
emulator: install
	$(PY) -m dataverse_emulator --data-dir $(DATA_DIR)/emulator --port 8443

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf $(DATA_DIR) .pytest_cache
