# The commands people type. `make demo` and `make test` are the two set-up
# commands in README.md; CI runs `make lint test` (see .ci/run).

CARGO ?= cargo
PYTHON ?= python3
BIN := target/release/trailwatch
VENV := .venv
# checkov pins versions that conflict with SAM CLI's, so it has its own virtualenv.
VENV_SCAN := .venv-scan
SCAN_TOOLS := checkov==3.3.30
# Python tools, pinned, installed into the project's own virtualenv.
PY_TOOLS := moto[server]==5.2.5 cargo-lambda==1.9.2 ziglang==0.17.0 cfn-lint==1.58.0 aws-sam-cli==1.170.0 duckdb==2.0.0
# Tools from the virtualenv first; SAM's telemetry off; a region for validation.
TOOLS_ENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}

.PHONY: demo test lint bench detections build-cli template-check build deploy invoke invoke-summary local venv venv-scan fuzz-check clean

## Build the CLI and scan the bundled sample logs.
demo: build-cli
	$(BIN) scan events/cloudtrail --stats

build-cli:
	$(CARGO) build --release --locked -p trailwatch

## Every test: unit, sample logs, CLI end to end, the differential test
## against the independent filter-pattern implementation, rule examples,
## and the Athena named queries run in DuckDB against `trailwatch query`.
test: venv template-check
	$(CARGO) test --workspace --locked
	$(CARGO) run --quiet --locked -p trailwatch -- rules test
	$(CARGO) build --quiet --locked -p trailwatch
	$(VENV)/bin/python functions/local/athena_queries.py target/debug/trailwatch
	$(MAKE) fuzz-check

## Noise and coverage of the default rules on a generated week (DETECTIONS.md).
detections:
	$(CARGO) test --release --locked -p trailwatch-core --test it benign_week -- --nocapture

## The fuzz targets stay buildable (running them needs cargo-fuzz and a
## nightly toolchain: cd shared/fuzz && cargo fuzz run reader|pattern|envelope|s3_key).
fuzz-check:
	CARGO_TARGET_DIR=target/fuzz $(CARGO) check --locked --manifest-path shared/fuzz/Cargo.toml

## The SAM template: both linters, the security assertions, then checkov
## (its accepted findings are listed, with reasons, in functions/local/checkov-accepted.yaml).
template-check: venv venv-scan
	$(TOOLS_ENV) cfn-lint template.yaml
	$(TOOLS_ENV) sam validate --lint --template template.yaml
	$(VENV)/bin/python functions/local/check_template.py
	$(VENV_SCAN)/bin/python functions/local/scan_template.py $(VENV_SCAN)/bin/checkov

## Both Lambda bootstraps (arm64, release) with cargo-lambda, through SAM.
build: venv
	$(TOOLS_ENV) sam build --template template.yaml

## First deployment: asks for the parameters and remembers them.
deploy: build
	$(TOOLS_ENV) sam deploy --guided

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

## Throughput and peak memory against the gunzip floor, and the detection
## handler's memory on a file where every record matches (see BENCHMARKS.md).
bench:
	$(CARGO) bench --locked -p trailwatch-core --bench throughput
	$(CARGO) bench --locked -p trailwatch-detect --bench memory

## The detection function under `cargo lambda watch`, invoked with
## events/s3-put.json against a local moto server; prints the alerts.
invoke: venv
	$(VENV)/bin/python functions/local/run.py invoke

## Every sample log through the detection function, then the summary
## function with events/schedule.json; prints alerts and the report.
invoke-summary: venv
	$(VENV)/bin/python functions/local/run.py invoke-summary

## What the template creates, locally: moto server, buckets, topics, a
## subscribed queue; every sample log through detect, then summary.
local: venv
	$(VENV)/bin/python functions/local/run.py all

## The Python tools the tests and local runs use (moto, cargo-lambda).
venv: $(VENV)/.installed

venv-scan: $(VENV_SCAN)/.installed

$(VENV_SCAN)/.installed: Makefile
	$(PYTHON) -m venv $(VENV_SCAN)
	$(VENV_SCAN)/bin/pip install --quiet --disable-pip-version-check $(SCAN_TOOLS)
	touch $@

$(VENV)/.installed: Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(PY_TOOLS)
	touch $@

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(VENV_SCAN)
