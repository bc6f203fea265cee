# merbench: the two commands a new user needs, `make demo` and `make test`, create .venv if missing.
# Installs pin the tested versions with constraints.txt; pyproject.toml states compatible ranges.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/pip install -q -c constraints.txt
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := 1
export RAY_AUTH_MODE := disabled
export TOKENIZERS_PARALLELISM := false
export NO_MKDOCS_2_WARNING := 1

.PHONY: demo test test-fast tex lint docs wheel bench clean clean-results

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/merbench run

# Test files are spread over TEST_WORKERS processes (pytest-xdist; each file stays in one worker,
# so a module's shared fixtures are built once). Most tests are single-threaded subprocesses.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# Every test; the LaTeX compile tests need pdflatex and pdftoppm (`tex` installs them).
test: $(VENV)/.installed-dev tex
	$(PYTEST)

# The inner loop: every test but the ones that train or simulate (markers `slow` and `heavy`).
test-fast: $(VENV)/.installed-dev
	MERBENCH_ALLOW_NO_TEX=1 $(PYTEST) -m "not slow and not heavy"

# TeX Live and poppler from Debian's packages when pdflatex or pdftoppm is missing (through sudo
# when not root); elsewhere, say what to install. MERBENCH_ALLOW_NO_TEX=1 skips the check (and the
# LaTeX compile tests).
tex:
	@if [ "$${MERBENCH_ALLOW_NO_TEX:-0}" != 1 ] && \
	    { ! command -v pdflatex >/dev/null || ! command -v pdftoppm >/dev/null; }; then \
	  if ! command -v apt-get >/dev/null; then \
	    echo "error: pdflatex and pdftoppm are needed: install TeX Live (latex base and recommended) and poppler, or set MERBENCH_ALLOW_NO_TEX=1" >&2; \
	    exit 2; \
	  fi; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo="sudo"; \
	  echo "installing TeX Live and poppler from Debian's packages (apt-get)"; \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    texlive-latex-base texlive-latex-recommended poppler-utils >/dev/null; \
	fi

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check merbench tests benchmarks
	$(BIN)/ruff format --check merbench tests benchmarks
	$(BIN)/mypy merbench

docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict --site-dir site

# The wheel, built from a copy of the sources so that the checkout gets no build/ folder; into dist/.
wheel: | $(BIN)/python
	@src=$$(mktemp -d) && \
	  cp -r merbench registry datasets pyproject.toml README.md LICENSE "$$src"/ && \
	  $(BIN)/pip wheel -q --no-deps -w dist "$$src" && rm -rf "$$src"

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run_all.py

# Caches and build output; the tracked runs (results/) stay: `make clean-results` removes them.
clean:
	rm -rf .cache build dist site .mypy_cache .ruff_cache .pytest_cache *.egg-info

clean-results:
	rm -rf results/mlflow.db results/mlflow.db.lock results/artifacts results/claims
