# The collection as users get it (issue 2): `ansible-galaxy collection build` makes a
# tarball without the development files, it installs with `ansible-galaxy collection
# install`, and its playbooks, roles, modules and filters resolve by FQCN from there.
#
#   make collection-build-test     (part of `make offline-tests`)

COLLECTION_VERSION = $(shell awk '/^version:/{print $$2}' galaxy.yml)

.PHONY: collection-build-test
collection-build-test: venv
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	ansible-galaxy collection build --output-path "$$d/dist" . >/dev/null && \
	tarball="$$d/dist/lvs-cluster-$(COLLECTION_VERSION).tar.gz" && \
	tar -tzf "$$tarball" > "$$d/files" && \
	for must in MANIFEST.json FILES.json README.md meta/runtime.yml site.yml playbooks/site.yml \
	    plugins/modules/ipvs_service.py plugins/module_utils/cluster.py plugins/filter/cluster.py \
	    roles/director/meta/argument_specs.yml roles/real_server/tasks/main.yml \
	    roles/apache_balancer/templates; do \
	  grep -qx "$$must/\?" "$$d/files" || { echo "collection-build-test: $$must missing from the tarball" >&2; exit 1; }; \
	done && \
	if grep -E '^(\.venv|\.cache|\.lab|build|tests|molecule|mk|lab|benchmarks|scripts)/' "$$d/files" | head -3 | grep .; then \
	  echo "collection-build-test: development files in the tarball (build_ignore)" >&2; exit 1; fi && \
	export ANSIBLE_COLLECTIONS_PATH="$$d/installed" && \
	ansible-galaxy collection install --offline --no-deps -p "$$d/installed" "$$tarball" >/dev/null && \
	{ ansible-galaxy collection list lvs.cluster > "$$d/list" 2>&1 && grep -q "^# $$d/installed/ansible_collections" "$$d/list" || \
	  { echo "collection-build-test: lvs.cluster not listed under $$d/installed" >&2; exit 1; }; } && \
	ansible-doc -t module lvs.cluster.ipvs_service >/dev/null && \
	ansible-doc -t module lvs.cluster.fwmark >/dev/null && \
	ansible-playbook -i inventories/example lvs.cluster.site --syntax-check >/dev/null && \
	ansible-playbook -i inventories/example lvs.cluster.drain --syntax-check >/dev/null && \
	ansible-playbook -i localhost, -c local -e ansible_python_interpreter="$$(command -v python)" tests/collection/installed.yml && \
	echo "collection-build-test: lvs.cluster $(COLLECTION_VERSION) built, installed and resolved by FQCN"
