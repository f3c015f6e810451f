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
	$(BIN)/python -m pytest -q $(ARGS)

lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable | grep -v '^vidzoo' > requirements.lock
