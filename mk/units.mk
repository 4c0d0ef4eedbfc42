# Unit tests (issue 2): pytest over tests/unit with the collection importable as
# ansible_collections.lvs.cluster (tests/unit/conftest.py installs Ansible's collection
# loader on build/collections). Any non-zero pytest status fails make, including 5
# ("no tests collected"): an empty or mis-pathed run is an error, not a pass.
#
#   make units                         everything
#   make units PYTEST_ARGS="-k cluster -x"

PYTEST_ARGS ?=

.PHONY: units
# The modules' real-kernel tests boot a private UML guest from the shared rootfs: build it
# (cached) first, so those tests run instead of skipping. Skips are listed (-rs).
units: venv collection | $(STAMPS)/deps
	scripts/build-rootfs.sh >/dev/null
	@rc=0; python -m pytest -q -rs -p no:cacheprovider tests/unit $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "units: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc
