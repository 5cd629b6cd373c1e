# ae-lab: `make run` starts the app, `make test` runs lint and the whole suite. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
export MNIST_DIR ?= $(abspath ../shared/mnist)

.PHONY: run dev test fuzz mutate flaky lint format chromium weights bench load clean i18n screenshots

# uv installs the same packages as pip in about a quarter of the time (torch alone is 6 GB: 18 s against 65 s for the
# whole dev set here); pip does it where uv cannot be installed. --compile-bytecode writes the .pyc files at install,
# as pip does: where PYTHONDONTWRITEBYTECODE is set (this machine, CI) Python never writes them itself, and every
# server, row worker and test process compiled torch and Streamlit again (4.3 s an import, 1.9 s with them).
INSTALL = $(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r $(1) || $(PY) -m pip install -q -r $(1)

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip uv
	$(call INSTALL,requirements.txt)
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(call INSTALL,requirements-dev.txt)
	touch $@

# Debian's chromium (browser tests; Playwright's own download needs internet) and nginx (the deploy test).
chromium:
	@if ! command -v chromium >/dev/null 2>&1 || ! [ -x /usr/sbin/nginx ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium nginx; \
	  else echo "Browser tests need Debian's chromium and nginx: sudo apt-get install chromium nginx" >&2; exit 1; fi; fi

# `python -m ui.serve` is `streamlit run app.py` with torch, the data and the weights loaded before it answers, and the
# warm-up started with it (README, "Serving a class"): the first visitor waits no longer than the next.
run: $(VENV)/.runtime
	$(PY) -m ui.serve

# For working on the code: reload on save (the shipped config turns the watcher off for serving).
dev: $(VENV)/.runtime
	$(VENV)/bin/streamlit run app.py --server.fileWatcherType auto --server.runOnSave true

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The suite on both cores (pytest-xdist, one file per worker at a time, the longest files first: tests/conftest.py's
# LONGEST_FIRST), then alone the tests that measure latency under their own load (marked serial). Each part prints its
# 30 slowest tests.
test: $(VENV)/.dev chromium lint
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not gpu and not serial"
	$(PY) -m pytest -m "serial and not gpu"

# The property-based tests with random seeds and 10x the cases of `make test` (tests/fuzz).
fuzz: $(VENV)/.dev
	HYPOTHESIS_PROFILE=long $(PY) -m pytest tests/fuzz

# Mutation testing of the modules that hold the logic (README, "Testing"): mutmut changes the code one small way at a
# time and runs the unit tests that reach each change (pyproject.toml lists them; no AppTests: seconds a mutant).
# One torch thread, so forked test runs never hang in OpenMP. About 75 minutes on 2 cores for these, not timed in one
# go (40 for the first 20, 21 for the 11 added last, 25 for store, quota and history with their newer tests);
# MUTATE_MODULES="ae_core.render" runs one. Scores, equivalent mutants, unmutated layout and the ae_core modules left
# out (with why): tests/mutation/scores.md.
MUTATE_MODULES ?= ae_core.config ae_core.noise ae_core.precision ae_core.preprocess ae_core.store ae_core.results \
  ae_core.metrics ae_core.render ae_core.inspect ae_core.compare ae_core.evaluate ae_core.codesize ae_core.classifier \
  ae_core.baselines ae_core.scoreboard ae_core.explore ae_core.data serve.cache serve.quota serve.throttle serve.budget \
  serve.jobs serve.job serve.history serve.rowworker serve.uploads ui.text ui.params ui.lesson ui.classroom \
  ui.playground_state
# A mutant of the row worker can leave its child processes behind when mutmut ends its test run (about 250 MB each:
# a run filled 24 GB with them once); the loop ends orphaned row workers every 2 s while mutmut runs.
# It starts from an empty mutants/: mutmut keeps the results of source files that did not change, even when the tests
# did, so an incremental run would report scores of older tests.
mutate: $(VENV)/.dev
	rm -rf mutants
	while sleep 2; do pkill -9 -P 1 -f "[-]m serve[.]rowworker" 2>/dev/null; done & reaper=$$!; \
	AE_LAB_THREADS=1 OMP_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children 2 $(foreach m,$(MUTATE_MODULES),"$(m).*"); \
	status=$$?; kill $$reaper; exit $$status
	$(PY) tests/mutation/report.py --write

# Flakiness check (README, "Testing"): 5 times in a row with both cores kept busy, the tests that wait on something real:
# the browser and server tests, and the unit tests that run on the real clock (the key throttle's delays, the job
# manager's threads and timeouts, the warm-up's pause and governor), on both cores as in `make test`. The hostile-class
# soak (marked serial) measures the honest students' latency, which a machine saturated on purpose cannot give: it
# runs in `make test`, alone. So does the warm-up's end-to-end run: its child computes at the idle CPU priority on
# purpose (students first), so on a machine saturated on purpose it never gets a turn; its pause and governor run here.
FLAKY_TESTS ?= tests/test_browser_*.py tests/reliability tests/test_throttle.py tests/test_jobs.py tests/test_warmup.py
FLAKY_SKIP := tests/test_warmup.py::test_warm_up_fills_the_entries_a_visitor_computes_with_the_same_values
flaky: $(VENV)/.dev chromium
	@command -v stress-ng >/dev/null || { echo "needs Debian's stress-ng: apt-get install stress-ng" >&2; exit 1; }
	stress-ng --cpu 2 --timeout 2h --quiet & pid=$$!; \
	for i in 1 2 3 4 5; do $(PY) -m pytest -q -p no:cacheprovider -n 2 --dist loadfile --no-loadscope-reorder -m "not gpu and not serial" \
	  --deselect $(FLAKY_SKIP) $(FLAKY_TESTS) || { kill $$pid; exit 1; }; done; kill $$pid

# The message catalogs (README, "Languages"): extract every marked string into locales/messages.pot, merge it into
# each language's .po (new strings arrive untranslated, changed ones fuzzy: tests/test_i18n.py fails until a
# translator fills them in), and compile the .mo files the app reads.
i18n: $(VENV)/.dev
	$(VENV)/bin/pybabel extract -F babel.cfg -k Message --no-location --sort-output --project ae-lab \
	  --copyright-holder ae-lab -o locales/messages.pot .
	$(VENV)/bin/pybabel update -i locales/messages.pot -d locales -D messages --width 120 --ignore-obsolete
	$(VENV)/bin/pybabel compile -d locales -D messages --statistics

# The README's pictures, made from the running app in both languages (docs/*.png).
screenshots: $(VENV)/.dev chromium
	@fc-list :lang=zh | grep -q . || { if [ "$$(id -u)" = 0 ]; then apt-get install -y -q fonts-noto-cjk; \
	  else echo "Chinese screenshots need a CJK font: sudo apt-get install fonts-noto-cjk" >&2; exit 1; fi; }
	$(PY) bench/screenshots.py

# Retrain the shipped weights with ae-lab's recipe (about an hour on a 2-core CPU; minutes on a GPU), then save the
# results that travel with them.
weights: $(VENV)/.runtime
	for m in basic_ae dense_dae conv_dae; do $(PY) -m ae_core.train --model $$m --recipe ae-lab || exit 1; done
	$(PY) -m ae_core.results   # the Scoreboard's first table, saved with these weights (weights/results.safetensors)
	$(PY) -m ae_core.codesize  # the Tutorial's 2-128-unit Basic AEs (weights/code_sizes.safetensors, about 30 s)

bench: $(VENV)/.dev chromium
	$(PY) bench/train_throughput.py
	$(PY) bench/compile_conv.py
	$(PY) bench/ui_latency.py
	$(PY) bench/explorer_latency.py
	$(PY) bench/scoreboard_first.py
	$(PY) bench/cold_start.py
	$(PY) bench/estimate.py

# A classroom on this machine: 8 and 20 browser sessions on one server, then 8 through nginx and 2 replicas (~8 min).
load: $(VENV)/.dev chromium
	$(PY) bench/load.py --n 8 20 --seconds 60
	$(PY) bench/load.py --n 8 --seconds 60 --via-nginx

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
