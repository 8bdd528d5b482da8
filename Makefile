# Two commands a newcomer runs on a fresh machine:
#   make demo   installs dfembed, builds the offline demo model, embeds real movie snippets
#   make test   installs dfembed with its test extras, lints, runs the whole test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: venv install install-test demo test lint notebooks bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(PY)
	$(PY) -m pip install --quiet -e .

# The dashboard page's test drives headless Chromium (Debian's chromium + chromium-driver):
# installed when missing on a root shell with apt-get (CI); elsewhere that test skips.
install-test: $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps fastembed==0.9.1
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends chromium chromium-driver >/dev/null; \
	  else \
	    echo "chromium/chromedriver missing and no root apt-get: the browser test will skip"; \
	  fi; \
	fi

demo: install
	$(PY) -m tools.offline_models minilm-int8
	$(PY) -m tools.demo

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check dfembed

test: install-test lint
	$(PY) -m tools.offline_models minilm-int8 minilm-fp32 minilm-dynq8 paraphrase-l3 splade-tiny dinov2-small
	$(PY) -m pytest -q -rs --durations=15

notebooks: install-test
	$(PY) notebooks/build_notebooks.py

bench: install-test
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m tools.offline_models minilm-int8 minilm-fp32 minilm-dynq8
	$(PY) -m benchmarks.throughput
	$(PY) -m benchmarks.scaling --quick
	$(PY) -m benchmarks.dedup
	$(PY) -m benchmarks.cache
	$(PY) -m benchmarks.analytics
