# Two commands do all the set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup system-deps demo test test-all test-future wheel-smoke lint format bench sample-media clean

setup: system-deps $(STAMP)

system-deps:
	@PYTHON=$(PYTHON) scripts/install-system-deps.sh

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v=sys.version_info[:2]; assert (3,10) <= v <= (3,12), "consentclip needs Python 3.10-3.12 (mediapipe 0.10.21); found %d.%d" % v' 
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: setup
	@bash scripts/demo.sh

# The suite runs on the editable install; wheel-smoke then proves the built wheel alone works.
test: setup
	$(PY) -m pytest -q
	@PYTHON=$(PYTHON) scripts/wheel-smoke.sh

# Build the wheel, install it into a fresh venv outside the checkout, run a clinic's first day.
wheel-smoke: system-deps
	@PYTHON=$(PYTHON) scripts/wheel-smoke.sh

test-all: setup
	$(PY) -m pytest -q -m ''

# The suite eight years ahead (libfaketime): no test may depend on today's date. Not in `test`.
FUTURE ?= 2034-06-01
test-future: setup
	faketime '$(FUTURE)' $(PY) -m pytest -q

lint: setup
	$(PY) -m ruff check src tests bench scripts
	$(PY) -m ruff format --check src tests bench scripts

format: setup
	$(PY) -m ruff format src tests bench scripts
	$(PY) -m ruff check --fix src tests bench scripts

# Each benchmark prints its table and writes bench/results/<area>.md; docs/benchmarks.md collects them.
bench: setup
	$(PY) bench/engine_speed.py
	$(PY) bench/engine_memory.py
	$(PY) bench/leak.py --out bench/results/leak.md
	$(PY) bench/tattoo_bench.py --out bench/results/tattoos.md
	$(PY) bench/text_bench.py --out bench/results/text.md
	$(PY) bench/batch_speedup.py
	$(PY) bench/consent_registry.py
	nice -n 10 $(PY) bench/registry_scale.py

sample-media: setup
	$(PY) -m pip install -q scikit-image
	$(PY) scripts/make_sample_media.py
	$(PY) scripts/make_signature.py

clean:
	rm -rf $(VENV) demo-out .pytest_cache .ruff_cache
