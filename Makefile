# lvs.cluster: developer and test entry points.
#
#   make lab      a whole LVS cluster on this machine, site.yml applied, demo printed
#   make test     everything CI runs: lint, sanity, units, molecule scenarios, lab tests
#
# Everything it needs is installed on demand (apt packages, a venv in .venv/, test images).
# Each area keeps its own targets in mk/<area>.mk.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

TOP := $(CURDIR)
VENV ?= $(TOP)/.venv
CACHE_DIR ?= $(TOP)/.cache
STAMPS := $(CACHE_DIR)/stamps
export CACHE_DIR

# The collection must sit under ansible_collections/<ns>/<name> to resolve by FQCN.
COLLECTIONS_ROOT := $(TOP)/build/collections
COLLECTION_LINK := $(COLLECTIONS_ROOT)/ansible_collections/lvs/cluster

export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_ROOT)
export CONTAINERS_CONF := $(TOP)/scripts/podman/containers.conf
# `molecule test -s S` from a clean, per-checkout molecule state (scripts/molecule-test.sh).
MOLECULE_TEST := $(TOP)/scripts/molecule-test.sh
export ANSIBLE_FORCE_COLOR ?= false
export PY_COLORS ?= 0

.PHONY: help deps venv collection test lint sanity units molecule
help:
	@echo "make lab        bring up the lab cluster, run site.yml, show the demo"
	@echo "make test       run every test (lint sanity units offline-tests molecule lab-test)"
	@echo "make lint | sanity | units | molecule | lab-up | lab-down | lab-ssh HOST=..."

# --- installation ----------------------------------------------------------
deps: $(STAMPS)/deps
$(STAMPS)/deps: scripts/install-deps.sh
	scripts/install-deps.sh
	@mkdir -p $(STAMPS) && touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt | $(STAMPS)/deps
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

collection: $(COLLECTION_LINK)
$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn $(TOP) $@

# --- the whole suite ----------------------------------------------------------
# Order: cheap and static first, then containers, then the lab (slowest).
test:
	$(MAKE) lint
	$(MAKE) sanity
	$(MAKE) units
	$(MAKE) offline-tests
	$(MAKE) molecule
	$(MAKE) lab-test

# Tests of rendered files and playbooks that need no containers and no lab.
.PHONY: offline-tests
offline-tests:
	$(MAKE) collection-build-test
	$(MAKE) director-render
	$(MAKE) site-offline-test

-include mk/*.mk
