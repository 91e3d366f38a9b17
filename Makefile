# Backprop Workbook. `make lab` for students, `make test` for maintainers.
# Everything runs in a virtual environment inside the repo (.venv), created
# from plain python3 + pip; pyproject.toml lists every dependency.

PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
STAMP  := $(VENV)/.installed
# nbgrader runs `alembic` and `jupyter` by name: the venv's bin comes first.
export PATH := $(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv lab test bench release browser clean

venv: $(STAMP)

# Reinstalled whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# Jupyter refuses to run as root unless told to (containers, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True)
LAB_ARGS ?=

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: $(STAMP) browser
	$(BIN)/python -m pytest

# The browser tests drive Debian's Chromium: Playwright's own browser download
# cannot reach its servers here. As root (CI, containers) it is installed with
# apt; otherwise the tests are skipped with a message saying how to install it.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Chromium for the browser tests (apt-get, about a minute)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "*** apt-get could not install chromium: the browser tests will be skipped (or fail under CI)."; \
	  else \
	    echo "*** $(CHROMIUM) is missing: the browser tests will be SKIPPED."; \
	    echo "*** Install it with:  sudo apt-get install chromium"; \
	  fi; \
	fi

# Regenerate the student notebooks (notebooks/) from the instructor notebooks
# (solutions/) with nbgrader's generate_assignment; commit the result.
release: $(STAMP)
	$(BIN)/python -m course_lib.grading.release

# The PyTorch column appears when the optional extra is installed:
#   .venv/bin/pip install -e ".[torch]"
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
