# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvs_service: converge, idempotence, check/diff mode, errors, and command counts."""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
import json

import pytest

from ansible_collections.lvs.cluster.plugins.modules import ipvs_service
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
from ansible_collections.lvs.cluster.plugins.module_utils.cluster import expand_services

A = ipaddress.ip_address
WWW = {'fwmark': 1, 'scheduler': 'wlc', 'persistence': 300, 'persistence_netmask': '24',
       'real_servers': [{'address': '198.51.100.21'}, {'address': '198.51.100.22', 'weight': 2}]}


def members(n):
    return [{'address': str(A('198.51.100.0') + 0x10000 + i)} for i in range(n)]


def test_create_then_rerun_is_unchanged(fake, run_module):
    result = run_module(ipvs_service.main, WWW)
    assert result['changed'] is True
    assert result['commands'] == ['-A -f 1 -s wlc -p 300 -M 255.255.255.0',
                                  '-a -f 1 -r 198.51.100.21:0 -g -w 1',
                                  '-a -f 1 -r 198.51.100.22:0 -g -w 2']
    assert fake.table[('fwmark', 4, 1)].real_servers[(A('198.51.100.22'), 0)].weight == 2
    again = run_module(ipvs_service.main, WWW)
    assert again['changed'] is False and again['commands'] == []
    assert again['service'] == result['service']


def test_check_mode_changes_nothing_but_reports(fake, run_module):
    result = run_module(ipvs_service.main, WWW, check=True, diff=True)
    assert result['changed'] is True and fake.table == {}
    assert fake.writes() == []
    assert result['diff']['before'] == ''
    assert result['diff']['after'].splitlines()[0] == '-A -f 1 -s wlc -p 300 -M 255.255.255.0'


def test_diff_shows_edit(fake, run_module):
    run_module(ipvs_service.main, WWW)
    changed = dict(WWW, scheduler='rr')
    result = run_module(ipvs_service.main, changed, diff=True)
    assert result['commands'] == ['-E -f 1 -s rr -p 300 -M 255.255.255.0']
    assert '-s wlc' in result['diff']['before'] and '-s rr' in result['diff']['after']


def test_purge_and_keep(fake, run_module):
    run_module(ipvs_service.main, WWW)
    only_one = dict(WWW, real_servers=[{'address': '198.51.100.23'}])
    kept = run_module(ipvs_service.main, dict(only_one, purge_real_servers=False))
    assert kept['commands'] == ['-a -f 1 -r 198.51.100.23:0 -g -w 1']
    assert len(kept['service']['real_servers']) == 3
    purged = run_module(ipvs_service.main, only_one)
    assert sorted(purged['commands']) == ['-d -f 1 -r 198.51.100.21:0', '-d -f 1 -r 198.51.100.22:0']
    assert [rs['address'] for rs in purged['service']['real_servers']] == ['198.51.100.23']


def test_absent(fake, run_module):
    run_module(ipvs_service.main, WWW)
    result = run_module(ipvs_service.main, {'fwmark': 1, 'state': 'absent'})
    assert result['changed'] and result['commands'] == ['-D -f 1'] and fake.table == {}
    assert run_module(ipvs_service.main, {'fwmark': 1, 'state': 'absent'})['changed'] is False


def test_feeding_a_cluster_model_service(fake, run_module):
    service = expand_services([{'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1,
                                'persistence': 300, 'real_servers': ['198.51.100.21', '198.51.100.22']}])[0]
    result = run_module(ipvs_service.main, {'service': service})
    assert result['commands'][0] == '-A -f 1 -s wlc -p 300'
    assert run_module(ipvs_service.main, {'service': service})['changed'] is False


def test_address_service_port_alias_and_ipv6(fake, run_module):
    args = {'vip': '2001:0db8::0100', 'port': 443, 'real_servers': [{'address': '2001:db8:0::21'}]}
    result = run_module(ipvs_service.main, args)
    assert result['commands'] == ['-A -t [2001:db8::100]:443 -s wlc',
                                  '-a -t [2001:db8::100]:443 -r [2001:db8::21]:443 -g -w 1']
    assert run_module(ipvs_service.main, args)['changed'] is False


@pytest.mark.parametrize('size', [1, 10, 100, 1000])
def test_one_read_and_at_most_one_write_whatever_the_size(fake, run_module, size):
    args = {'vip': '198.51.100.80', 'port': 80, 'real_servers': members(size)}
    run_module(ipvs_service.main, args)
    assert (len(fake.reads()), len(fake.writes())) == (1, 1)
    assert len(fake.writes()[0][1].splitlines()) == size + 1
    fake.calls[:] = []
    run_module(ipvs_service.main, args)                     # no-op: one read, no write
    assert (len(fake.reads()), len(fake.writes())) == (1, 0)
    fake.calls[:] = []
    changed = dict(args, weight=3, scheduler='rr')          # everything changes: still one write
    run_module(ipvs_service.main, changed)
    assert (len(fake.reads()), len(fake.writes())) == (1, 1)
    assert len(fake.calls) == 2


