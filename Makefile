# Two commands: `make repro` and `make test`. Both bootstrap .venv from the lock file.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export DVC_NO_ANALYTICS := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false
export DVC_SITE_CACHE_DIR := $(CURDIR)/.dvc/site-cache

.PHONY: repro test test-slow lint typecheck lock bench clean-venv ui browser shell

# tools/venv-path.pth puts the environment's bin/ first on PATH in every process its Python
# starts, so that `.venv/bin/dvc repro` finds `python -m secondlook` (dvc.yaml) in .venv too.
$(STAMP): requirements.lock pyproject.toml tools/venv-path.pth
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	cp tools/venv-path.pth "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	touch $(STAMP)

# A shell with the environment active (secondlook, dvc and mlflow on PATH); `exit` leaves it.
shell: $(STAMP)
	@echo "secondlook environment: .venv is active; type exit to leave"
	@VIRTUAL_ENV=$(CURDIR)/$(VENV) PS1="(secondlook) \w \$$ " $${SHELL:-/bin/bash} -i

repro: $(STAMP)
	$(BIN)/dvc repro

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Headless Chromium for the report's browser test: installed only where it is missing, apt-get
# exists and we are root; elsewhere the test is skipped with a loud reason (never a failure here).
browser:
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then \
	  echo "browser: chromium present"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "browser: installing Debian's chromium for the report's browser test"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "browser: WARNING: could not install chromium; the browser test will be SKIPPED"; \
	else \
	  echo "browser: WARNING: no chromium and cannot install it (needs apt-get and root);" \
	       "the report's browser test will be SKIPPED"; \
	fi

test: $(STAMP) lint typecheck browser
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_features.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_explain.py
	$(BIN)/python benchmarks/bench_score.py

# Re-resolve requirements.in into the exact lock (setuptools and wheel included: the editable
# install builds without isolation, from the pinned versions).
lock:
	rm -rf /tmp/secondlook-lock && $(PY) -m venv /tmp/secondlook-lock
	/tmp/secondlook-lock/bin/pip install -q "pip==26.3" && /tmp/secondlook-lock/bin/pip install -q -r requirements.in
	/tmp/secondlook-lock/bin/pip freeze --all --exclude-editable | grep -v '^pip==' > requirements.lock

ui: $(STAMP)
	$(BIN)/mlflow ui --host 127.0.0.1 --backend-store-uri sqlite:///$(CURDIR)/experiments/mlflow.db

clean-venv:
	rm -rf $(VENV)
