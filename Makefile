# The commands people type. `make demo` and `make test` are the two set-up
# commands in README.md; CI runs `make lint test` (see .ci/run).

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
# Python tools, pinned, installed into the project's own virtualenv by what
# needs them (sizes and times on two cores are in README.md, "Try it"):
# `make test`: the AWS emulator, both template linters, DuckDB for the Athena queries,
# pySigma and its SQLite backend for the Sigma differential test.
TEST_TOOLS := moto[server]==5.2.5 cfn-lint==1.58.0 aws-sam-cli==1.170.0 duckdb==2.0.0 pysigma==2.0.0 pysigma-backend-sqlite==1.1.3
# `make invoke`, `make local`, `make build`, `make deploy`: cargo-lambda (the
# functions under `cargo lambda watch`) and zig (its arm64 cross-build).
LAMBDA_TOOLS := cargo-lambda==1.9.2 ziglang==0.17.0
# checkov pins versions that conflict with SAM CLI's, so it has its own virtualenv.
VENV_SCAN := .venv-scan
SCAN_TOOLS := checkov==3.3.30
PIP := pip install --disable-pip-version-check --progress-bar on
# Tools from the virtualenv first; SAM's telemetry off; a region for validation.
TOOLS_ENV := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}

.PHONY: demo test lint bench detections build-cli man template-check build deploy invoke invoke-summary local venv venv-lambda venv-scan fuzz-check clean

## Build the CLI (debug, without the AWS SDK: local files only) and scan the bundled sample logs.
demo:
	$(CARGO) run --locked -p trailwatch --no-default-features -- scan events/cloudtrail --stats

## The CLI for real use: target/release/trailwatch.
build-cli:
	$(CARGO) build --release --locked -p trailwatch

## The man pages, from the CLI's own definitions, into target/man
## (man -l target/man/trailwatch.1).
man:
	$(CARGO) run --quiet --locked -p trailwatch -- man target/man

## Every test: unit, sample logs, CLI end to end, the differential test
## against the independent filter-pattern implementation, rule examples,
## the Athena named queries run in DuckDB against `trailwatch query`, and
## the Sigma rules' verdicts against pySigma's.
test: venv template-check
	$(CARGO) test --workspace --locked
	$(CARGO) run --quiet --locked -p trailwatch -- rules test events/sigma --sigma-placeholders events/sigma-placeholders.yml
	$(CARGO) build --quiet --locked -p trailwatch
	$(VENV)/bin/python functions/local/athena_queries.py target/debug/trailwatch
	$(VENV)/bin/python functions/local/sigma_differential.py target/debug/trailwatch
	$(MAKE) fuzz-check

## Noise and coverage of the default rules on a generated week (DETECTIONS.md).
detections:
	$(CARGO) test --release --locked -p trailwatch-core --test it -- benign_week stratus --nocapture --test-threads 1

## The fuzz targets stay buildable (running them needs cargo-fuzz and a
## nightly toolchain: cd shared/fuzz && cargo fuzz run reader|pattern|envelope|s3_key|digest|rules).
fuzz-check:
	CARGO_TARGET_DIR=target/fuzz $(CARGO) check --locked --manifest-path shared/fuzz/Cargo.toml

## The SAM template, log-archive.yaml (an organization's log-archive account) and forwarder.yaml (the real-time lane's
## forwarder for other regions and accounts): both linters, the security assertions, then checkov
## (its accepted findings are listed, with reasons, in functions/local/checkov-accepted.yaml).
template-check: venv venv-scan
	$(TOOLS_ENV) cfn-lint template.yaml log-archive.yaml forwarder.yaml
	$(TOOLS_ENV) sam validate --lint --template template.yaml
	$(TOOLS_ENV) sam validate --lint --template log-archive.yaml
	$(TOOLS_ENV) sam validate --lint --template forwarder.yaml
	$(VENV)/bin/python functions/local/check_template.py
	$(VENV_SCAN)/bin/python functions/local/scan_template.py $(VENV_SCAN)/bin/checkov

## Both Lambda bootstraps (arm64, release) with cargo-lambda, through SAM.
build: venv venv-lambda
	$(TOOLS_ENV) sam build --template template.yaml

## First deployment: asks for the parameters and remembers them.
deploy: build
	$(TOOLS_ENV) sam deploy --guided

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

## Throughput and peak memory against the gunzip floor, and the detection
## handler's memory on a file where every record matches, and the CLI's peak
## memory on crafted large values (see BENCHMARKS.md).
bench:
	$(CARGO) bench --locked -p trailwatch-core --bench throughput
	$(CARGO) bench --locked -p trailwatch-detect --bench memory
	$(CARGO) bench --locked -p trailwatch --bench hostile

## The detection function under `cargo lambda watch`, invoked with
## events/s3-put.json against a local moto server; prints the alerts.
invoke: venv venv-lambda
	$(VENV)/bin/python functions/local/run.py invoke

## Every sample log through the detection function, then the summary
## function with events/schedule.json; prints alerts and the report.
invoke-summary: venv venv-lambda
	$(VENV)/bin/python functions/local/run.py invoke-summary

## What the template creates, locally: moto server, buckets, topics, a
## subscribed queue; every sample log through detect; the real-time lane
## (EventBridge and CloudWatch Logs deliveries, then their log file, with
## the time to alert of each lane); then summary.
local: venv venv-lambda
	$(VENV)/bin/python functions/local/run.py all

## The Python tools `make test` uses, in .venv (see TEST_TOOLS).
venv: $(VENV)/.test-tools

venv-lambda: $(VENV)/.lambda-tools

venv-scan: $(VENV_SCAN)/.installed

# Python 3.11+ (the tools' own floor, and the scripts' syntax).
$(VENV)/bin/python $(VENV_SCAN)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version 2>&1)); set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(dir $(@D))

$(VENV)/.test-tools: Makefile | $(VENV)/bin/python
	@echo "Installing the test tools into $(VENV): moto, cfn-lint, SAM CLI, DuckDB (about 470 MB; 45 s on a fast connection)"
	$(VENV)/bin/$(PIP) $(TEST_TOOLS)
	touch $@

$(VENV)/.lambda-tools: Makefile | $(VENV)/bin/python
	@echo "Installing cargo-lambda and zig into $(VENV) (about 450 MB)"
	$(VENV)/bin/$(PIP) $(LAMBDA_TOOLS)
	touch $@

$(VENV_SCAN)/.installed: Makefile | $(VENV_SCAN)/bin/python
	@echo "Installing checkov into $(VENV_SCAN) (about 290 MB; 35 s on a fast connection)"
	$(VENV_SCAN)/bin/$(PIP) $(SCAN_TOOLS)
	touch $@

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(VENV_SCAN)
