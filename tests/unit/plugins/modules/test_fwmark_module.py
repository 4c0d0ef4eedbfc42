# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fwmark module logic: what it reads and writes, how often, errors.

The real tools on a real kernel are exercised by test_fwmark_netns.py.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.lvs.cluster.plugins.modules import fwmark
from ansible_collections.lvs.cluster.plugins.module_utils import fwmark as fw

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ipvsadm')
RULES = [{'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1}]


class FakeTools(object):
    def __init__(self):
        self.calls = []
        self.nft_table = None        # json text of our table, or None
        self.ipt_save = {4: '', 6: ''}
        self.nft_check_rc = 0
        self.bins = dict((n, '/usr/sbin/' + n) for n in (
            'nft', 'iptables-save', 'iptables-restore', 'iptables-legacy-save', 'iptables-legacy-restore',
            'iptables-nft-save', 'iptables-nft-restore', 'ip6tables-save', 'ip6tables-restore',
            'ip6tables-legacy-save', 'ip6tables-legacy-restore'))

    def run_command(self, args, data=None, **_kw):
        self.calls.append((list(args), data))
        tool = os.path.basename(args[0])
        if tool == 'nft' and args[1:3] == ['-j', 'list']:
            if self.nft_table is None:
                return 1, '', 'Error: No such file or directory\n'
            return 0, self.nft_table, ''
        if tool == 'nft' and args[1] == '-c':
            return self.nft_check_rc, '', '' if self.nft_check_rc == 0 else 'Error: Could not process rule'
        if tool == 'nft' and args[1] == '-f':
            return 0, '', ''
        if tool.endswith('-save'):
            return 0, self.ipt_save[6 if tool.startswith('ip6') else 4], ''
        if tool.endswith('-restore'):
            return 0, '', ''
        raise AssertionError('unexpected %r' % (args,))

    def kinds(self):
        return [os.path.basename(c[0][0]) + ' ' + c[0][1] for c in self.calls]


@pytest.fixture
def tools(monkeypatch):
    fake = FakeTools()
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kw: fake.run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: fake.bins.get(name))
    return fake


def test_nftables_one_read_one_write(tools, run_module):
    result = run_module(fwmark.main, {'rules': RULES, 'backend': 'nftables'})
    assert result['changed'] and tools.kinds() == ['nft -j', 'nft -f']
    assert 'ip daddr 198.51.100.100 tcp dport { 80, 443 } meta mark set 0x00000001' in tools.calls[1][1]


def test_nftables_unchanged_when_table_matches(tools, run_module):
    with open(os.path.join(FIXTURES, 'nft_list_table.json')) as handle:
        tools.nft_table = handle.read()
    rules = RULES + [{'vip': '198.51.100.101', 'protocol': 'udp', 'ports': [53], 'fwmark': 2},
                     {'vip': '2001:db8::100', 'protocol': 'sctp', 'ports': [3868], 'fwmark': 3}]
    # the recorded table also holds two rules we did not write: they are purged
    result = run_module(fwmark.main, {'rules': rules, 'backend': 'nftables'}, diff=True)
    assert result['changed'] and 'saddr' not in result['diff']['after']
    # without them the same table is in place: nothing to do
    data = json.loads(tools.nft_table)
    data['nftables'] = [i for i in data['nftables'] if 'rule' not in i or i['rule']['handle'] < 6]
    tools.nft_table = json.dumps(data)
    tools.calls[:] = []
    again = run_module(fwmark.main, {'rules': rules, 'backend': 'nftables'})
    assert again['changed'] is False and tools.kinds() == ['nft -j'], again


def test_check_mode_writes_nothing(tools, run_module, tmp_path):
    path = tmp_path / 'fwmark.rules'
    result = run_module(fwmark.main, {'rules': RULES, 'backend': 'nftables', 'path': str(path)}, check=True)
    assert result['changed'] and tools.kinds() == ['nft -j'] and not path.exists()


def test_path_receives_the_dump_atomically(tools, run_module, tmp_path):
    path = tmp_path / 'fwmark.rules'
    result = run_module(fwmark.main, {'rules': RULES, 'backend': 'nftables', 'path': str(path)})
    assert path.read_text() == result['dump'] == fw.nft_script([fw.rule_from_dict(RULES[0], 'r')])
    assert oct(path.stat().st_mode & 0o777) == '0o644'


def test_iptables_one_read_one_write_for_ipv4(tools, run_module):
    result = run_module(fwmark.main, {'rules': RULES, 'backend': 'iptables-legacy'})
    assert result['changed']
    assert tools.kinds() == ['iptables-legacy-save -t', 'iptables-legacy-restore --noflush']


def test_iptables_ipv6_rules_go_to_ip6tables(tools, run_module):
    rules = RULES + [{'vip': '2001:db8::100', 'ports': [80], 'fwmark': 2}]
    run_module(fwmark.main, {'rules': rules, 'backend': 'iptables'})
    assert tools.kinds() == ['iptables-save -t', 'iptables-restore --noflush',
                             'ip6tables-save -t', 'ip6tables-restore --noflush']
    assert '-d 2001:db8::100/128' in tools.calls[3][1]


def test_auto_prefers_nftables_when_the_kernel_accepts_it(tools, run_module):
    result = run_module(fwmark.main, {'rules': RULES})
    assert result['backend'] == 'nftables' and tools.kinds()[0] == 'nft -c'


@pytest.mark.parametrize('rc', [1, 3])
def test_auto_falls_back_to_iptables_legacy(tools, run_module, rc):
    """rc 1: the kernel refuses the inet table; rc 3: no nf_tables at all (seen in UML)."""
    tools.nft_check_rc = rc
    result = run_module(fwmark.main, {'rules': RULES})
    assert result['backend'] == 'iptables-legacy' and not result.get('failed')


def test_services_from_the_cluster_model(tools, run_module):
    services = [{'name': 'www', 'vip': '198.51.100.100', 'protocol': 'tcp', 'ports': [80, 443], 'fwmark': 1},
                {'name': 'dns', 'vip': '198.51.100.101', 'protocol': 'udp', 'ports': [53], 'fwmark': None}]
    result = run_module(fwmark.main, {'services': services, 'backend': 'nftables'})
    assert result['rules'] == [{'vip': '198.51.100.100', 'protocol': 'tcp', 'ports': [80, 443], 'fwmark': 1}]


def test_absent_without_rules_removes_our_table(tools, run_module):
    tools.nft_table = '{"nftables": [{"table": {"family": "inet", "name": "lvs_fwmark"}}]}'
    result = run_module(fwmark.main, {'state': 'absent', 'backend': 'nftables'})
    assert result['changed'] and tools.calls[-1][1] == 'table inet lvs_fwmark\ndelete table inet lvs_fwmark'
    tools.nft_table = None
    assert run_module(fwmark.main, {'state': 'absent', 'backend': 'nftables'})['changed'] is False


def test_missing_nft_names_the_package(tools, run_module):
    del tools.bins['nft']
    result = run_module(fwmark.main, {'rules': RULES, 'backend': 'nftables'})
    assert result['failed'] and 'install the package nftables' in result['msg']


@pytest.mark.parametrize('rules,field', [
    ([{'vip': '198.51.100.100', 'ports': [0], 'fwmark': 1}], 'rules[0].ports[0]'),
    ([{'vip': '198.51.100.100', 'ports': [80], 'fwmark': 0}], 'rules[0].fwmark'),
    ([{'vip': 'www', 'ports': [80], 'fwmark': 1}], 'rules[0].vip'),
    (RULES + [{'vip': '198.51.100.100', 'ports': [443], 'fwmark': 2}], 'rules'),
])
def test_bad_rules_fail_before_any_command(tools, run_module, rules, field):
    result = run_module(fwmark.main, {'rules': rules, 'backend': 'nftables'})
    assert result['failed'] and result['msg'].startswith(field + ':') and tools.calls == []
