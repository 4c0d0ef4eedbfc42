# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the cluster model (plugins/module_utils/cluster.py, docs/model.md)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils.cluster import (
    ClusterModelError,
    expand_service,
    expand_services,
    normalise_netmask,
    parse_address,
    services_of_host,
)

HOSTVARS = {
    'web1': {'ansible_host': '198.51.100.21'},
    'web2': {'ansible_host': '198.51.100.22', 'real_server_weight': 3},
    'web3': {'ansible_host': 'web3.example.org', 'real_server_address': '198.51.100.23'},
    'web6': {'real_server_address': '2001:db8:100::21'},
    'noaddr': {'ansible_host': 'noaddr.example.org'},
    '198.51.100.24': {},
}
GROUPS = {
    'all': list(HOSTVARS),
    'lvs_real_servers': ['web1', 'web2'],
    'web_v6': ['web6'],
    'bad': ['noaddr'],
}


def www(**over):
    svc = {'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1,
           'real_servers': 'lvs_real_servers'}
    svc.update(over)
    return svc


def expand(*services):
    return expand_services(list(services), HOSTVARS, GROUPS)


def fails(match, *services):
    with pytest.raises(ClusterModelError, match=match):
        expand(*services)


# --- good input ------------------------------------------------------------------


def test_defaults_are_filled_in():
    svc = expand({'name': 'api', 'vip': '198.51.100.101', 'ports': 8080, 'real_servers': ['web1']})[0]
    assert svc['protocol'] == 'tcp'
    assert svc['scheduler'] == 'wlc'
    assert svc['forwarding'] == 'dr'
    assert svc['persistence'] == 0
    assert svc['persistence_netmask'] is None
    assert svc['ports'] == [8080]
    assert svc['fwmark'] is None
    assert svc['kind'] == 'address'
    assert svc['family'] == 4
    assert svc['health_check']['type'] == 'TCP_CHECK'
    assert svc['health_check']['port'] == 8080
    assert svc['sorry_server'] is None
    assert svc['quorum'] == 1
    assert svc['delay_loop'] == 6


def test_group_members_resolve_to_addresses_and_weights():
    svc = expand(www(weight=2))[0]
    assert svc['kind'] == 'fwmark'
    assert svc['fwmark'] == 1
    assert [(m['name'], m['host'], m['address'], m['weight'], m['port']) for m in svc['real_servers']] == [
        ('web1', 'web1', '198.51.100.21', 2, None),   # service weight
        ('web2', 'web2', '198.51.100.22', 3, None),   # host variable real_server_weight
    ]


def test_member_list_forms():
    svc = expand(www(real_servers=[
        'web3',                                          # host: real_server_address wins
        '198.51.100.40',                                 # bare address
        {'address': '198.51.100.41', 'weight': 0, 'name': 'legacy-iis'},
        {'host': 'web2', 'weight': 7},                   # item weight beats host variable
        {'host': '198.51.100.24'},                       # inventory name that is an address
    ]))[0]
    got = [(m['name'], m['host'], m['address'], m['weight']) for m in svc['real_servers']]
    assert got == [
        ('web3', 'web3', '198.51.100.23', 1),
        ('198.51.100.40', None, '198.51.100.40', 1),
        ('legacy-iis', None, '198.51.100.41', 0),
        ('web2', 'web2', '198.51.100.22', 7),
        ('198.51.100.24', '198.51.100.24', '198.51.100.24', 1),
    ]


def test_ipv6_service_and_prefix_persistence():
    svc = expand({'name': 'www6', 'vip': '[2001:DB8:100::100]', 'ports': [80], 'real_servers': 'web_v6',
                  'persistence': 60, 'persistence_netmask': '/64'})[0]
    assert svc['vip'] == '2001:db8:100::100'
    assert svc['family'] == 6
    assert svc['persistence_netmask'] == 64
    assert svc['real_servers'][0]['address'] == '2001:db8:100::21'


def test_nat_ports_per_member_and_per_service():
    svc = expand(www(forwarding='NAT', real_server_port=8080,
                     real_servers=[{'host': 'web1'}, {'host': 'web2', 'port': 8081}]))[0]
    assert svc['forwarding'] == 'nat'
    assert [m['port'] for m in svc['real_servers']] == [8080, 8081]


