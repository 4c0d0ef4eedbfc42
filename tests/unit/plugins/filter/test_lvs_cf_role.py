# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The director role's piranha variables (defaults/main.yml + vars/piranha.yml), templated
by a real Ansible Templar: the settings lvs.cluster.lvs_cf gets from the role's variables,
and the lvs.cf they give for the lab model."""

from __future__ import annotations

import os

from ansible_collections.lvs.cluster.plugins.filter.cluster import lvs_services
from ansible_collections.lvs.cluster.plugins.module_utils import lvs_cf

ROLE = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'director'))
PAIR = [{'host': 'director2', 'priority': 100, 'address': '198.51.100.12'},
        {'host': 'director1', 'priority': 150, 'address': '198.51.100.11'}]


def _vars(*overrides):
    """The role's files loaded as Ansible loads them (strings trusted as templates)."""
    from ansible.parsing.dataloader import DataLoader
    variables = {}
    for part in ('defaults/main.yml', 'vars/piranha.yml'):
        variables.update(DataLoader().load_from_file(os.path.join(ROLE, part), trusted_as_template=True))
    variables['__director_pair'] = PAIR
    for extra in overrides:
        variables.update(extra)
    return variables


def _template(expression, variables):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(expression))


def test_settings_follow_the_role_variables():
    settings = _template('{{ __director_piranha_settings }}', _vars({'director_interface': 'eth1',
                                                                     'director_vip_prefix': 25}))
    assert settings['primary'] == '198.51.100.11' and settings['backup'] == '198.51.100.12'   # by priority
    assert (settings['vip_interface'], settings['vip_netmask'], settings['keepalive']) == ('eth1', 25, 1)
    assert settings['syncdaemon'] is True and settings['syncd_iface'] == 'eth1'
    assert settings['syncd_id'] == 51            # director_sync_daemon_id null: the VRRP router id


def test_explicit_addresses_globals_and_no_sync_daemon():
    settings = _template('{{ __director_piranha_settings }}', _vars({
        'director_piranha_primary': '198.51.100.12', 'director_piranha_backup': '198.51.100.11',
        'director_sync_daemon': False, 'director_piranha_globals': {'heartbeat_port': 540, 'deadtime': 9},
        'director_lvs_timeouts': {'tcp': 900}}))
    assert (settings['primary'], settings['backup']) == ('198.51.100.12', '198.51.100.11')
    assert 'syncd_iface' not in settings and settings['syncdaemon'] is False
    doc, _warnings = lvs_cf.from_model([], settings)
    assert (doc['globals']['heartbeat_port'], doc['globals']['deadtime'], doc['globals']['tcp_timeout']) == (540, 9, 900)


def test_lab_model_renders_with_the_role_defaults():
    hostvars = {'rs1': {'ansible_host': '198.51.100.21'}, 'rs2': {'ansible_host': '198.51.100.22'}}
    model = [{'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1, 'persistence': 300,
              'real_servers': ['rs1', 'rs2']}]
    variables = _vars({'services': lvs_services(model, hostvars, {'all': list(hostvars)})})
    text = _template('{{ services | lvs.cluster.to_lvs_cf(__director_piranha_settings) }}', variables)
    doc = lvs_cf.parse(text)
    assert doc['globals']['primary'] == '198.51.100.11'
    assert doc['globals']['syncd_id'] == 51 and doc['globals']['keepalive'] == 1
    assert [v['options']['address']['device'] for v in doc['virtuals']] == ['eth0:1', 'eth0:1']
    assert doc['virtuals'][0]['options']['vip_nmask'] == '255.255.255.255'


# --- the role's piranha preflight, run for real (ansible-playbook, local stand-ins) ---------

PLAY = '''---
- name: Director preflight through the render entry point
  hosts: lvs_directors
  gather_facts: false
  tasks:
    - name: Render
      ansible.builtin.include_role:
        name: lvs.cluster.director
        tasks_from: render
      vars:
        director_render_path: "{{ out }}/{{ inventory_hostname }}.conf"
        director_interface: eth0
        director_address: "{{ ansible_host }}"
        director_script_user: root
'''
INVENTORY = '''---
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    director_backend: piranha
    lvs_virtual_services:
      - {name: www, vip: 198.51.100.100, ports: [80, 443], fwmark: 1, persistence: 300, real_servers: lvs_real_servers}
  children:
    lvs_directors:
      hosts:
        director1: {ansible_host: 198.51.100.11}
        director2: {ansible_host: 198.51.100.12}
    lvs_real_servers:
      hosts:
        rs1: {ansible_host: 198.51.100.21}
'''


def _preflight(tmp_path, *extra):
    import json
    import subprocess
    import sys
    (tmp_path / 'play.yml').write_text(PLAY)
    (tmp_path / 'inventory.yml').write_text(INVENTORY)
    out = tmp_path / 'out'
    out.mkdir(exist_ok=True)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(tmp_path / 'inventory.yml'),
               str(tmp_path / 'play.yml'), '-e', json.dumps({'out': str(out)})]
    for item in extra:
        command += ['-e', json.dumps(item)]
    env = dict(os.environ, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='false',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROLE, '..', '..', 'build', 'collections'))
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
    return run, sorted(p.name for p in out.iterdir())


def test_preflight_accepts_a_piranha_setup(tmp_path):
    run, written = _preflight(tmp_path, {'director_manage_packages': False})
    assert run.returncode == 0, run.stdout[-3000:]
    assert written == ['director1.conf', 'director2.conf']


def test_preflight_refuses_before_anything_is_written(tmp_path):
    cases = [
        ({}, 'director_backend: piranha: no piranha package for os_family unknown'),
        ({'director_manage_packages': False, 'director_piranha_primary': '198.51.100.300'},
         "director_piranha_primary: '198.51.100.300' / director_piranha_backup: '198.51.100.12' must be two"),
        ({'director_manage_packages': False, 'director_piranha_backup': '198.51.100.11'},
         "director_piranha_primary: '198.51.100.11' / director_piranha_backup: '198.51.100.11' must be two"),
        ({'director_manage_packages': False, 'lvs_virtual_services': [
            {'name': 'www', 'vip': '198.51.100.100', 'ports': [80]},
            {'name': 'app', 'vip': '198.51.100.101', 'ports': [80], 'forwarding': 'tun'}]},
         'lvs.cf has one network for all virtual servers but the services use forwarding dr, tun'),
    ]
    for extra, message in cases:
        run, written = _preflight(tmp_path, extra)
        assert run.returncode != 0, extra
        assert message in run.stdout, (message, run.stdout[-3000:])
        assert written == [], extra
