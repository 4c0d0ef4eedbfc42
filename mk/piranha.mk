# Piranha lvs.cf: parser/renderer, conversion, lvs_cf module, director piranha variables,
# migration playbook (issue 8). Part of `make units` too; this target also makes sure
# keepalived is installed on the host, so the `keepalived -t` check of the migrated
# configuration runs instead of being skipped (keepalived -t needs no IPVS).
#
#   make piranha-test

.PHONY: piranha-test piranha-keepalived
piranha-keepalived: deps
	@command -v keepalived >/dev/null 2>&1 || [ -x /usr/sbin/keepalived ] || { \
	  echo "piranha-test: installing keepalived (for keepalived -t)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends keepalived >/dev/null; }

piranha-test: venv collection piranha-keepalived
	python -m pytest -q -p no:cacheprovider -rs \
	  tests/unit/plugins/module_utils/test_lvs_cf.py \
	  tests/unit/plugins/filter/test_lvs_cf_filter.py \
	  tests/unit/plugins/filter/test_lvs_cf_role.py \
	  tests/unit/plugins/filter/test_lvs_cf_migrate.py \
	  tests/unit/plugins/modules/test_lvs_cf_module.py
