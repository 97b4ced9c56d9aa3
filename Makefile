# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
# Said once, here, not as an import side effect of agent_nb: no usage telemetry from tests and demos.
export HAYSTACK_TELEMETRY_ENABLED := False
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-haystack-matrix lint bench browser-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the demo agent offline on the scripted model; writes out/demo/ and says where.
demo: $(STAMP)
	$(PY) -m agent_nb demo --out out/demo

## Every test: unit, property, nbval over notebooks/, and the JupyterLab browser test.
test: $(STAMP) browser-deps
	$(PY) -m pytest -p no:cacheprovider --doctest-modules agent_nb tests notebooks --ignore=notebooks/src \
	  --ignore=notebooks/build.py --nbval-lax --nbval-current-env

## The non-browser tests on the newest haystack-ai pre-release and on 3.4.0, each in its own venv (as CI does).
test-haystack-matrix:
	PYTHON=$(PYTHON) bash .ci/haystack_matrix.sh

## Debian's chromium for the browser test (installed when missing and we are root).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	    else echo "the browser test needs Debian's chromium: sudo apt-get install -y chromium" >&2; exit 1; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check agent_nb tests benchmarks
	$(VENV)/bin/ruff format --check agent_nb tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_recorder.py
	$(PY) benchmarks/bench_recorder_parts.py
	$(PY) benchmarks/bench_replay.py
	$(PY) benchmarks/bench_views.py

clean:
	rm -rf $(VENV) out
