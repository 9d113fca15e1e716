# Two commands on a fresh machine:  make quickstart   and   make test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install quickstart test test-slow data benchmarks clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[generate,export,formats,coffea,trigger,scaleout,test]'
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(PY) -m jetgnn.quickstart

test: $(STAMP)
	$(PY) -m pytest --durations=30

test-slow: $(STAMP)
	$(PY) -m pytest -m slow

# Regenerate the bundled samples (commands and seeds documented in data/README.md).
data: $(STAMP)
	$(VENV)/bin/jetgnn generate qg --n-jets 2000 --seed 11 --workers 2 --out data/qg_2k.root
	$(VENV)/bin/jetgnn generate top --n-jets 2000 --seed 12 --workers 2 --out data/top_2k.root
	$(VENV)/bin/jetgnn generate flavour --n-jets 2000 --seed 13 --workers 2 --out data/flavour_2k.root
	$(VENV)/bin/jetgnn generate multiclass --n-jets 1000 --seed 14 --workers 2 --out data/multiclass_1k.root
	$(VENV)/bin/jetgnn generate top --n-jets 1000 --seed 15 --workers 2 --detector simple --out data/top_detector_1k.root

# glibc keeps large freed tensors instead of returning them to the OS after every batch (faster graph building)
BENCH_ENV := MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296

benchmarks: $(STAMP)
	$(PY) benchmarks/generation_speed.py
	$(PY) benchmarks/validate_physics.py
	$(BENCH_ENV) $(PY) benchmarks/graph_building.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