BAD_ARGS = [
    ({'vip': '198.51.100.300', 'port': 80}, 'ipvs_service.vip'),
    ({'vip': '198.51.100.80', 'port': 0}, 'ipvs_service.ports[0]'),
    ({'vip': '198.51.100.80', 'port': 65536}, 'ipvs_service.ports[0]'),
    ({'vip': '198.51.100.80', 'ports': [80, 443]}, 'ipvs_service.ports'),
    ({'fwmark': 0}, 'ipvs_service.fwmark'),
    ({'vip': '198.51.100.80', 'port': 80, 'real_servers': [{'address': '198.51.100.21', 'weight': 70000}]},
     'ipvs_service.real_servers[0].weight'),
    ({'vip': '198.51.100.80', 'port': 80,
      'real_servers': [{'address': '198.51.100.21'}, {'address': '198.51.100.21'}]},
     'ipvs_service.real_servers[1].address'),
    ({'vip': '198.51.100.80', 'port': 80, 'real_servers': [{'address': '2001:db8::1'}]},
     'ipvs_service.real_servers[0].address'),
    ({'service': {'name': 'x', 'vip': 'bad', 'ports': [80]}}, 'service.vip'),
]


@pytest.mark.parametrize('args,field', BAD_ARGS, ids=[b[1] for b in BAD_ARGS])
def test_bad_input_fails_before_any_command(fake, run_module, args, field):
    result = run_module(ipvs_service.main, args)
    assert result['failed'] and result['msg'].startswith(field + ':'), result['msg']
    assert fake.calls == []


@pytest.mark.parametrize('args,word', [
    ({'vip': '198.51.100.80', 'port': 80, 'scheduler': 'fastest'}, 'scheduler'),
    ({'vip': '198.51.100.80', 'port': 80, 'protocol': 'icmp'}, 'protocol'),
    ({'service': {'fwmark': 1}, 'fwmark': 1}, 'mutually exclusive'),
    ({'port': 80}, 'one of the following is required'),
])
def test_argument_spec_rejects(fake, run_module, args, word):
    result = run_module(ipvs_service.main, args)
    assert result['failed'] and word in result['msg'] and fake.calls == []


def test_missing_ipvsadm_names_the_package(fake, run_module):
    fake.bins = {}
    result = run_module(ipvs_service.main, WWW)
    assert result['failed'] and 'install the package ipvsadm' in result['msg']


def test_no_ipvs_in_kernel_is_a_clear_message(fake, run_module):
    with open(os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ipvsadm', 'no_ipvs.txt')) as f:
        fake.fail_with = (2, '', f.read())
    result = run_module(ipvs_service.main, WWW)
    assert result['failed'] and result['msg'] == 'IPVS is not available in this kernel (load ip_vs)'


def test_kernel_error_is_surfaced(fake, run_module):
    fake.table = ipvs.parse_save('-A -f 1 -s wlc\n')
    fake.fail_with = None
    original = fake.run_command

    def refuse(args, data=None, **kw):
        if args[1:] == ['-R']:
            fake.calls.append((list(args), data))
            return 2, '', 'Memory allocation problem\n'
        return original(args, data=data, **kw)
    fake.run_command = refuse
    result = run_module(ipvs_service.main, WWW)
    assert result['failed'] and 'Memory allocation problem' in result['msg'] and result['rc'] == 2


@pytest.mark.skipif(not shutil.which('ipvsadm') or os.path.exists('/proc/net/ip_vs'),
                    reason='needs ipvsadm on a kernel WITHOUT IPVS (the build host)')
def test_real_ipvsadm_on_a_kernel_without_ipvs(tmp_path):
    """No stand-in: the real ipvsadm on this host's kernel, which has no IPVS."""
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': WWW}))
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'build', 'collections'))
    env = dict(os.environ, PYTHONPATH=root)
    proc = subprocess.run([sys.executable, '-m', 'ansible_collections.lvs.cluster.plugins.modules.ipvs_service',
                           str(args)], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.stdout, proc.stderr
    result = json.loads(proc.stdout)
    assert result['failed'] is True
    assert result['msg'] == 'IPVS is not available in this kernel (load ip_vs)'
    assert 'Protocol not available' in result['stderr']


def test_ipvsadm_exiting_before_reading_stdin_still_gives_the_clear_message(fake, run_module):
    """On a kernel without IPVS, ipvsadm -R may exit before its input is written (EPIPE)."""
    with open(os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ipvsadm', 'no_ipvs.txt')) as f:
        message = f.read()

    def broken(args, data=None, **kw):
        fake.calls.append((list(args), data))
        if data is not None:
            raise BrokenPipeError(32, 'Broken pipe')
        return 2, '', message
    fake.run_command = broken
    result = run_module(ipvs_service.main, WWW)
    assert result['failed'] and result['msg'] == 'IPVS is not available in this kernel (load ip_vs)'
    assert [c[0][1:] for c in fake.calls] == [['-R'], ['-L', '-n', '--timeout']]


def test_a_line_refused_by_ipvsadm_restore_fails_the_module(fake, run_module):
    """Recorded: ipvsadm -R says "Service not defined" on stderr and exits 0."""
    original = fake.run_command

    def refuse(args, data=None, **kw):
        if args[1:] == ['-R'] and not data.startswith('-S'):
            fake.calls.append((list(args), data))
            return 0, '', 'Service not defined\n'
        return original(args, data=data, **kw)
    fake.run_command = refuse
    result = run_module(ipvs_service.main, WWW)
    assert result['failed'] and 'Service not defined' in result['msg']
