# The commands people type. `make demo` and `make test` are the two set-up
# commands in README.md; CI runs `make lint test` (see .ci/run).

CARGO ?= cargo
BIN := target/release/trailwatch

.PHONY: demo test lint bench build-cli rules-test clean

## Build the CLI and scan the bundled sample logs.
demo: build-cli
	$(BIN) scan events/cloudtrail --stats

build-cli:
	$(CARGO) build --release --locked -p trailwatch

## Every test: unit, sample logs, CLI end to end, the differential test
## against the independent filter-pattern implementation, rule examples.
test:
	$(CARGO) test --workspace --locked
	$(CARGO) run --quiet --locked -p trailwatch -- rules test

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

## Throughput and peak memory against the gunzip floor (see BENCHMARKS.md).
bench:
	$(CARGO) bench --locked -p trailwatch-core --bench throughput

clean:
	$(CARGO) clean
