# attribution — developer entry points. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed
# Test-only data carriers: the published datasets we test against ship inside these wheels
# (Prop 99 in causalpy, mpdta in moderndid). Installed without their dependencies, never imported.
DATA_CARRIERS := causalpy==0.9.0 moderndid==0.2.0

.PHONY: install demo test test-browser test-slow test-all lint format bench peers references clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==0.13.9
	$(UV) pip install --quiet --python $(PY) -c constraints.txt -e ".[dev]"
	$(UV) pip install --quiet --python $(PY) --no-deps $(DATA_CARRIERS)
	touch $(STAMP)

demo: install
	$(PY) -m attribution demo --out reports/demo

test: install
	$(PY) -m pytest -n 2  # both cores of the CI machine (pytest-xdist); about 6 min

# The report and the memo in headless Chromium (apt-get install chromium); fails rather than skips.
# Screenshots and the memo PDF: reports/test-artifacts/browser/
test-browser: install
	ATTRIBUTION_REQUIRE_BROWSER=1 $(PY) -m pytest tests/report/test_browser.py -rP

test-slow: install
	$(PY) -m pytest -m slow -n 2  # about 10 min on 2 cores

test-all: install
	$(PY) -m pytest -m ""

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install peers  # peers: moderndid, measured in the same run as our DiD
	$(PY) -m benchmarks

# Reference venv for regenerating cached reference numbers (moderndid needs a newer scipy than econml allows).
peers: .venv-peers/.installed

.venv-peers/.installed:
	test -x .venv-peers/bin/python || $(PYTHON) -m venv .venv-peers
	.venv-peers/bin/python -m pip install --quiet uv==0.13.9
	.venv-peers/bin/uv pip install --quiet --python .venv-peers/bin/python "moderndid[didhonest]==0.2.0" synthdid-py==0.1.0 doubleml==0.11.4
	touch $@

# Regenerate every cached reference number (each script's docstring says what it reproduces).
references: install peers
	.venv-peers/bin/python tests/reference/did/make_reference.py
	.venv-peers/bin/python tests/reference/did/make_reference_drdid.py
	.venv-peers/bin/python tests/reference/did/make_reference_honest.py
	.venv-peers/bin/python tests/reference/did/separation/make_reference.py
	.venv-peers/bin/python tests/reference/did/make_reference_honest_long.py
	$(PY) tests/reference/did/make_reference_pyfixest.py
	$(PY) tests/reference/did/weighted_fe/make_reference.py
	$(PY) -m tests.reference.synth.make_sdid_reference
	$(PY) -m tests.reference.synth.make_adh_reference
	.venv-peers/bin/python tests/reference/synth/sdid_jackknife/make_reference.py
	.venv-peers/bin/python tests/reference/dml/make_reference.py
	@if [ -n "$(BASQUE_CSV)" ]; then $(PY) tests/reference/synth/basque/make_reference.py --basque-csv "$(BASQUE_CSV)"; \
	else echo "skipped basque: set BASQUE_CSV=path/to/basque.csv (tests/reference/synth/basque/README.md)"; fi

clean:
	rm -rf $(VENV) .venv-peers reports/demo .pytest_cache
