#!/usr/bin/env python3
"""Extra lab real servers for `make lab-up REAL_SERVERS=N` (N > 2).

An Ansible inventory script, read together with hosts.yml when `-i inventories/lab` is
given. It reads the running lab's REAL_SERVERS from <repo>/.lab/state.env (or
$LVS_LAB_DIR/state.env) and adds rs3..rsN (198.51.100.23 ..) to lvs_real_servers and
apache_balancers. With the default topology, or no lab up, it adds nothing.
"""
import json
import os
import sys

DEFAULT_REAL_SERVERS = 2  # the ones hosts.yml lists
MAX_REAL_SERVERS = 20  # rs1..rs20 = 198.51.100.21-40 (address plan)


def lab_dir():
    env = os.environ.get("LVS_LAB_DIR")
    if env:
        return env
    here = os.path.dirname(os.path.realpath(__file__))
    return os.path.join(os.path.dirname(os.path.dirname(here)), ".lab")


def real_servers():
    try:
        with open(os.path.join(lab_dir(), "state.env"), encoding="utf-8") as f:
            for line in f:
                key, dummy, value = line.strip().partition("=")
                if key == "REAL_SERVERS" and value.isdigit():
                    return min(int(value), MAX_REAL_SERVERS)
    except OSError:
        pass
    return DEFAULT_REAL_SERVERS


def inventory():
    names = ["rs%d" % i for i in range(DEFAULT_REAL_SERVERS + 1, real_servers() + 1)]
    hostvars = {name: {"ansible_host": "198.51.100.%d" % (20 + int(name[2:]))} for name in names}
    return {
        "lvs_real_servers": {"hosts": names},
        "apache_balancers": {"hosts": names},
        "_meta": {"hostvars": hostvars},
    }


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--host":
        print(json.dumps({}))
    else:
        print(json.dumps(inventory(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
