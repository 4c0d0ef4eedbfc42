# director role (issue 5).
#
#   make director-render     offline: keepalived.conf of both directors and both backends
#                            rendered from a full model and checked by keepalived 2.2.7
#                            (-t, from the shared rootfs), preflight refusals (needs root)
#   make director-molecule   molecule test -s director and -s director_ipvsadm on the UML lab
#                            (create = make lab-up; the lab stays up: make lab-down)
#
# The lab scenarios also run under `make lab-test` through LAB_TEST_SCENARIOS.

DIRECTOR_SCENARIOS := director director_ipvsadm
LAB_TEST_SCENARIOS += $(DIRECTOR_SCENARIOS)

.PHONY: director-render director-molecule
director-render: venv collection
	roles/director/tests/run.sh

director-molecule: venv collection
	@for s in $(DIRECTOR_SCENARIOS); do \
	  echo "=== molecule test -s $$s"; start=$$(date +%s); \
	  $(MOLECULE_TEST) $$s || { echo "director: scenario $$s FAILED" >&2; exit 1; }; \
	  echo "=== scenario $$s passed in $$(( $$(date +%s) - start )) s"; \
	done
