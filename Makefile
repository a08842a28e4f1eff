# The two commands a new user needs are `make run` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install whenever the pinned requirements change.
INSTALLED := $(VENV)/.installed
DATA_DIR ?= .data
export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)/include

.PHONY: install browser run demo airflow test emulator lint lint-specs sample-data bench-qualify bench-leads bench-faults bench-parse bench-sync clean
PEOPLE ?= 5000
# Ports of `make run`; a busy one is named at start-up with the variable that moves it.
EMULATOR_PORT ?= 8443
AIRFLOW_PORT ?= 8080
PORTS := --emulator-port $(EMULATOR_PORT) --airflow-port $(AIRFLOW_PORT)

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
	$(PY) include/local_stack.py run --data-dir $(DATA_DIR) --people $(PEOPLE) $(PORTS)

## Run each example campaign sync once, headless, and print a summary table.
demo: install
	$(PY) include/local_stack.py demo --data-dir $(DATA_DIR) --people $(PEOPLE) $(PORTS)

## The Airflow CLI against the stack `make run` set up, e.g. make airflow ARGS='dags list'.
airflow: install
	@$(PY) include/local_stack.py --data-dir $(DATA_DIR) --airflow-port $(AIRFLOW_PORT) airflow $(ARGS)

## The whole test suite, end-to-end tests included.
test: install browser
	$(PY) -m pytest

## Debian's Chromium for the dashboard's browser test (never a downloaded browser); its tests skip without it.
browser:
	@[ -x /usr/bin/chromium ] || (command -v apt-get >/dev/null && \
	  (apt-get install -y -q chromium >/dev/null 2>&1 || \
	   (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1))) || \
	  echo "Chromium could not be installed: the browser tests will be skipped"

## The local Dataverse emulator alone, in the foreground.
emulator: install
	$(PY) -m dataverse_emulator --data-dir $(DATA_DIR)/emulator --port $(EMULATOR_PORT)

lint: install
	$(PY) -m ruff check .

## Validate every campaign spec in dags/campaigns (exit 1 naming file and field on any error).
lint-specs: install
	$(PY) -m dynamics_campaign_sync.spec.validate

## Sample people and activities into .data/source.db (PEOPLE=..., ACTIVITIES=...).
ACTIVITIES ?= 200000
sample-data: install
	$(PY) -m sample_data --people $(PEOPLE) --activities $(ACTIVITIES) --emulator-seed $(DATA_DIR)/emulator_seed.json

## Qualification benchmark: 1M people, 20M activities, compared with DuckDB (prints a table).
bench-qualify: install
	$(PY) include/benchmarks/bench_qualify.py

## Lead creation for email-only people: one POST each vs $batch (prints a table).
bench-leads: install
	$(PY) include/benchmarks/bench_create_leads.py

## Member writes under injected faults and a SIGKILL, on a PostgreSQL ledger (prints figures).
bench-faults: install
	$(PY) include/benchmarks/bench_faults.py

## A 100,000-person first sync with 1 s per AddListMembersList: time per phase, requests in flight (prints figures).
bench-sync: install
	$(PY) include/benchmarks/bench_sync.py

## What parsing the DAG files costs a dag-processor, for 3 and 200 specs (prints a table).
bench-parse: install
	$(PY) include/benchmarks/bench_parse.py

clean:
	rm -rf $(DATA_DIR) .pytest_cache