def test_health_check_and_sorry_server_expanded():
    svc = expand(www(health_check={'type': 'HTTP_GET', 'path': '/health', 'port': '443'},
                     sorry_server={'address': '198.51.100.30'}, scheduler='SH',
                     scheduler_flags='sh-port, sh-fallback', persistence_netmask='24'))[0]
    check = svc['health_check']
    assert (check['type'], check['path'], check['port'], check['retry']) == ('HTTP_GET', '/health', 443, 1)
    assert svc['sorry_server'] == {'address': '198.51.100.30', 'port': 80}
    assert svc['scheduler'] == 'sh'
    assert svc['scheduler_flags'] == ['sh-port', 'sh-fallback']
    assert svc['persistence_netmask'] == '255.255.255.0'


def test_input_is_not_modified():
    raw = [www(health_check={'type': 'HTTP_GET'})]
    before = copy.deepcopy(raw)
    expand(*raw)
    assert raw == before


def test_services_of_host():
    expanded = expand(www(), {'name': 'api', 'vip': '198.51.100.101', 'ports': [8080],
                              'real_servers': ['web2', 'web3'], 'forwarding': 'tun'})
    assert [s['name'] for s in services_of_host(expanded, 'web1')] == ['www']
    assert [s['name'] for s in services_of_host(expanded, 'web2')] == ['www', 'api']
    assert services_of_host(expanded, 'director1') == []


def test_empty_model():
    assert expand_services(None) == []
    assert expand_services([]) == []


@pytest.mark.parametrize('value, family, expected', [
    ('255.255.0.0', 4, '255.255.0.0'), ('16', 4, '255.255.0.0'), (None, 4, None),
    ('', 6, None), (48, 6, 48), ('/128', 6, 128),
])
def test_normalise_netmask(value, family, expected):
    assert normalise_netmask('f', value, family) == expected


def test_parse_address_brackets_and_spaces():
    assert str(parse_address('f', ' [2001:db8::1] ')) == '2001:db8::1'


# --- bad input: each error names the field and the value ---------------------------


@pytest.mark.parametrize('over, field, value', [
    ({'vip': '198.51.100.300'}, r'lvs_virtual_services\[www\]\.vip', "'198.51.100.300'"),
    ({'ports': [80, 70000]}, r'lvs_virtual_services\[www\]\.ports\[1\]', '70000'),
    ({'ports': []}, r'lvs_virtual_services\[www\]\.ports', r'\[\]'),
    ({'ports': [80, 80]}, r'lvs_virtual_services\[www\]\.ports', r'\[80, 80\]'),
    ({'fwmark': None}, r'lvs_virtual_services\[www\]\.fwmark', 'None'),
    ({'fwmark': 0}, r'lvs_virtual_services\[www\]\.fwmark', '0'),
    ({'fwmark': 2 ** 32}, r'lvs_virtual_services\[www\]\.fwmark', '4294967296'),
    ({'protocol': 'icmp'}, r'lvs_virtual_services\[www\]\.protocol', "'icmp'"),
    ({'scheduler': 'random'}, r'lvs_virtual_services\[www\]\.scheduler', "'random'"),
    ({'scheduler_flags': ['sh-port']}, r'lvs_virtual_services\[www\]\.scheduler_flags\[0\]', "'sh-port'"),
    ({'forwarding': 'gre'}, r'lvs_virtual_services\[www\]\.forwarding', "'gre'"),
    ({'weight': 65536}, r'lvs_virtual_services\[www\]\.weight', '65536'),
    ({'weight': -1}, r'lvs_virtual_services\[www\]\.weight', '-1'),
    ({'weight': True}, r'lvs_virtual_services\[www\]\.weight', 'True'),
    ({'persistence': 'long'}, r'lvs_virtual_services\[www\]\.persistence', "'long'"),
    ({'persistence_netmask': '255.0.255.0'}, r'lvs_virtual_services\[www\]\.persistence_netmask', "'255.0.255.0'"),
    ({'real_server_port': 8080}, r'lvs_virtual_services\[www\]\.real_server_port', '8080'),
    ({'real_servers': 'nogroup'}, r'lvs_virtual_services\[www\]\.real_servers', "'nogroup'"),
    ({'real_servers': 42}, r'lvs_virtual_services\[www\]\.real_servers', '42'),
    ({'real_servers': 'bad'}, r'lvs_virtual_services\[www\]\.real_servers\[0\]', "'noaddr'"),
    ({'real_servers': [{'host': 'web1', 'wieght': 2}]}, r'lvs_virtual_services\[www\]\.real_servers\[0\]', "'wieght'"),
    ({'real_servers': [{'address': '198.51.100.40', 'weight': 70000}]},
     r'lvs_virtual_services\[www\]\.real_servers\[0\]\.weight', '70000'),
    ({'real_servers': ['web1', '198.51.100.21']},
     r'lvs_virtual_services\[www\]\.real_servers\[1\]\.address', "'198.51.100.21'"),
    ({'real_servers': 'web_v6'}, r'lvs_virtual_services\[www\]\.real_servers\[0\]\.address', "'2001:db8:100::21'"),
    ({'real_servers': [{'host': 'web1', 'port': 8080}]}, r'lvs_virtual_services\[www\]\.real_servers\[0\]\.port', '8080'),
    ({'real_servers': [3.5]}, r'lvs_virtual_services\[www\]\.real_servers\[0\]', '3.5'),
    ({'health_check': {'type': 'PING'}}, r'lvs_virtual_services\[www\]\.health_check\.type', "'PING'"),
    ({'health_check': {'type': 'MISC_CHECK'}}, r'lvs_virtual_services\[www\]\.health_check\.misc_path', 'None'),
    ({'health_check': {'type': 'DNS_CHECK'}}, r'lvs_virtual_services\[www\]\.health_check\.dns_name', 'None'),
    ({'health_check': {'timeout': 3}}, r'lvs_virtual_services\[www\]\.health_check\.timeout', '3'),
    ({'health_check': {'port': 0}}, r'lvs_virtual_services\[www\]\.health_check\.port', '0'),
    ({'health_check': 'HTTP_GET'}, r'lvs_virtual_services\[www\]\.health_check', "'HTTP_GET'"),
    ({'sorry_server': {'address': '2001:db8::30'}}, r'lvs_virtual_services\[www\]\.sorry_server\.address', "'2001:db8::30'"),
    ({'alpha': 'maybe'}, r'lvs_virtual_services\[www\]\.alpha', "'maybe'"),
    ({'quorum': 0}, r'lvs_virtual_services\[www\]\.quorum', '0'),
    ({'vipp': '198.51.100.100'}, r'lvs_virtual_services\[0\]\.vipp', "'198.51.100.100'"),
])
def test_bad_field_is_named_with_its_value(over, field, value):
    fails('^%s: %s ' % (field, value), www(**over))


