# Two commands do everything on a fresh machine:
#   make train   -> install (once) and train the default experiment
#   make test    -> install (once) and run the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install train test lock

$(STAMP): requirements.lock pyproject.toml
	bash tools/install.sh $(PY) $(VENV)
	touch $(STAMP)

install: $(STAMP)

train: $(STAMP)
	$(BIN)/vidzoo-train $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto $(ARGS)

# Re-pin: resolve pyproject.toml (with its test, bench, export and cluster extras) in a throw-away venv and freeze it.
lock:
	rm -rf /tmp/vidzoo-lock && $(PY) -m venv /tmp/vidzoo-lock
	/tmp/vidzoo-lock/bin/pip install torch==2.14.1 torchvision==0.29.1 -e ".[test,bench,export,cluster]"
	/tmp/vidzoo-lock/bin/pip freeze --all --exclude-editable | grep -v -E '^(pip|vidzoo)==' > requirements.lock
