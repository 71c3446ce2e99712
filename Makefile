# Two commands matter (see README): `make demo` and `make test`. Both start with `make install`, which creates
# .venv and installs the pinned dependencies; it is skipped when neither pyproject.toml nor requirements.lock changed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.install-stamp
DEMO_OUT ?= demo-out
# deduce (Dutch de-identification, and its lookup lists feed the demo data) declares regex<2025, which
# transformers refuses; it runs fine beside a newer regex, so it and its pinned helper go in without resolver.
NODEPS := deduce==3.0.6 docdeid==1.0.1

.PHONY: install test demo lint format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps $(NODEPS)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n 2 -q

demo: install
	HF_HUB_OFFLINE=1 $(BIN)/medadapt demo --out $(DEMO_OUT)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) $(DEMO_OUT) build dist src/*.egg-info .pytest_cache .ruff_cache
