# Two entry points: `make demo` and `make test`. Both create .venv and install the project first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO_LAKE ?= lake
DEMO_POSTS ?= 200
DEMO_SEED ?= 7
# Seeded weights of the small demo model (see the clip_* vars in dbt_project.yml).
DEMO_WEIGHTS := .dataproc/weights/dataproc-tiny-seed0.pt

export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: setup demo test lint pytest docs clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $(INSTALLED)

# The report's test renders it in Debian's chromium: installed when missing, if we are root.
setup: $(INSTALLED)
	@command -v chromium >/dev/null || [ "$$(id -u)" != 0 ] || \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

$(DEMO_WEIGHTS): python/dataproc/embedding/model_configs/dataproc-tiny.json | $(INSTALLED)
	rm -f $(DEMO_WEIGHTS)
	$(BIN)/dataproc embedder checkpoint $(DEMO_WEIGHTS) --seed 0

demo: setup $(DEMO_WEIGHTS)
	$(BIN)/dataproc demo --lake $(DEMO_LAKE) --posts $(DEMO_POSTS) --seed $(DEMO_SEED)
	DATAPROC_LAKE=$(DEMO_LAKE) $(BIN)/dbt build
	$(BIN)/dataproc summary --lake $(DEMO_LAKE)

lint: setup
	$(BIN)/ruff check python models tests bench
	$(BIN)/ruff format --check python models tests bench
	DATAPROC_DUCKDB=target/lint.duckdb $(BIN)/sqlfluff lint --processes 2 models macros tests/dbt

pytest: setup
	$(BIN)/pytest -q

test: lint pytest

docs: setup
	$(BIN)/dbt docs generate
	$(BIN)/dbt docs serve

clean:
	rm -rf target logs dataproc.duckdb .duckdb_tmp
