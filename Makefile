# The two commands of the README: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# AWS SAM CLI in a venv of its own: its pins (boto3, click) differ from the project's. tests/deploy run
# `sam validate --lint` and its guided deploy's authentication check with it.
SAM_CLI_VERSION := 1.170.0
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)

.PHONY: run test lint bench lint-template sam clean

# Each venv installs through uv (pinned; into the venv by pip): from its cache it installs the same versions
# as pip in 20 s instead of 50. The project's venv compiles its bytecode once, as pip does (many test
# processes import it); the SAM CLI's does not: two tests run it, compiling what they import (8 s to
# install instead of 17, 15 s of CPU less). Offline first: from uv's cache, without asking the index (on a
# slow network the install took 60 s instead of 25); what the cache lacks comes from the index.
UV_VERSION := 0.13.9

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --offline --quiet --python $(BIN)/python --compile-bytecode -e '.[cli,dev]' 2>/dev/null \
		|| $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e '.[cli,dev]'
	@touch $(STAMP)

# The tests' Node tools (package.json, pinned by package-lock.json): asl-validator. `make run` needs none.
$(NODE_STAMP): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	@touch $(NODE_STAMP)

$(SAM_STAMP):
	@test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(SAM_VENV)/bin/uv pip install --offline --quiet --python $(SAM_VENV)/bin/python aws-sam-cli==$(SAM_CLI_VERSION) 2>/dev/null \
		|| $(SAM_VENV)/bin/uv pip install --quiet --python $(SAM_VENV)/bin/python aws-sam-cli==$(SAM_CLI_VERSION)
	@rm -f $(SAM_VENV)/.installed-*
	@touch $(SAM_STAMP)

# `make sam` installs the SAM CLI the tests use: .venv-sam/bin/sam
sam: $(SAM_STAMP)
	@$(SAM_VENV)/bin/sam --version

run: $(STAMP)
	TIME_SCALE=$${TIME_SCALE:-3600} $(BIN)/python -m infra

# What the tests need (the venv, the SAM CLI's own venv, the Node tools) installs side by side.
test:
	@$(MAKE) --no-print-directory -j3 $(STAMP) $(NODE_STAMP) $(SAM_STAMP)
	@command -v chromium >/dev/null || (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 || (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null))
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint-template: $(STAMP)
	$(BIN)/cfn-lint template.yaml

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(SAM_VENV) node_modules .layer-cache .pytest_cache .ruff_cache
