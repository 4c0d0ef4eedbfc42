# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lvs.cf filters, called directly and by FQCN through a real Ansible Templar."""

from __future__ import annotations

import os

import pytest

from ansible.errors import AnsibleError, AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.filter.lvs_cf import (
    FilterModule,
    from_lvs_cf,
    lvs_cf_parse,
    lvs_cf_plan,
    to_lvs_cf,
)

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'lvs_cf')
HOSTVARS = {'rs1': {'ansible_host': '198.51.100.21'}, 'rs2': {'ansible_host': '198.51.100.22'},
            'rs3': {'ansible_host': '198.51.100.23'}, 'staff1': {'ansible_host': '198.51.100.51'},
            'staff2': {'ansible_host': '198.51.100.52'}, 'director1': {'ansible_host': '198.51.100.11'},
            'director2': {'ansible_host': '198.51.100.12'}}
GROUPS = {'all': list(HOSTVARS)}
SETTINGS = {'primary': '198.51.100.11', 'backup': '198.51.100.12'}


def _department():
    with open(os.path.join(FIXTURES, 'good', 'department.cf'), encoding='utf-8') as handle:
        return handle.read()


def _template(expression, variables):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(expression))


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {'from_lvs_cf', 'to_lvs_cf', 'lvs_cf_plan', 'lvs_cf_parse',
                                             'lvs_cf_ipvs_check'}


def test_from_lvs_cf_with_inventory():
    result = from_lvs_cf(_department(), HOSTVARS)
    www = result['lvs_virtual_services'][0]
    assert [m.get('host') for m in www['real_servers']] == ['rs1', 'rs2', 'rs3']
    assert set(result['director_hosts']) == {'director1', 'director2'}


def test_errors_name_the_line():
    with pytest.raises(AnsibleFilterError, match=r"from_lvs_cf: lvs.cf: line 2: network in the global section"):
        from_lvs_cf('primary = 198.51.100.11\nnetwork = dr\n')
    with pytest.raises(AnsibleFilterError, match=r'lvs_cf_parse: lvs.cf: line 1: '):
        lvs_cf_parse('port=80\n')
    with pytest.raises(AnsibleFilterError, match=r'to_lvs_cf: .*settings.primary'):
        to_lvs_cf([], {'backup': '198.51.100.12'})


def test_department_through_templates_round_trips():
    """In templates, as the migration playbook uses them: import, expand, render, import again."""
    variables = {'text': _department(), 'hostvars': HOSTVARS, 'groups': GROUPS, 'settings': SETTINGS}
    imported = _template('{{ text | lvs.cluster.from_lvs_cf(hostvars) }}', variables)
    variables['model'] = imported['lvs_virtual_services']
    rendered = _template('{{ model | lvs.cluster.lvs_services(hostvars, groups) | lvs.cluster.to_lvs_cf(settings) }}',
                         variables)
    assert 'fwmark = 1' in rendered and 'virtual www_443 {' in rendered
    variables['rendered'] = rendered
    again = _template('{{ rendered | lvs.cluster.from_lvs_cf(hostvars) }}', variables)
    variables['again'] = again['lvs_virtual_services']
    same = _template('{{ (model | lvs.cluster.lvs_services(hostvars, groups)) =='
                     ' (again | lvs.cluster.lvs_services(hostvars, groups)) }}', variables)
    assert same is True


def test_plan_through_a_template():
    variables = {'hostvars': HOSTVARS, 'groups': GROUPS, 'settings': SETTINGS,
                 'model': from_lvs_cf(_department(), HOSTVARS)['lvs_virtual_services']}
    first = _template("{{ model | lvs.cluster.lvs_services(hostvars, groups) | lvs.cluster.lvs_cf_plan(settings, none) }}",
                      variables)
    assert first['serial_no'] == 1
    variables['current'] = first['text']
    second = _template("{{ model | lvs.cluster.lvs_services(hostvars, groups) | lvs.cluster.lvs_cf_plan(settings, current) }}",
                       variables)
    assert second['change'] == 'none' and second['text'] == first['text']


def test_template_error_surfaces():
    with pytest.raises(AnsibleError, match=r'line 3: .*must be 0 or 1'):
        _template('{{ text | lvs.cluster.from_lvs_cf }}', {'text': 'primary = 198.51.100.11\n\nheartbeat = yes\n'})


def test_plan_direct_matches_template():
    model = from_lvs_cf(_department(), HOSTVARS)['lvs_virtual_services']
    from ansible_collections.lvs.cluster.plugins.filter.cluster import lvs_services
    assert lvs_cf_plan(lvs_services(model, HOSTVARS, GROUPS), SETTINGS)['change'] == 'globals'
