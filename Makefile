# ae-lab: `make run` starts the app, `make test` runs lint and the whole suite. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
export MNIST_DIR ?= $(abspath ../shared/mnist)

.PHONY: run dev test fuzz lint format chromium weights bench load clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

# Debian's chromium (browser tests; Playwright's own download needs internet) and nginx (the deploy test).
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! [ -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium nginx; \
	  else echo "Browser tests need Debian's chromium and nginx: sudo apt-get install chromium nginx" >&2; exit 1; fi; fi

run: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py

# For working on the code: reload on save (the shipped config turns the watcher off for serving).
dev: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py --server.fileWatcherType auto --server.runOnSave true

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: $(VENV)/.dev chromium lint
	$(PY) -m pytest

# The property-based tests with random seeds and 10x the cases of `make test` (tests/fuzz).
fuzz: $(VENV)/.dev
	HYPOTHESIS_PROFILE=long $(PY) -m pytest tests/fuzz

# Retrain the shipped weights with ae-lab's recipe (about an hour on a 2-core CPU; minutes on a GPU).
weights: $(VENV)/.runtime
	for m in basic_ae dense_dae conv_dae; do $(PY) -m ae_core.train --model $$m --recipe ae-lab || exit 1; done

bench: $(VENV)/.dev chromium
	$(PY) bench/train_throughput.py
	$(PY) bench/compile_conv.py
	$(PY) bench/ui_latency.py
	$(PY) bench/explorer_latency.py
	$(PY) bench/scoreboard_first.py

# A classroom on this machine: 8 and 20 browser sessions on one server, then 8 through nginx and 2 replicas (~8 min).
load: $(VENV)/.dev chromium
	$(PY) bench/load.py --n 8 20 --seconds 60
	$(PY) bench/load.py --n 8 --seconds 60 --via-nginx

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