def test_missing_vip_and_bad_name():
    fails(r'^lvs_virtual_services\[www\]\.vip: None is required', {'name': 'www', 'ports': [80]})
    fails(r"^lvs_virtual_services\[0\]\.name: '1www' ", {'name': '1www', 'vip': '198.51.100.100', 'ports': [80]})
    fails(r'^lvs_virtual_services\[0\]\.name: None ', {'vip': '198.51.100.100', 'ports': [80]})
    fails(r"^lvs_virtual_services\[0\]: 'www' must be a mapping", 'www')


def test_not_a_list():
    with pytest.raises(ClusterModelError, match=r"^lvs_virtual_services: 'www' must be a list"):
        expand_services('www')


def test_checks_across_services():
    api = {'name': 'api', 'vip': '198.51.100.101', 'ports': [8080], 'real_servers': ['web1']}
    fails(r"^lvs_virtual_services\[api\]\.name: 'api' is used by two services", api, dict(api, vip='198.51.100.102'))
    fails(r'^lvs_virtual_services\[api\]\.fwmark: 1 is already used by service www', www(), dict(api, fwmark=1))
    fails(r'^lvs_virtual_services\[api\]\.ports: 443 on 198\.51\.100\.100/tcp is already served by service www',
          www(), dict(api, vip='198.51.100.100', ports=[443]))
    # the same port on the same VIP in another protocol is fine
    assert len(expand(www(), dict(api, vip='198.51.100.100', ports=[443], protocol='udp'))) == 2


def test_expand_service_alone_without_inventory():
    svc = expand_service(0, {'name': 'x', 'vip': '198.51.100.80', 'ports': [80],
                             'real_servers': ['198.51.100.21']})
    assert svc['real_servers'][0]['address'] == '198.51.100.21'
    with pytest.raises(ClusterModelError, match=r"real_servers\[0\]: 'web1' has no address"):
        expand_service(0, {'name': 'x', 'vip': '198.51.100.80', 'ports': [80], 'real_servers': ['web1']})


class _StrictHostVars(dict):
    """Like Ansible's HostVars: a missing host is not a KeyError but an undefined error."""

    def __getitem__(self, host):
        if host not in self:
            raise RuntimeError("hostvars['%s'] is undefined" % host)
        return dict.__getitem__(self, host)


def test_member_not_in_inventory_names_the_field():
    hostvars = _StrictHostVars({'rs1': {'ansible_host': '198.51.100.21'}})
    with pytest.raises(ClusterModelError, match=r"lvs_virtual_services\[www\]\.real_servers\[1\]: 'ghost' has no address"):
        expand_services([{'name': 'www', 'vip': '198.51.100.100', 'ports': [80], 'real_servers': ['rs1', 'ghost']}],
                        hostvars, {'all': ['rs1']})
