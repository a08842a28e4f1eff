# The two commands a new user needs are `make run` and `make test`; everything else is a helper.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Re-install whenever the pinned requirements change.
INSTALLED := $(VENV)/.installed
DATA_DIR ?= .data
# include/ (emulator, sample data, helpers) is not installed; our package is, by `make install` (editable).
export PYTHONPATH := $(CURDIR)/include

.PHONY: install browser run demo airflow test typecheck emulator lint lint-specs sample-data bench-qualify bench-leads bench-faults bench-parse bench-dataverse-source bench-trigger bench-sync clean
PEOPLE ?= 5000
# Change activities (data_value_changed, score_changed) in the sample data of run, demo and sample-data.
CHANGES ?= 3000
# Ports of `make run`; a busy one is named at start-up with the variable that moves it.
EMULATOR_PORT ?= 8443
AIRFLOW_PORT ?= 8080
PORTS := --emulator-port $(EMULATOR_PORT) --airflow-port $(AIRFLOW_PORT)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(INSTALLED): requirements.txt constraints.txt pyproject.toml | $(PY)
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	# Our package, the one way every process imports it, and an Airflow provider (connection type "dynamics");
	# editable, so plugins/ stays the source. --no-deps: its dependencies are the pins installed above.
	$(PY) -m pip install -q -e . --no-deps --no-build-isolation
	touch $@

install: $(INSTALLED)

## Start the Dataverse emulator and Airflow (UI on http://127.0.0.1:8080); Ctrl-C stops both.
run: install
	$(PY) include/local_stack.py run --data-dir $(DATA_DIR) --people $(PEOPLE) --changes $(CHANGES) $(PORTS)

## Run each example campaign sync once, headless, and print a summary table.
demo: install
	$(PY) include/local_stack.py demo --data-dir $(DATA_DIR) --people $(PEOPLE) --changes $(CHANGES) $(PORTS)

## The Airflow CLI against the stack `make run` set up, e.g. make airflow ARGS='dags list'.
airflow: install
	@$(PY) include/local_stack.py --data-dir $(DATA_DIR) --airflow-port $(AIRFLOW_PORT) airflow $(ARGS)

## The whole test suite, end-to-end tests included, after the type check.
test: install browser typecheck
	$(PY) -m pytest

## Type-check plugins/ with mypy (settings in pyproject.toml; no error is allowed).
typecheck: install
	$(PY) -m mypy

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

## Validate every campaign spec in dags/campaigns, or SPECS=<files or folders> (exit 1 naming file and field on
## any error), then check each against its source where reachable (missing columns, features its database lacks).
lint-specs: install
	$(PY) -m dynamics_campaign_sync.spec.validate $(SPECS)
	CAMPAIGN_SYNC_DATA_DIR=$(DATA_DIR)/demo $(PY) -m dynamics_campaign_sync.qualification.compiler.lint $(SPECS)

## Sample people and activities into .data/source.duckdb (PEOPLE=..., ACTIVITIES=..., CHANGES=...; --db x.db for
## SQLite).
ACTIVITIES ?= 200000
sample-data: install
	$(PY) -m sample_data --people $(PEOPLE) --activities $(ACTIVITIES) --changes $(CHANGES) --emulator-seed $(DATA_DIR)/emulator_seed.json

## Qualification benchmark: the compiled query vs hand-written DuckDB/PostgreSQL queries (prints tables;
## BENCH_ARGS='--people 100000 --activities 2000000 --scaling 100000,1000000' for other sizes), then people
## from Dynamics: LEADS leads in the emulator, a full and a change-tracked read (LEADS=0 skips it).
LEADS ?= 100000
bench-qualify: install
	$(PY) include/benchmarks/bench_qualify.py $(BENCH_ARGS)
	@[ "$(LEADS)" = 0 ] || $(PY) include/benchmarks/bench_dataverse_source.py --leads $(LEADS)

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

## People from Dynamics: 100,000 leads in the emulator, a full read and a change-tracked read after 1 % changed.
bench-dataverse-source: install
	$(PY) include/benchmarks/bench_dataverse_source.py --leads $(LEADS)

## Trigger campaign latency, activity insert to member in Dynamics, with a real scheduler and triggerer (RATES=1,10).
RATES ?= 1,10
bench-trigger: install
	$(PY) include/benchmarks/bench_trigger.py --rates $(RATES)

clean:
	rm -rf $(DATA_DIR) .pytest_cache .mypy_cache
