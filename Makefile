# The two commands a newcomer needs (README): `make demo` and `make test`.
# Both install what is missing first. One cargo profile (release) serves the demo and the tests,
# so Slint is built once.

CARGO ?= cargo

.PHONY: demo test deps build kiosk lint screenshots bench

deps:
	@tests/setup/install-deps.sh
	@voice/render.sh

build: deps
	$(CARGO) build --release --workspace

demo: deps
	$(CARGO) run --release --bin bianmin -- demo $(ARGS)

# The kiosk's own binary: real backends only, no simulator compiled in, built for size
# (profile.kiosk): target/kiosk/kiosk/bianmin.
kiosk: deps
	$(CARGO) build --profile kiosk --no-default-features --bin bianmin --target-dir target/kiosk

# Clippy over everything, and over the kiosk build (no `sim` feature) so it keeps compiling.
lint: deps
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release -p bianmin --no-default-features --bins -- -D warnings

# Unit, integration and scenario tests (real HTTP on 127.0.0.1, headless UI with the software
# renderer), then schemathesis against a standalone simulator it starts and stops by PID, then
# the lints.
test: deps
	$(CARGO) build --release --workspace --bins
	$(CARGO) test --release --workspace
	tests/schemathesis/run.sh
	$(MAKE) --no-print-directory lint

# Regenerates the screenshots in docs/ with `bianmin screenshot`.
screenshots: build
	docs/screenshots/make.sh

# The benchmark suite (docs/performance.md): start-up, memory, idle cost, page renders, card to
# greeting and binary size against their targets in one table (target/bench/report.md), then the
# printing and outbox benchmarks. Figures, not pass/fail tests; a few minutes after the builds.
bench: deps
	@BENCH=1 tests/setup/install-deps.sh
	$(CARGO) build --release --workspace --bins
	$(MAKE) --no-print-directory kiosk
	benches/kiosk/run.sh
	$(CARGO) bench --bench printing --bench outbox
