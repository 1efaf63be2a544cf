# Every target installs what it needs into .venv from the project's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The FunctionGraph runtime the zip is built and compiled for (tools/package.py finds its
# interpreter under pyenv, or PYTHON_TARGET=/path/to/python).
PYTHON_VERSION ?= 3.12

.PHONY: demo test check test-rgw lint package bench bench-cold fmt-check reliability simulate clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tools.demo

test: $(STAMP)
	$(BIN)/python -m pytest

# The inner loop (under 30 s): unit and functional tests, without the local server and
# without the tests marked slow (which make test still runs).
check: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/functional -m "not integration and not slow"

# The integration suite on Ceph RGW: tools/rgw.py installs Debian's ceph-mon, ceph-osd and
# radosgw if missing (root), starts a single-node cluster for the session, stops it after.
test-rgw: $(STAMP)
	$(BIN)/python -m pytest -m rgw tests/integration

lint: $(STAMP)
	$(BIN)/ruff check handler tests tools bench
	$(BIN)/mypy

# The full reliability suite (10,000 fuzzed events, 10,000 aborts under load) and its figures.
reliability: $(STAMP)
	RELIABILITY_FULL=1 RELIABILITY_REPORT=1 $(BIN)/python -m pytest tests/reliability
	@cat reliability/REPORT.md

# Fan-out under a simulated FunctionGraph at 200,000 uploads (make test runs 20,000).
simulate: $(STAMP)
	SIM_UPLOADS=200000 $(BIN)/python -m pytest tests/fanout -s

# Benchmarks against the official SDK and boto3 (about 12 minutes); writes bench/RESULTS.md.
# bench/run.py keeps the sections the other benchmarks write. bench/rgw.py (about 3
# minutes) installs Ceph and rclone from Debian's packages if missing (root) and starts a
# cluster of its own; where it cannot install them it says so and is skipped.
# BENCH_RGW=0 leaves it out.
bench: $(STAMP)
	$(BIN)/python -m bench.run
	@if [ -f bench/coldstart.py ]; then echo "$(BIN)/python -m bench.coldstart"; \
		$(BIN)/python -m bench.coldstart; fi
	@if [ "$(BENCH_RGW)" != 0 ]; then echo "$(BIN)/python -m bench.rgw"; \
		$(BIN)/python -m bench.rgw --skip-if-missing; fi

# The deploy zip and dist/package/ (identical), with the target runtime's bytecode.
package: $(STAMP)
	$(BIN)/python -m tools.package --python-version $(PYTHON_VERSION)

# Cold start in the faithful runtime (tools/fgrun.py) against the official SDK; writes its
# section of bench/RESULTS.md. Needs the target interpreter and PyPI (for the SDK's venv).
bench-cold: $(STAMP)
	$(BIN)/python -m bench.coldstart --python-version $(PYTHON_VERSION)

# Terraform formatting (the provider cannot be downloaded here, so no `validate`).
fmt-check:
	terraform fmt -check -recursive deploy/terraform

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache
