# Shortcuts for the README's two commands (tasks.py needs nothing but Python 3.11+).
PYTHON ?= python3

.PHONY: run test bench clean

run:
	$(PYTHON) tasks.py run

test:
	$(PYTHON) tasks.py test

bench:
	$(PYTHON) tasks.py run --help >/dev/null 2>&1 || true
	.venv/bin/python benchmarks/bench_market.py

clean:
	rm -rf .venv out
