# ansible-test sanity (issue 2), local (no containers), Python 3.11.
#
# ansible-test resolves the real path of the collection and wants it under
# ansible_collections/<ns>/<name>, so the files git knows (tracked, plus new files not
# ignored) are copied to build/ansible_collections/lvs/cluster first. Each sanity test
# runs in its own venv made by ansible-test from PyPI: its pinned linters never touch
# our .venv. ansible-test bootstraps pip in those venvs with a get-pip script from
# ci-files.testing.ansible.com; where that host is unreachable, tests/sanity/get_pip_shim.py
# (ensurepip + pip install) is put in its cache instead.
# Ignores: tests/sanity/ignore-2.19.txt (each line justified).

SANITY_ROOT := $(TOP)/build/ansible_collections/lvs/cluster
SANITY_ARGS ?=

.PHONY: sanity sanity-tree
sanity-tree:
	mkdir -p $(SANITY_ROOT)
	git ls-files -z --cached --others --exclude-standard \
	  | (cd $(TOP) && xargs -0 -r sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' _) \
	  | rsync -a --from0 --files-from=- $(TOP)/ $(SANITY_ROOT)/
	# The copy sits in a path our .gitignore hides (build/): give it its own git index so
	# ansible-test (which lists files with git) sees exactly the copied files.
	cd $(SANITY_ROOT) && git init -q && git add -A

ANSIBLE_TEST_PIP_VERSION = $(shell $(VENV)/bin/python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; from ansible_test._internal.host_configs import NativePythonConfig as P; print(g(P(version="3.11",path="/usr/bin/python3.11"))["pip"])' 2>/dev/null || echo 24.2)
ANSIBLE_TEST_GET_PIP = $(HOME)/.ansible/test/cache/get_pip_$(subst .,_,$(ANSIBLE_TEST_PIP_VERSION)).py

sanity: venv
	@if [ ! -s $(ANSIBLE_TEST_GET_PIP) ]; then \
	  mkdir -p $(dir $(ANSIBLE_TEST_GET_PIP)); \
	  curl -fsS --max-time 10 -o $(ANSIBLE_TEST_GET_PIP).tmp https://ci-files.testing.ansible.com/ansible-test/get-pip-$(ANSIBLE_TEST_PIP_VERSION).py \
	    || cp tests/sanity/get_pip_shim.py $(ANSIBLE_TEST_GET_PIP).tmp; \
	  mv $(ANSIBLE_TEST_GET_PIP).tmp $(ANSIBLE_TEST_GET_PIP); \
	fi
	rm -rf $(SANITY_ROOT)
	$(MAKE) sanity-tree
	cd $(SANITY_ROOT) && ansible-test sanity --python 3.11 --color no $(SANITY_ARGS)
