# The two commands of the README: `make demo` and `make test`. Both install into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Secrets of the sandbox's own WeChat accounts (any non-empty value is accepted there).
export WECHAT_SECRET_HZFB  ?= sandbox-secret
export WECHAT_SECRET_HZSYJ ?= sandbox-secret
export WECHAT_SECRET_HZHB  ?= sandbox-secret
export WECHAT_SECRET_HZJY  ?= sandbox-secret

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/govmatrix demo

test: install
	$(BIN)/pytest -q -n auto --dist loadfile

lint: install
	$(BIN)/ruff check govmatrix tests bench
	$(BIN)/mypy govmatrix

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) govmatrix.db govmatrix.db-wal govmatrix.db-shm .pytest_cache .mypy_cache .ruff_cache
