# Static checks (issue 2): yamllint and ansible-lint (profile production) over the
# whole collection. .venv .cache .lab build are excluded in .yamllint / .ansible-lint.
#
#   make lint                      everything
#   make lint LINT_PATHS="roles/real_server molecule/real_server"   a part

LINT_PATHS ?=

.PHONY: lint yamllint ansible-lint
lint: yamllint ansible-lint

yamllint: venv
	yamllint --strict $(or $(LINT_PATHS),.)

ansible-lint: venv collection
	ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_ROOT) ansible-lint $(LINT_PATHS)
