# The commands people type. `make demo` and `make test` are the two set-up
# commands in README.md; CI runs `make lint test` (see .ci/run).

CARGO ?= cargo
PYTHON ?= python3
BIN := target/release/trailwatch
VENV := .venv
# Python tools, pinned, installed into the project's own virtualenv.
PY_TOOLS := moto[server]==5.2.5 cargo-lambda==1.9.2

.PHONY: demo test lint bench build-cli invoke invoke-summary local venv clean

## Build the CLI and scan the bundled sample logs.
demo: build-cli
	$(BIN) scan events/cloudtrail --stats

build-cli:
	$(CARGO) build --release --locked -p trailwatch

## Every test: unit, sample logs, CLI end to end, the differential test
## against the independent filter-pattern implementation, rule examples.
test: venv
	$(CARGO) test --workspace --locked
	$(CARGO) run --quiet --locked -p trailwatch -- rules test

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

## Throughput and peak memory against the gunzip floor (see BENCHMARKS.md).
bench:
	$(CARGO) bench --locked -p trailwatch-core --bench throughput

## The detection function under `cargo lambda watch`, invoked with
## events/s3-put.json against a local moto server; prints the alerts.
invoke: venv
	$(VENV)/bin/python functions/local/run.py invoke

## Every sample log through the detection function, then the summary
## function with events/schedule.json; prints alerts and the report.
invoke-summary: venv
	$(VENV)/bin/python functions/local/run.py invoke-summary

## The Python tools the tests and local runs use (moto, cargo-lambda).
venv: $(VENV)/.installed

$(VENV)/.installed: Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PY_TOOLS)
	touch $@

clean:
	$(CARGO) clean
	rm -rf $(VENV)
