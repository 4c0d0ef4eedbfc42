# Podman test bed and molecule scenarios (issue 2).
#
#   make image      build or reuse localhost/lvs-cluster-molecule:bookworm + network lvs-molecule
#   make molecule   `molecule test` for every podman-bed scenario that exists
#   make molecule SCENARIOS=real_server     only some of them
#
# Lab-based scenarios (director, lab, ...) need real IPVS and run under `make lab-test`.

MOLECULE_BED_SCENARIOS := real_server apache_balancer
SCENARIOS ?= $(foreach s,$(MOLECULE_BED_SCENARIOS),$(if $(wildcard molecule/$(s)/molecule.yml),$(s)))

.PHONY: image podman-network molecule
image: venv
	scripts/build-image.sh >/dev/null
	scripts/podman/network.sh create

podman-network: deps
	scripts/podman/network.sh create

molecule: image collection
	@test -n "$(strip $(SCENARIOS))" || { echo "molecule: no scenario found" >&2; exit 1; }
	@for s in $(SCENARIOS); do \
	  echo "=== molecule test -s $$s"; \
	  start=$$(date +%s); \
	  $(MOLECULE_TEST) $$s || { echo "molecule: scenario $$s FAILED" >&2; exit 1; }; \
	  echo "=== molecule scenario $$s passed in $$(( $$(date +%s) - start )) s"; \
	done
