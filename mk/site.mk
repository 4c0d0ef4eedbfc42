# End to end (issue 7): the whole cluster on the UML lab, its demo, its scenario, figures.
#
#   make lab              from a fresh machine: lab up, site.yml, a short demonstration
#   make site-converge    site.yml on the running lab (again)
#   make site-demo        the demonstration only
#   make site-test        molecule test -s lab (the end-to-end proofs; last of lab-test)
#   make site-offline-test  the drain bookkeeping of the operations playbooks, no lab needed
#   make site-bench       figures: failover gaps, health-check reaction, LVS vs mod_proxy
#                         throughput, site.yml first/second run (benchmarks/site_bench.sh)
SITE_INVENTORY ?= inventories/lab

.PHONY: lab site-prepare site-converge site-demo site-test site-bench site-offline-test
lab: venv collection
	$(MAKE) lab-up
	$(MAKE) site-converge
	$(MAKE) site-demo

site-prepare: venv collection
	ansible-playbook -i $(SITE_INVENTORY) molecule/lab/content.yml

site-converge: site-prepare
	ansible-playbook -i $(SITE_INVENTORY) site.yml

site-demo: venv collection
	@mkdir -p build
	ansible-playbook -i $(SITE_INVENTORY) molecule/lab/demo.yml >/dev/null
	@cat build/site-demo.txt

site-test: venv collection
	$(MOLECULE_TEST) lab

site-bench: venv collection
	benchmarks/site_bench.sh

# Execution environment for AWX/AAP: the collection tarball and ansible-builder's build
# context (`ansible-builder create`, validates execution-environment.yml). Building the
# image needs the base image from a registry, which this machine cannot reach.
EE_VENV := $(TOP)/build/ee-venv
.PHONY: site-ee
site-ee: venv
	mkdir -p build/ee
	ansible-galaxy collection build --force --output-path build/ee .
	mv -f build/ee/lvs-cluster-$$(awk '/^version:/{print $$2}' galaxy.yml).tar.gz build/ee/lvs-cluster.tar.gz
	test -x $(EE_VENV)/bin/ansible-builder || { python3 -m venv $(EE_VENV) && $(EE_VENV)/bin/pip install -q --disable-pip-version-check 'ansible-builder>=3.1,<4'; }
	$(EE_VENV)/bin/ansible-builder create -f execution-environment.yml --context build/ee/context --output-filename Containerfile
	@echo "site-ee: build context in build/ee/context (ansible-builder build --context build/ee/context ... where the base image can be pulled)"

# No lab, no root needed: playbooks/tasks/drained_hosts.yml against local "directors".
site-offline-test: venv collection
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	  SITE_OFFLINE_DIR=$$d ansible-playbook -i molecule/lab/offline/inventory.yml molecule/lab/offline/drain_bookkeeping.yml
