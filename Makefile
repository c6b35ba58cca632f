# The two commands a newcomer needs (README): `make demo` and `make test`.
# Both install what is missing first. One cargo profile (release) serves the demo and the tests,
# so Slint is built once.

CARGO ?= cargo

.PHONY: demo test deps build screenshots

deps:
	@tests/setup/install-deps.sh

build: deps
	$(CARGO) build --release --workspace

demo: deps
	$(CARGO) run --release --bin bianmin -- demo $(ARGS)

# Unit, integration and scenario tests (real HTTP on 127.0.0.1, headless UI with the software
# renderer), then schemathesis against a standalone simulator it starts and stops by PID.
test: deps
	$(CARGO) build --release --workspace --bins
	$(CARGO) test --release --workspace
	tests/schemathesis/run.sh

# Regenerates the screenshots in docs/ with `bianmin screenshot`.
screenshots: build
	docs/screenshots/make.sh
