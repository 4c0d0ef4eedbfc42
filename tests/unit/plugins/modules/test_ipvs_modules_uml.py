# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS modules against a real IPVS kernel: a private user-mode-linux guest.

No stand-in: Debian's UML kernel with ip_vs, the real ipvsadm 1.31 and
iptables-legacy of the shared rootfs.  Each module runs as Ansible runs it on a
target (python3 -m the module with an arguments file; ansible.module_utils and the
collection's module_utils on the path).  The guest has no network device.

One guest boot runs every step (~20-40 s); the host asserts on the recorded results.
Skipped without root, linux.uml, gcc or the rootfs (scripts/build-rootfs.sh).
Run alone: ``make modules-uml-test``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

import pytest

import ansible

from uml_guest import GuestUnavailable, rootfs, run_job

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))

# Runs in the guest: executes the steps, records module results and raw tool output.
DRIVER = r'''
import json, os, subprocess, sys
W = "/work"
results = []

def sh(cmd):
    return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout

def module(name, args, check=False, diff=False):
    a = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with open("/tmp/args.json", "w") as f:
        json.dump({"ANSIBLE_MODULE_ARGS": a}, f)
    p = subprocess.run([sys.executable, "-m", "ansible_collections.lvs.cluster.plugins.modules." + name,
                        "/tmp/args.json"], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=W + "/payload"))
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {"failed": True, "msg": "no json: " + p.stdout[-500:] + p.stderr[-1500:]}

def step(name, mod, args, check=False, diff=False):
    before = sh("ipvsadm -Sn")
    res = module(mod, args, check, diff)
    results.append({"name": name, "result": res, "before": before, "after": sh("ipvsadm -Sn"),
                    "thresholds": sh("ipvsadm -Ln --thresholds"), "mangle": sh("iptables-legacy-save -t mangle"),
                    "daemon": sh("ipvsadm -Ln --daemon")})

RS = [{"address": "198.51.100.%d" % i} for i in (21, 22)]
WWW = {"fwmark": 90, "scheduler": "wlc", "persistence": 300, "persistence_netmask": "24",
       "upper_threshold": 100, "lower_threshold": 10, "real_servers": RS}
step("create", "ipvs_service", WWW, diff=True)
step("rerun", "ipvs_service", WWW)
step("check", "ipvs_service", dict(WWW, scheduler="rr", weight=5), check=True, diff=True)
step("modify", "ipvs_service", dict(WWW, scheduler="sh", scheduler_flags=["sh-port"], weight=5, forwarding="tun"))
step("modify-rerun", "ipvs_service", dict(WWW, scheduler="sh", scheduler_flags=["sh-port"], weight=5, forwarding="tun"))
HTTP = {"vip": "198.51.100.80", "port": 80, "protocol": "tcp", "real_servers": RS}
step("http", "ipvs_service", HTTP)
step("rs-add", "ipvs_real_server", {"vip": "198.51.100.80", "port": 80, "address": "198.51.100.23", "weight": 2,
                                    "upper_threshold": 50})
step("rs-rerun", "ipvs_real_server", {"vip": "198.51.100.80", "port": 80, "address": "198.51.100.23", "weight": 2,
                                      "upper_threshold": 50})
step("rs-drain", "ipvs_real_server", {"vip": "198.51.100.80", "port": 80, "address": "198.51.100.23",
                                      "state": "drained", "wait": True, "wait_timeout": 10})
step("rs-absent", "ipvs_real_server", {"vip": "198.51.100.80", "port": 80, "address": "198.51.100.23",
                                       "state": "absent"})
DNS = {"vip": "198.51.100.81", "port": 53, "protocol": "udp", "ops": True, "forwarding": "nat",
       "real_server_port": 5353, "scheduler": "mh", "scheduler_flags": ["mh-fallback"], "real_servers": RS}
step("udp-nat", "ipvs_service", DNS)
step("udp-nat-rerun", "ipvs_service", DNS)
V6 = {"vip": "2001:db8::80", "port": 443, "persistence": 60, "persistence_netmask": "64",
      "real_servers": [{"address": "2001:db8::21"}]}
step("ipv6", "ipvs_service", V6)
step("ipv6-rerun", "ipvs_service", dict(V6, vip="2001:0db8:0:0::80"))
step("info", "ipvs_info", {"connections": True})
step("daemon-master", "ipvs_sync_daemon", {"role": "master", "interface": "lo", "syncid": 9})
step("daemon-rerun", "ipvs_sync_daemon", {"role": "master", "interface": "lo", "syncid": 9})
step("daemon-backup", "ipvs_sync_daemon", {"role": "backup", "interface": "lo", "syncid": 9}, diff=True)
step("daemon-syncid", "ipvs_sync_daemon", {"role": "master", "interface": "lo", "syncid": 10})
step("daemon-stop", "ipvs_sync_daemon", {"role": "master", "state": "stopped"})
MARKS = [{"vip": "198.51.100.90", "ports": [80, 443], "fwmark": 90}]
step("fwmark", "fwmark", {"rules": MARKS, "path": "/tmp/fwmark.rules"})
step("fwmark-rerun", "fwmark", {"rules": MARKS, "backend": "iptables-legacy"})
step("fwmark-absent", "fwmark", {"state": "absent", "backend": "iptables-legacy"})
big = [{"address": "198.51.100.%d" % (150 + i // 25), "port": 8000 + i % 25} for i in range(1000)]
step("big", "ipvs_service", {"vip": "198.51.100.99", "port": 80, "forwarding": "nat", "real_servers": big})
step("big-rerun", "ipvs_service", {"vip": "198.51.100.99", "port": 80, "forwarding": "nat", "real_servers": big})
for svc in ({"fwmark": 90}, {"vip": "198.51.100.80", "port": 80}, {"vip": "198.51.100.81", "port": 53,
            "protocol": "udp"}, {"vip": "2001:db8::80", "port": 443}, {"vip": "198.51.100.99", "port": 80}):
    step("absent", "ipvs_service", dict(svc, state="absent"))
step("absent-rerun", "ipvs_service", {"fwmark": 90, "state": "absent"})
step("bad-input", "ipvs_service", {"vip": "198.51.100.80", "port": 80, "scheduler": "wlc",
                                   "real_servers": [{"address": "2001:db8::1"}]})
with open(W + "/results.json", "w") as f:
    json.dump(results, f)
'''


