# mmghost: `make install` builds .venv/ (see scripts/install_env.sh), `make test` installs if needed and
# runs the test suite, `make demo` trains and evaluates the demo detector on CPU.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmghost-installed

.PHONY: install test demo bench clean-venv

install: $(STAMP)

$(STAMP): scripts/install_env.sh setup.py
	VENV=$(abspath $(VENV)) bash scripts/install_env.sh
	touch $@

test: install
	$(PY) -m pytest tests

clean-venv:
	rm -rf $(VENV)
