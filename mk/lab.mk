# The lab: a whole LVS cluster on this machine with a real IPVS kernel (docs/lab.md).
#
#   make lab-up [REAL_SERVERS=2]   boot (or confirm) the lab; idempotent
#   make lab-down                  stop it; leaves no process, interface, mount or rule
#   make lab-status                guests and hosts, ssh health
#   make lab-ssh HOST=director1    root shell on a lab host
#   make lab-test                  molecule scenarios $(LAB_TEST_ORDER) against the lab,
#                                  then lab-down and a leftover check (also on failure)

REAL_SERVERS ?= 2
HOST ?= director1
# Lab scenarios run in this order by lab-test; other areas append theirs, e.g.
#   LAB_TEST_SCENARIOS += director
# lab (the end-to-end scenario: the lab proven, then site.yml and the proofs on a fresh lab)
# always runs last, whichever mk file appended its scenarios after this one (deferred `=`).
LAB_TEST_SCENARIOS += lab
LAB_TEST_ORDER = $(filter-out lab,$(LAB_TEST_SCENARIOS)) lab
LAB := $(TOP)/lab/lab.sh

.PHONY: lab-up lab-down lab-status lab-ssh lab-test lab-bench
lab-up: $(STAMPS)/deps collection
	REAL_SERVERS=$(REAL_SERVERS) $(LAB) up

lab-down:
	$(LAB) down

lab-status:
	$(LAB) status

lab-ssh:
	$(LAB) ssh $(HOST)

# Every scenario runs even if one fails; the lab is torn down and checked at the end.
# The lab scenario starts with destroy, so the fixtures the scenarios before it leave on
# the shared lab (a director test's Listen 443, ...) never reach the end-to-end proofs.
lab-test: venv collection $(STAMPS)/deps
	rc=0; \
	for s in $(LAB_TEST_ORDER); do \
	  echo "== molecule test -s $$s"; \
	  $(MOLECULE_TEST) $$s || { echo "lab-test: scenario $$s FAILED"; rc=1; }; \
	done; \
	$(LAB) down || rc=1; \
	$(LAB) down >/dev/null || rc=1; \
	$(LAB) check-clean || rc=1; \
	exit $$rc

lab-bench: $(STAMPS)/deps collection
	benchmarks/lab_bench.sh
