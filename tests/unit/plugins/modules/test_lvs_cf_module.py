# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lvs_cf module on real files in a temporary directory: first write, idempotence,
serial_no, check mode, diff, refusal of what lvs.cf cannot express (file untouched)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_cf as lvs_cf_utils
from ansible_collections.lvs.cluster.plugins.module_utils.cluster import expand_services
from ansible_collections.lvs.cluster.plugins.modules import lvs_cf

SERVICES = expand_services([
    {'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1, 'persistence': 300,
     'health_check': {'type': 'HTTP_GET', 'path': '/'},
     'real_servers': [{'address': '198.51.100.21'}, {'address': '198.51.100.22'}]},
])
SETTINGS = {'primary': '198.51.100.11', 'backup': '198.51.100.12', 'vip_netmask': 25}


def _run(capsys, **args):
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            lvs_cf.main()
    result = json.loads(capsys.readouterr().out)
    result['rc'] = exited.value.code
    return result


def test_write_then_nothing_to_do(tmp_path, capsys):
    path = str(tmp_path / 'lvs.cf')
    first = _run(capsys, path=path, services=SERVICES, settings=SETTINGS, mode='0644')
    assert first['rc'] == 0 and first['changed'] is True
    assert (first['serial_no'], first['change']) == (1, 'globals')
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    doc = lvs_cf_utils.parse(text)
    assert [v['options']['port'] for v in doc['virtuals']] == [80, 443]
    assert doc['virtuals'][0]['options']['vip_nmask'] == '255.255.255.128'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    again = _run(capsys, path=path, services=SERVICES, settings=SETTINGS, mode='0644')
    assert again['changed'] is False and again['change'] == 'none' and again['serial_no'] == 1
    with open(path, encoding='utf-8') as handle:
        assert handle.read() == text


def test_change_bumps_serial_check_mode_writes_nothing(tmp_path, capsys):
    path = str(tmp_path / 'lvs.cf')
    _run(capsys, path=path, services=SERVICES, settings=SETTINGS)
    before = (tmp_path / 'lvs.cf').read_text()
    grown = expand_services([{'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1,
                              'real_servers': [{'address': '198.51.100.21'}, {'address': '198.51.100.23'}]}])
    dry = _run(capsys, path=path, services=grown, settings=SETTINGS, _ansible_check_mode=True, _ansible_diff=True)
    assert dry['changed'] is True and dry['serial_no'] == 2 and dry['change'] == 'services'
    assert '198.51.100.23' in dry['diff']['after'] and dry['diff']['before'] == before
    assert (tmp_path / 'lvs.cf').read_text() == before
    real = _run(capsys, path=path, services=grown, settings=SETTINGS, backup=True)
    assert real['changed'] is True and 'serial_no = 2\n' in (tmp_path / 'lvs.cf').read_text()
    with open(real['backup_file'], encoding='utf-8') as handle:
        assert handle.read() == before


def test_inexpressible_model_fails_and_leaves_the_file(tmp_path, capsys):
    path = tmp_path / 'lvs.cf'
    path.write_text('# the old file\n')
    bad = expand_services([{'name': 'v6', 'vip': '2001:db8::1', 'ports': [80]}])
    result = _run(capsys, path=str(path), services=bad, settings=SETTINGS)
    assert result['rc'] == 1 and result['failed'] is True
    assert 'lvs_virtual_services[v6].vip: 2001:db8::1: piranha handles IPv4 only' in result['msg']
    assert path.read_text() == '# the old file\n'


def test_raw_model_is_refused_with_a_hint(tmp_path, capsys):
    result = _run(capsys, path=str(tmp_path / 'lvs.cf'),
                  services=[{'name': 'www', 'vip': '198.51.100.100', 'ports': [80]}], settings=SETTINGS)
    assert result['failed'] is True
    assert 'lvs.cluster.lvs_services(hostvars, groups)' in result['msg']
    assert not (tmp_path / 'lvs.cf').exists()


def test_missing_directory_is_named(tmp_path, capsys):
    result = _run(capsys, path=str(tmp_path / 'ha' / 'lvs.cf'), services=SERVICES, settings=SETTINGS)
    assert result['failed'] is True and 'is piranha installed' in result['msg']
