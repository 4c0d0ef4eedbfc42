# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Firewall-mark rules: validation, nft/iptables parsing (recorded outputs) and rendering."""

from __future__ import annotations

import ipaddress
import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import fwmark as fw
from ansible_collections.lvs.cluster.plugins.module_utils.cluster import expand_services

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ipvsadm')
A = ipaddress.ip_address


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def rule(vip='198.51.100.100', protocol='tcp', ports=(80, 443), mark=1):
    return fw.MarkRule(A(vip), protocol, ports, mark)


def test_nft_parse_recorded_table():
    """nft -j output recorded from a real kernel: our rules parse, anything else is foreign."""
    rules, foreign = fw.nft_parse(fixture('nft_list_table.json'))
    assert rules == [rule(), rule('198.51.100.101', 'udp', [53], 2), rule('2001:db8::100', 'sctp', [3868], 3)]
    assert foreign == 2      # ip saddr ... and a port range


def test_nft_render_matches_what_nft_lists():
    rules, _foreign = fw.nft_parse(fixture('nft_list_table.json'))
    listed = [line for line in fixture('nft_list_table.txt').splitlines()
              if 'saddr' not in line and '8000-8080' not in line]
    assert fw.nft_render(rules).splitlines() == listed


def test_nft_script_replaces_the_table_in_one_transaction():
    script = fw.nft_script([rule()])
    assert script.startswith('table inet lvs_fwmark\ndelete table inet lvs_fwmark\ntable inet lvs_fwmark {\n')
    assert 'ip daddr 198.51.100.100 tcp dport { 80, 443 } meta mark set 0x00000001' in script
    assert fw.nft_script([], present=False) == 'table inet lvs_fwmark\ndelete table inet lvs_fwmark\n'


def test_nft_ipv6_rule():
    assert rule('2001:db8::100', 'udp', [53], 7).nft() == 'ip6 daddr 2001:db8::100 udp dport 53 meta mark set 0x00000007'


def test_ipt_parse_recorded_save():
    exists, jumps, rules, foreign = fw.ipt_parse(fixture('iptables_legacy_save_mangle.txt'), 4)
    assert exists and jumps == 2
    assert rules == [rule(), rule('198.51.100.101', 'udp', [53], 2)]
    assert foreign == 2       # a port range and a source match


def test_ipt_restore_rewrites_only_our_chain_and_fixes_jumps():
    state = fw.ipt_parse(fixture('iptables_legacy_save_mangle.txt'), 4)
    data = fw.ipt_restore([rule()], state, 4)
    assert data.splitlines() == [
        '*mangle',
        ':LVS_FWMARK - [0:0]',
        '-A LVS_FWMARK -d 198.51.100.100/32 -p tcp -m multiport --dports 80,443 -j MARK --set-xmark 0x1/0xffffffff',
        '-D PREROUTING -j LVS_FWMARK',
        'COMMIT']
    # the conditional jump someone else made (-p tcp -j LVS_FWMARK) is left alone
    assert '-p tcp -j' not in data


def test_ipt_restore_nothing_when_in_place():
    text = ':LVS_FWMARK - [0:0]\n-A PREROUTING -j LVS_FWMARK\n' + rule().iptables() + '\n'
    assert fw.ipt_restore([rule()], fw.ipt_parse(text, 4), 4) is None


def test_ipt_restore_creates_chain_and_jump():
    data = fw.ipt_restore([rule()], fw.ipt_parse('', 4), 4)
    assert '-I PREROUTING 1 -j LVS_FWMARK' in data and ':LVS_FWMARK - [0:0]' in data


def test_ipt_restore_removes_everything():
    state = fw.ipt_parse(fixture('iptables_legacy_save_mangle.txt'), 4)
    data = fw.ipt_restore([], state, 4, present=False)
    assert data.splitlines() == ['*mangle', '-D PREROUTING -j LVS_FWMARK', '-D PREROUTING -j LVS_FWMARK',
                                 ':LVS_FWMARK - [0:0]', '-X LVS_FWMARK', 'COMMIT']
    assert fw.ipt_restore([], fw.ipt_parse('', 4), 4, present=False) is None


def test_ipt_ipv6_rule_text():
    assert rule('2001:db8::100').iptables().startswith('-A LVS_FWMARK -d 2001:db8::100/128 -p tcp')
    text = rule('2001:db8::100').iptables() + '\n'
    assert fw.ipt_parse(text, 6)[2] == [rule('2001:db8::100')]
    assert fw.ipt_parse(text, 4)[2] == []     # wrong family: not read as ours


def test_rules_normalise_port_order_and_duplicates():
    assert rule(ports=(443, 80)) == rule(ports=(80, 443))
    assert fw.rule_from_dict({'vip': '198.51.100.100', 'ports': '80', 'fwmark': '1'}, 'r') == rule(ports=[80])


def test_rules_from_cluster_services():
    services = expand_services([
        {'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1, 'real_servers': []},
        {'name': 'dns', 'vip': '198.51.100.101', 'ports': [53], 'protocol': 'udp', 'real_servers': []},
    ])
    assert fw.rules_from_services(services) == [rule()]


BAD = [
    ({'vip': 'nowhere', 'ports': [80], 'fwmark': 1}, 'r.vip', 'nowhere'),
    ({'vip': '198.51.100.1', 'ports': [0], 'fwmark': 1}, 'r.ports[0]', '0'),
    ({'vip': '198.51.100.1', 'ports': [70000], 'fwmark': 1}, 'r.ports[0]', '70000'),
    ({'vip': '198.51.100.1', 'ports': [], 'fwmark': 1}, 'r.ports', '[]'),
    ({'vip': '198.51.100.1', 'ports': [80, 80], 'fwmark': 1}, 'r.ports', '80'),
    ({'vip': '198.51.100.1', 'ports': list(range(1, 17)), 'fwmark': 1}, 'r.ports', '16'),
    ({'vip': '198.51.100.1', 'ports': [80], 'fwmark': 0}, 'r.fwmark', '0'),
    ({'vip': '198.51.100.1', 'ports': [80], 'fwmark': 2 ** 32}, 'r.fwmark', '4294967296'),
    ({'vip': '198.51.100.1', 'ports': [80], 'fwmark': 1, 'protocol': 'icmp'}, 'r.protocol', 'icmp'),
]


@pytest.mark.parametrize('item,field,value', BAD, ids=[b[1] for b in BAD])
def test_bad_rules_name_field_and_value(item, field, value):
    with pytest.raises(fw.FwmarkError) as err:
        fw.rule_from_dict(item, 'r')
    assert err.value.msg.startswith(field + ':') and value in err.value.msg, err.value.msg


def test_two_marks_for_one_port_is_an_error():
    with pytest.raises(fw.FwmarkError) as err:
        fw.check_conflicts([rule(), rule(ports=[443], mark=2)])
    assert '198.51.100.100 tcp/443' in err.value.msg
