# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters lvs.cluster.lvs_services / lvs_services_of_host, called directly and
through a real Ansible Templar (the way roles use them)."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleError, AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.cluster import (
    FilterModule,
    lvs_services,
    lvs_services_of_host,
)

HOSTVARS = {
    'rs1': {'ansible_host': '198.51.100.21'},
    'rs2': {'ansible_host': '198.51.100.22', 'real_server_weight': 5},
    'staff1': {'ansible_host': '198.51.100.51'},
}
GROUPS = {'all': list(HOSTVARS), 'lvs_real_servers': ['rs1', 'rs2'], 'staffweb': ['staff1']}
SERVICES = [
    {'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1,
     'persistence': 300, 'real_servers': 'lvs_real_servers'},
    {'name': 'staff', 'vip': '198.51.100.101', 'ports': [80], 'forwarding': 'tun',
     'real_servers': ['staff1', 'rs2']},
]


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {'lvs_services', 'lvs_services_of_host'}


def test_lvs_services_expands():
    result = lvs_services(SERVICES, HOSTVARS, GROUPS)
    assert [s['name'] for s in result] == ['www', 'staff']
    assert [(m['host'], m['address'], m['weight']) for m in result[0]['real_servers']] == [
        ('rs1', '198.51.100.21', 1), ('rs2', '198.51.100.22', 5)]


@pytest.mark.parametrize('host, names', [
    ('rs1', ['www']), ('rs2', ['www', 'staff']), ('staff1', ['staff']), ('director1', []),
])
def test_lvs_services_of_host(host, names):
    assert [s['name'] for s in lvs_services_of_host(SERVICES, host, HOSTVARS, GROUPS)] == names


def test_errors_become_filter_errors_naming_field_and_value():
    bad = [dict(SERVICES[0], weight=70000)]
    with pytest.raises(AnsibleFilterError, match=r'^lvs_virtual_services\[www\]\.weight: 70000 must be an integer'):
        lvs_services(bad, HOSTVARS, GROUPS)
    with pytest.raises(AnsibleFilterError, match=r"^lvs_virtual_services\[www\]\.vip: '198\.51\.100' is not"):
        lvs_services_of_host([dict(SERVICES[0], vip='198.51.100')], 'rs1', HOSTVARS, GROUPS)


# --- through Ansible's templating engine ----------------------------------------------

def _template(expression, variables):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(expression))


def test_filter_by_fqcn_in_a_template():
    variables = {'lvs_virtual_services': SERVICES, 'hostvars': HOSTVARS, 'groups': GROUPS}
    result = _template(
        "{{ lvs_virtual_services | lvs.cluster.lvs_services_of_host('rs2', hostvars, groups)"
        " | map(attribute='vip') | list }}", variables)
    assert list(result) == ['198.51.100.100', '198.51.100.101']


def test_filter_error_surfaces_in_a_template():
    variables = {'lvs_virtual_services': [dict(SERVICES[1], forwarding='gre')],
                 'hostvars': HOSTVARS, 'groups': GROUPS}
    with pytest.raises(AnsibleError, match=r"lvs_virtual_services\[staff\]\.forwarding: 'gre' must be one of dr, tun, nat"):
        _template("{{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) }}", variables)
