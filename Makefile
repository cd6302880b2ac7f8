# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test lint typecheck bench clean system-check mutate

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.stamp-base: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.stamp-all: pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[all,dev]'
	touch $@ $(VENV)/.stamp-base

demo: $(VENV)/.stamp-base
	$(PY) examples/quickstart.py

lint: $(VENV)/.stamp-all
	$(VENV)/bin/ruff check guardrail adapters tests examples benchmarks tools
	$(VENV)/bin/ruff format --check guardrail adapters tests examples benchmarks tools

typecheck: $(VENV)/.stamp-all
	$(VENV)/bin/mypy

# The tests use real components; say in one line what the machine lacks.
system-check:
	@missing=""; for c in redis-server redis-cli chromium; do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then echo "make test: missing system packages:$$missing (apt-get install redis-server chromium, or run .ci/run)"; exit 1; fi

test: system-check lint typecheck
	$(PY) -m pytest -q

$(VENV)/.stamp-bench: pyproject.toml $(VENV)/.stamp-all
	$(PIP) install --quiet -e '.[all,dev,bench]'
	touch $@

bench: $(VENV)/.stamp-bench
	$(PY) -m benchmarks $(BENCH_ARGS)

# Mutation testing of the fail-closed core (issue 16), not part of `make test`: a scratch copy per
# module group under /tmp/guardrail-mutate; MUTATE_ARGS="policy --jobs 2" picks groups.
mutate: $(VENV)/.stamp-all
	$(PY) tools/mutate.py $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