def _payload(work):
    dest = os.path.join(work, 'payload')
    shutil.copytree(os.path.join(os.path.dirname(ansible.__file__), 'module_utils'),
                    os.path.join(dest, 'ansible', 'module_utils'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    open(os.path.join(dest, 'ansible', '__init__.py'), 'w').close()     # as AnsiballZ ships it
    plugins = os.path.join(dest, 'ansible_collections', 'lvs', 'cluster', 'plugins')
    for sub in ('modules', 'module_utils'):
        shutil.copytree(os.path.join(TOP, 'plugins', sub), os.path.join(plugins, sub),
                        ignore=shutil.ignore_patterns('__pycache__'))


@pytest.fixture(scope='module')
def steps():
    try:
        rootfs()
    except GuestUnavailable as exc:
        pytest.skip(str(exc))
    work = tempfile.mkdtemp(prefix='lvs-modules-uml-work.')
    try:
        _payload(work)
        with open(os.path.join(work, 'driver.py'), 'w') as handle:
            handle.write(DRIVER)
        rc, out = run_job('python3 /work/driver.py\n', work)
        assert rc == 0, out
        with open(os.path.join(work, 'results.json')) as handle:
            return dict((s['name'] + ('#%d' % i if s['name'] == 'absent' else ''), s)
                        for i, s in enumerate(json.load(handle)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def ok(step):
    assert not step['result'].get('failed'), step['result'].get('msg')
    return step['result']


def test_create_with_thresholds_then_rerun_unchanged(steps):
    create = ok(steps['create'])
    assert create['changed'] and create['diff']['before'] == ''
    assert '-A -f 90 -s wlc -p 300 -M 255.255.255.0' in steps['create']['after'].splitlines()
    assert '-a -f 90 -r 198.51.100.21:0 -g -w 1' in steps['create']['after'].splitlines()
    assert re.search(r'-> 198\.51\.100\.21:0\s+100\s+10\s', steps['create']['thresholds'])
    rerun = ok(steps['rerun'])
    assert rerun['changed'] is False and rerun['commands'] == []


def test_check_mode_leaves_the_kernel_untouched(steps):
    check = ok(steps['check'])
    assert check['changed'] and '-s rr' in check['diff']['after'] and '-s wlc' in check['diff']['before']
    assert steps['check']['before'] == steps['check']['after']


def test_modify_scheduler_flags_weight_forwarding(steps):
    modify = ok(steps['modify'])
    assert modify['changed']
    saved = steps['modify']['after'].splitlines()
    assert '-A -f 90 -s sh -p 300 -M 255.255.255.0 -b sh-port' in saved
    assert '-a -f 90 -r 198.51.100.22:0 -i -w 5 --tun-type ipip' in saved
    assert ok(steps['modify-rerun'])['changed'] is False


def test_real_server_module(steps):
    assert ok(steps['rs-add'])['changed']
    assert '-a -t 198.51.100.80:80 -r 198.51.100.23:80 -g -w 2' in steps['rs-add']['after'].splitlines()
    assert ok(steps['rs-rerun'])['changed'] is False
    drain = ok(steps['rs-drain'])
    assert drain['changed'] and drain['active_connections'] == 0
    assert '-a -t 198.51.100.80:80 -r 198.51.100.23:80 -g -w 0' in steps['rs-drain']['after'].splitlines()
    assert ok(steps['rs-absent'])['changed'] and '198.51.100.23' not in steps['rs-absent']['after']
    assert '198.51.100.21:80' in steps['rs-absent']['after']          # the others are untouched


def test_udp_nat_ops_and_mh_flags(steps):
    assert ok(steps['udp-nat'])['changed']
    saved = steps['udp-nat']['after'].splitlines()
    assert '-A -u 198.51.100.81:53 -s mh -o -b mh-fallback' in saved
    assert '-a -u 198.51.100.81:53 -r 198.51.100.21:5353 -m -w 1' in saved
    assert ok(steps['udp-nat-rerun'])['changed'] is False


def test_ipv6_service_and_address_forms(steps):
    assert ok(steps['ipv6'])['changed']
    assert '-A -t [2001:db8::80]:443 -s wlc -p 60 -M 64' in steps['ipv6']['after'].splitlines()
    assert ok(steps['ipv6-rerun'])['changed'] is False      # 2001:0db8:0:0::80 is the same VIP


def test_info(steps):
    info = ok(steps['info'])
    specs = [s['spec'] for s in info['services']]
    assert specs == ['-t 198.51.100.80:80', '-u 198.51.100.81:53', '-t [2001:db8::80]:443', '-f 90']
    www = info['services'][-1]
    assert www['real_servers'][0]['upper_threshold'] == 100
    assert set(www['stats']) == {'conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes'}
    assert set(www['rate']) == {'cps', 'inpps', 'outpps', 'inbps', 'outbps'}
    assert info['connections'] == [] and info['daemons'] == {}
    assert info['rules'].splitlines()[0] == '-A -t 198.51.100.80:80 -s wlc'


def test_sync_daemon(steps):
    assert ok(steps['daemon-master'])['changed']
    assert 'master sync daemon (mcast=lo, syncid=9' in steps['daemon-master']['daemon']
    assert ok(steps['daemon-rerun'])['changed'] is False
    backup = ok(steps['daemon-backup'])
    assert backup['changed'] and 'backup sync daemon (mcast=lo, syncid=9' in steps['daemon-backup']['daemon']
    assert ok(steps['daemon-syncid'])['changed'] and 'syncid=10' in steps['daemon-syncid']['daemon']
    assert ok(steps['daemon-stop'])['changed'] and 'master' not in steps['daemon-stop']['daemon']
    assert 'backup sync daemon' in steps['daemon-stop']['daemon']


def test_fwmark_iptables_legacy_in_uml(steps):
    marks = ok(steps['fwmark'])
    assert marks['changed'] and marks['backend'] == 'iptables-legacy'     # auto: no nf_tables inet in UML
    assert '-A PREROUTING -j LVS_FWMARK' in steps['fwmark']['mangle']
    assert ('-A LVS_FWMARK -d 198.51.100.90/32 -p tcp -m multiport --dports 80,443 -j MARK --set-xmark '
            '0x5a/0xffffffff') in steps['fwmark']['mangle']
    assert ok(steps['fwmark-rerun'])['changed'] is False
    assert ok(steps['fwmark-absent'])['changed'] and 'LVS_FWMARK' not in steps['fwmark-absent']['mangle']


def test_thousand_real_servers_one_batch(steps):
    big = ok(steps['big'])
    assert big['changed'] and len(big['commands']) == 1001
    assert steps['big']['after'].count('-a -t 198.51.100.99:80 ') == 1000
    assert ok(steps['big-rerun'])['changed'] is False


def test_absent_and_bad_input(steps):
    removed = [s for k, s in steps.items() if k.startswith('absent#')]
    assert len(removed) == 5 and all(ok(s)['changed'] for s in removed)
    assert steps['absent-rerun']['after'] == '' and ok(steps['absent-rerun'])['changed'] is False
    bad = steps['bad-input']['result']
    assert bad['failed'] and bad['msg'].startswith('ipvs_service.real_servers[0].address:')
    assert steps['bad-input']['before'] == steps['bad-input']['after'] == ''
