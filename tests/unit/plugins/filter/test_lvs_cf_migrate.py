# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/migrate_piranha.yml run for real (ansible-playbook on the controller): the
department's lvs.cf becomes group_vars/host_vars, and the keepalived.conf the director
role renders from them passes `keepalived -t` (when keepalived is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_collections.lvs.cluster.plugins.filter.lvs_cf import from_lvs_cf

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
FIXTURES = os.path.join(REPO, 'tests', 'unit', 'fixtures', 'lvs_cf')
INVENTORY = os.path.join(FIXTURES, 'migrate_inventory.yml')
PLAYBOOK = os.path.join(REPO, 'playbooks', 'migrate_piranha.yml')
KEEPALIVED = shutil.which('keepalived') or ('/usr/sbin/keepalived' if os.path.exists('/usr/sbin/keepalived') else None)


def _playbook(tmp, *extra):
    env = dict(os.environ, PWD=str(tmp), ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, 'build', 'collections'),
               ANSIBLE_FORCE_COLOR='false', ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='false')
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', INVENTORY, PLAYBOOK]
    for item in extra:
        command += ['-e', item]
    return subprocess.run(command, cwd=str(tmp), env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope='module')
def migrated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('migrate')
    run = _playbook(tmp, 'migrate_piranha_file=%s' % os.path.join(FIXTURES, 'good', 'department.cf'),
                    'migrate_piranha_output=out')
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return tmp / 'out', run


def _yaml(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def test_group_vars_hold_the_converted_model(migrated):
    out, _run = migrated
    with open(os.path.join(FIXTURES, 'good', 'department.cf'), encoding='utf-8') as handle:
        hostvars = _yaml(INVENTORY)['all']['children']
        hostvars = dict(h for g in hostvars.values() for h in g['hosts'].items())
        expected = from_lvs_cf(handle.read(), hostvars)
    services = _yaml(out / 'group_vars' / 'all' / 'lvs_virtual_services.yml')['lvs_virtual_services']
    assert services == expected['lvs_virtual_services']
    assert [m['host'] for m in services[0]['real_servers']] == ['rs1', 'rs2', 'rs3']
    director = _yaml(out / 'group_vars' / 'lvs_directors' / 'director.yml')
    assert director['director_backend'] == 'keepalived'
    assert director['director_sync_daemon_id'] == 7 and director['director_vrrp_advert_int'] == 2
    assert _yaml(out / 'host_vars' / 'director1' / 'director.yml') == {
        'director_address': '198.51.100.11', 'director_priority': 150}
    assert _yaml(out / 'host_vars' / 'director2' / 'director.yml')['director_priority'] == 100


def test_keepalived_conf_is_what_the_director_role_renders(migrated):
    out, _run = migrated
    text = (out / 'keepalived.conf.director1').read_text()
    assert 'virtual_server fwmark 1 {' in text and 'persistence_timeout 300' in text
    assert 'path /health' in text and 'sorry_server 198.51.100.30 80' in text
    assert 'unicast_peer {\n        198.51.100.12' in text and 'router_id director1' in text
    assert 'priority 100' in (out / 'keepalived.conf.director2').read_text()


@pytest.mark.skipif(KEEPALIVED is None, reason='keepalived is not installed (apt-get install keepalived)')
def test_keepalived_accepts_the_rendered_conf(migrated):
    out, _run = migrated
    for name in ('director1', 'director2'):
        check = subprocess.run([KEEPALIVED, '-t', '-f', str(out / ('keepalived.conf.' + name))],
                               capture_output=True, text=True, timeout=60, check=False)
        assert check.returncode == 0, check.stderr


def test_summary_lists_what_does_not_map(migrated):
    out, run = migrated
    summary = (out / 'MIGRATION.md').read_text()
    assert '| www | 198.51.100.100 | 80, 443 | 1 | wlc | 300 | dr | rs1, rs2, rs3 | HTTP_GET |' in summary
    assert 'What does not map (3)' in summary and 'monitor_links' in summary
    assert 'Identical: the converted model gives the IPVS table lvsd builds' in summary
    assert '-A -f 1 -s wlc -p 300 -M 255.255.255.0\n-a -f 1 -r 198.51.100.21:0 -g -w 1' in summary
    assert 'IPVS table: identical to what lvsd builds from lvs.cf' in run.stdout
    assert 'expect \\"HTTP\\" accepted any matching reply' in run.stdout


def test_bad_lvs_cf_stops_before_writing(tmp_path):
    bad = tmp_path / 'lvs.cf'
    bad.write_text('primary = 198.51.100.11\nvirtual www {\n    port=80\n}\n')
    run = _playbook(tmp_path, 'migrate_piranha_file=%s' % bad, 'migrate_piranha_output=out')
    assert run.returncode != 0
    assert "line 3: '=' must stand between spaces" in run.stdout
    assert not (tmp_path / 'out').exists()
