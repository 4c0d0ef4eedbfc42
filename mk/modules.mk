# IPVS and firewall-mark modules (issue 4): ipvs_service, ipvs_real_server, ipvs_info,
# ipvs_sync_daemon, fwmark.
#
#   make modules-units      their unit tests (part of `make units`)
#   make modules-nft-test   fwmark on the real host kernel in network namespaces
#                           (nftables, iptables-legacy, iptables-nft; root; ~5 s;
#                           part of `make units` too, skipped there when not root)
#   make modules-uml-test   every module on a real IPVS kernel: one private user-mode-linux
#                           guest, no network (~40-70 s; root; builds the rootfs if needed;
#                           part of `make units` too when the rootfs is already built)
#   make modules-lab-test   molecule/ipvs_modules on the UML lab's directors (real IPVS)
#   make modules-bench      benchmarks/ipvs_service_bench.py in a private UML guest (~4 min)
#   make modules-bench-lab  the same on a lab director (BENCH_HOST=director1)

MODULES_UNIT_TESTS := tests/unit/plugins/module_utils/test_ipvs.py \
  tests/unit/plugins/module_utils/test_fwmark.py tests/unit/plugins/modules
MODULES_PYTEST := python -m pytest -q -p no:cacheprovider

.PHONY: modules-units modules-nft-test modules-uml-test modules-lab-test modules-bench
modules-units: venv collection
	$(MODULES_PYTEST) $(MODULES_UNIT_TESTS) --deselect tests/unit/plugins/modules/test_fwmark_netns.py \
	  --deselect tests/unit/plugins/modules/test_ipvs_modules_uml.py

modules-nft-test: venv collection
	@command -v ip >/dev/null && command -v nft >/dev/null || scripts/install-deps.sh
	@dpkg-query -W -f='$${Status}' nftables 2>/dev/null | grep -q "install ok installed" \
	  || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nftables >/dev/null; }
	$(MODULES_PYTEST) -rs tests/unit/plugins/modules/test_fwmark_netns.py

modules-uml-test: venv collection | $(STAMPS)/deps
	@command -v gcc >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null; }
	scripts/build-rootfs.sh >/dev/null
	$(MODULES_PYTEST) -rs tests/unit/plugins/modules/test_ipvs_modules_uml.py

# The modules on real IPVS: one of the lab scenarios run by `make lab-test`.
LAB_TEST_SCENARIOS += ipvs_modules

modules-lab-test: venv collection
	$(MOLECULE_TEST) ipvs_modules

# Figures, not a test: the module vs one ipvsadm per real server vs one raw ipvsadm -R,
# for 10/100/1000 real servers (docs/modules.md has the table).
BENCH_HOST ?= director1
.PHONY: modules-bench-lab
modules-bench: venv collection | $(STAMPS)/deps
	@command -v gcc >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null; }
	scripts/build-rootfs.sh >/dev/null
	python benchmarks/ipvs_service_bench.py --uml

modules-bench-lab: venv collection
	$(MAKE) lab-up
	python benchmarks/ipvs_service_bench.py --host $(BENCH_HOST)
