# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/lvs_cf.py: the lvs.cf grammar (corpus of good and malformed files),
the canonical renderer, and the conversion between lvs.cf and the cluster model."""

from __future__ import annotations

import copy
import glob
import os
import re

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import lvs_cf
from ansible_collections.lvs.cluster.plugins.module_utils.cluster import expand_services

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'lvs_cf')
GOOD = sorted(glob.glob(os.path.join(FIXTURES, 'good', '*.cf')))
BAD = sorted(glob.glob(os.path.join(FIXTURES, 'bad', '*.cf')))
SETTINGS = {'primary': '198.51.100.11', 'backup': '198.51.100.12'}


def _read(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read()


def _fixture(name):
    return _read(os.path.join(FIXTURES, 'good', name))


def _id(path):
    return os.path.basename(path)


# --- grammar --------------------------------------------------------------------

def test_corpus_is_there():
    assert len(GOOD) >= 6
    assert len(BAD) >= 15


@pytest.mark.parametrize('path', GOOD, ids=_id)
def test_parse_render_parse_gives_the_same_document(path):
    doc = lvs_cf.parse(_read(path))
    text = lvs_cf.render(doc)
    again = lvs_cf.parse(text)
    assert lvs_cf.without_lines(again) == lvs_cf.without_lines(doc)
    # canonical: rendering the re-parsed document gives the same bytes
    assert lvs_cf.render(again) == text


@pytest.mark.parametrize('path', BAD, ids=_id)
def test_malformed_file_is_rejected_at_its_line(path):
    text = _read(path)
    header = re.match(r'^# expect-error: (\d+): (.+)$', text.splitlines()[0])
    assert header, '%s: first line must be "# expect-error: LINE: message part"' % path
    line, part = int(header.group(1)), header.group(2)
    with pytest.raises(lvs_cf.LvsCfError) as caught:
        lvs_cf.parse(text)
    first = caught.value.errors[0]
    assert first[0] == line, caught.value.errors
    assert part in first[2], caught.value.errors
    # the offending text is the stripped source line, and the message names the line
    assert first[1] == text.splitlines()[line - 1].strip()
    assert 'line %d: ' % line in str(caught.value)


def test_all_errors_are_reported_not_only_the_first():
    text = 'primary = 198.51.100.11\nbackup_active = 2\nvirtual www {\n port = 99999\n}\nfoo = 1\n'
    with pytest.raises(lvs_cf.LvsCfError) as caught:
        lvs_cf.parse(text)
    assert [e[0] for e in caught.value.errors] == [2, 4, 6]


def test_department_file_is_read_as_written():
    doc = lvs_cf.parse(_fixture('department.cf'))
    assert doc['globals']['serial_no'] == 41
    assert doc['globals']['syncdaemon'] is True and doc['globals']['syncd_id'] == 7
    assert [v['name'] for v in doc['virtuals']] == ['www_http', 'www_https', 'staffweb']
    www = doc['virtuals'][0]
    assert www['line'] == 18
    assert www['options']['address'] == {'address': '198.51.100.100', 'device': 'eth0:1'}
    # backslash sequences stay as written: nanny interprets them
    assert www['options']['send'] == r'GET /health HTTP/1.0\r\nHost: www.example.org\r\n\r\n'
    assert [(s['name'], s['options']['weight']) for s in www['servers']] == [('rs1', 1), ('rs2', 1), ('rs3', 2)]


def test_comments_quotes_and_tabs():
    doc = lvs_cf.parse(_fixture('comments_quoting.cf'))
    assert doc['globals']['primary'] == '198.51.100.11'      # quoted value
    assert doc['globals']['serial_no'] == 7                   # tabs around '='
    weird = doc['virtuals'][0]['options']
    assert weird['port'] == 8080
    assert weird['address']['device'] == 'eth0:1'
    # an escaped quote and a '#' inside a quoted value are data
    assert weird['send'] == r'GET /say?q=\"hi\"#frag HTTP/1.0\r\n\r\n'
    text = lvs_cf.render(doc)
    assert r'send = "GET /say?q=\"hi\"#frag HTTP/1.0\r\n\r\n"' in text


def test_render_is_canonical_and_ordered():
    text = lvs_cf.render(lvs_cf.parse('service = lvs\nprimary = 198.51.100.11\nserial_no = 3\n'))
    assert text.splitlines()[1:] == ['serial_no = 3', 'service = lvs', 'primary = 198.51.100.11']
    assert text.startswith('#')


# --- lvs.cf -> model --------------------------------------------------------------

def test_department_becomes_the_model():
    result = lvs_cf.parse_to_model(_fixture('department.cf'))
    services = result['lvs_virtual_services']
    assert [s['name'] for s in services] == ['www', 'staffweb']
    www, staff = expand_services(services)
    # HTTP and HTTPS under fwmark 1: one service with both ports
    assert (www['vip'], www['ports'], www['fwmark'], www['kind']) == ('198.51.100.100', [80, 443], 1, 'fwmark')
    assert (www['persistence'], www['persistence_netmask']) == (300, '255.255.255.0')
    assert www['forwarding'] == 'dr' and www['scheduler'] == 'wlc'
    check = www['health_check']
    assert (check['type'], check['path'], check['virtualhost'], check['status_code'], check['port'],
            check['connect_timeout']) == ('HTTP_GET', '/health', 'www.example.org', 200, 80, 6)
    assert [(m['address'], m['weight'], m['name']) for m in www['real_servers']] == [
        ('198.51.100.21', 1, 'rs1'), ('198.51.100.22', 1, 'rs2'), ('198.51.100.23', 2, 'rs3')]
    assert staff['sorry_server'] == {'address': '198.51.100.30', 'port': 80}
    assert staff['inhibit_on_failure'] is False and staff['scheduler'] == 'rr'
    director = result['director']
    assert director['director_piranha_primary'] == '198.51.100.11'
    assert director['director_piranha_backup'] == '198.51.100.12'
    assert (director['director_sync_daemon'], director['director_sync_daemon_interface'],
            director['director_sync_daemon_id']) == (True, 'eth0', 7)
    assert director['director_vrrp_advert_int'] == 2
    assert director['director_interface'] == 'eth0' and director['director_vip_prefix'] == 25
    assert director['director_piranha_globals']['monitor_links'] is True
    assert result['director_hosts'] == {
        '198.51.100.11': {'director_address': '198.51.100.11', 'director_priority': 150},
        '198.51.100.12': {'director_address': '198.51.100.12', 'director_priority': 100}}
    # what does not map is reported, nothing else
    assert len(result['warnings']) == 3
    assert 'virtual staffweb (line 82): quiesce_server = 1' in result['warnings'][0]
    assert 'expect "HTTP" accepted any matching reply' in result['warnings'][1]
    assert 'monitor_links' in result['warnings'][2]


def test_inventory_hosts_replace_addresses():
    hostvars = {'rs1': {'ansible_host': '198.51.100.21'}, 'web2': {'real_server_address': '198.51.100.22',
                                                                   'ansible_host': '198.51.100.250'},
                'director1': {'ansible_host': '198.51.100.11'}}
    result = lvs_cf.parse_to_model(_fixture('department.cf'), hostvars)
    members = result['lvs_virtual_services'][0]['real_servers']
    assert members[0] == {'host': 'rs1', 'weight': 1}
    assert members[1] == {'host': 'web2', 'name': 'rs2', 'weight': 1}
    assert members[2] == {'address': '198.51.100.23', 'name': 'rs3', 'weight': 2}
    assert result['director_hosts']['director1']['director_priority'] == 150


def test_nat_keeps_real_server_ports_and_timeouts():
    result = lvs_cf.parse_to_model(_fixture('nat.cf'))
    (app,) = expand_services(result['lvs_virtual_services'])
    assert app['forwarding'] == 'nat' and app['scheduler'] == 'wrr'
    assert [(m['address'], m['port'], m['weight']) for m in app['real_servers']] == [
        ('198.51.100.31', 8080, 3), ('198.51.100.32', 8080, 1)]
    assert (app['health_check']['path'], app['health_check']['status_code']) == ('/ping', 204)
    assert app['health_check']['connect_timeout'] == 3
    assert result['director']['director_lvs_timeouts'] == {'tcp': 900, 'tcpfin': 120, 'udp': 300}
    assert result['director']['director_piranha_globals']['nat_router'] == '198.51.100.5 eth1:1'
    assert any(w.startswith('nat_router 198.51.100.5 eth1:1') for w in result['warnings'])


def test_tunnel_udp():
    result = lvs_cf.parse_to_model(_fixture('tunnel.cf'))
    (dns,) = expand_services(result['lvs_virtual_services'])
    assert (dns['forwarding'], dns['protocol'], dns['scheduler'], dns['ports']) == ('tun', 'udp', 'lc', [53])
    assert result['director']['director_sync_daemon'] is False
    assert any('backup_active = 0' in w for w in result['warnings'])


def test_checks_that_do_not_map_are_reported():
    result = lvs_cf.parse_to_model(_fixture('checks.cf'))
    smtp, ldap = expand_services(result['lvs_virtual_services'])
    assert smtp['health_check']['type'] == 'TCP_CHECK'
    assert [m['name'] for m in smtp['real_servers']] == ['mx1']
    assert (ldap['health_check']['type'], ldap['health_check']['misc_path']) == (
        'MISC_CHECK', '/usr/local/bin/check_ldap --host %h')
    text = '\n'.join(result['warnings'])
    for expected in ('virtual old (line 34): active = 0', 'reentry = 60', 'send/expect dialogue',
                     'server mx2 (line 17) of virtual smtp: active = 0', 'load_monitor = ruptime',
                     'uses %h', 'expect "OK" compared the output of send_program'):
        assert expected in text
    assert len(result['warnings']) == 7


def test_failover_services_are_reported():
    result = lvs_cf.parse_to_model(_fixture('fos.cf'))
    assert result['lvs_virtual_services'] == []
    assert any('failover ftp (line 11)' in w for w in result['warnings'])
    assert any(w.startswith('service = fos') for w in result['warnings'])


def test_names_that_are_not_model_names_are_renamed_with_a_warning():
    text = ('primary = 198.51.100.11\nvirtual 1st:web {\n address = 198.51.100.100 eth0:1\n port = 80\n}\n'
            'virtual vs_1st_web {\n address = 198.51.100.101 eth0:1\n port = 80\n}\n')
    result = lvs_cf.parse_to_model(text)
    assert [s['name'] for s in result['lvs_virtual_services']] == ['vs_1st_web', 'vs_1st_web_2']
    assert "name '1st:web' is not a model name" in result['warnings'][0]


def test_blocks_sharing_a_fwmark_that_disagree_are_reported():
    text = _fixture('department.cf').replace('     scheduler = wlc\n     protocol = tcp\n     timeout = 6\n'
                                             '     reentry = 15\n     quiesce_server = 0\n     server rs1 {\n'
                                             '         address = 198.51.100.21\n         active = 1\n'
                                             '         weight = 1\n     }\n     server rs2',
                                             '     scheduler = rr\n     protocol = tcp\n     timeout = 6\n'
                                             '     reentry = 15\n     quiesce_server = 0\n     server rs2', 1)
    # the first block (www_http) now schedules rr and lacks rs1; www_https is unchanged
    assert text != _fixture('department.cf')
    result = lvs_cf.parse_to_model(text)
    joined = '\n'.join(result['warnings'])
    assert 'its real servers differ from those of virtual www_http' in joined
    assert "scheduler 'wlc' differs from 'rr'" in joined


# --- model -> lvs.cf --------------------------------------------------------------

MODEL = [
    {'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1, 'persistence': 300,
     'persistence_netmask': '255.255.255.0', 'scheduler': 'wlc',
     'health_check': {'type': 'HTTP_GET', 'path': '/health', 'virtualhost': 'www.example.org'},
     'real_servers': [{'host': 'rs1'}, {'host': 'rs2', 'weight': 3}]},
    {'name': 'staffweb', 'vip': '198.51.100.101', 'ports': [80], 'scheduler': 'rr',
     'sorry_server': {'address': '198.51.100.30'},
     'real_servers': [{'address': '198.51.100.51', 'name': 'staff1'}, {'address': '198.51.100.52'}]},
]
HOSTVARS = {'rs1': {'ansible_host': '198.51.100.21'}, 'rs2': {'ansible_host': '198.51.100.22'}}


def test_fwmark_service_becomes_one_block_per_port():
    doc, warnings = lvs_cf.from_model(expand_services(MODEL, HOSTVARS), SETTINGS)
    assert warnings == []
    assert [v['name'] for v in doc['virtuals']] == ['www_80', 'www_443', 'staffweb']
    http, https, staff = [v['options'] for v in doc['virtuals']]
    for block, port in ((http, 80), (https, 443)):
        assert (block['fwmark'], block['port'], block['persistent'], block['pmask']) == (1, port, 300, '255.255.255.0')
        assert block['address'] == {'address': '198.51.100.100', 'device': 'eth0:1'}
    assert http['send'] == r'GET /health HTTP/1.0\r\nHost: www.example.org\r\n\r\n'
    assert http['expect'] == 'HTTP/1.1 200'
    assert 'send' not in https and 'expect' not in https      # nanny just connects to 443
    assert staff['address']['device'] == 'eth0:2' and staff['sorry_server'] == '198.51.100.30'
    assert staff['quiesce_server'] is False
    assert doc['globals']['network'] == 'direct'
    text = lvs_cf.render(doc)
    assert lvs_cf.without_lines(lvs_cf.parse(text)) == doc


@pytest.mark.parametrize('hostvars', [HOSTVARS, None], ids=['inventory', 'addresses'])
def test_model_to_lvs_cf_to_model_round_trip(hostvars):
    model = MODEL if hostvars else [dict(s, real_servers=[{'address': '198.51.100.21', 'name': 'rs1'},
                                                          {'address': '198.51.100.22', 'name': 'rs2', 'weight': 3}])
                                    if s['name'] == 'www' else s for s in MODEL]
    expanded = expand_services(model, HOSTVARS)
    doc, warnings = lvs_cf.from_model(expanded, dict(SETTINGS, keepalive=2, syncdaemon=True, syncd_iface='eth0'))
    assert warnings == []
    back = lvs_cf.parse_to_model(lvs_cf.render(doc), hostvars)
    assert back['warnings'] == []
    assert expand_services(back['lvs_virtual_services'], HOSTVARS) == expanded
    assert back['director']['director_vrrp_advert_int'] == 2
    assert back['director']['director_sync_daemon_interface'] == 'eth0'


@pytest.mark.parametrize('path', [p for p in GOOD if not p.endswith('fos.cf')], ids=_id)
def test_lvs_cf_to_model_to_lvs_cf_keeps_the_ipvs_table(path):
    """What IPVS gets (services, schedulers, persistence, members) survives the trip."""
    first = lvs_cf.parse_to_model(_read(path))
    expanded = expand_services(first['lvs_virtual_services'])
    settings = dict(SETTINGS)
    doc, _warnings = lvs_cf.from_model(expanded, settings)
    second = lvs_cf.parse_to_model(lvs_cf.render(doc))
    assert expand_services(second['lvs_virtual_services']) == expanded


def test_what_lvs_cf_cannot_say_is_an_error_naming_the_field():
    cases = [
        ([dict(MODEL[1], vip='2001:db8::1', real_servers=[], sorry_server=None)], r'staffweb\]\.vip: 2001:db8::1'),
        ([dict(MODEL[1], protocol='sctp')], r'staffweb\]\.protocol: sctp'),
        ([dict(MODEL[1], scheduler='sed')], r'staffweb\]\.scheduler: sed'),
        ([MODEL[1], dict(MODEL[1], name='b', vip='198.51.100.102', forwarding='tun')], r'forwarding dr, tun'),
    ]
    for model, message in cases:
        with pytest.raises(lvs_cf.LvsCfError, match=message):
            lvs_cf.from_model(expand_services(model, HOSTVARS), SETTINGS)
    with pytest.raises(lvs_cf.LvsCfError, match=r'settings\.backup .* is required'):
        lvs_cf.from_model(expand_services(MODEL, HOSTVARS), {'primary': '198.51.100.11'})
    with pytest.raises(lvs_cf.LvsCfError, match=r"settings\.keepalive: 'often' must be an integer"):
        lvs_cf.from_model(expand_services(MODEL, HOSTVARS), dict(SETTINGS, keepalive='often'))
    with pytest.raises(lvs_cf.LvsCfError, match=r'settings\.heartbeat_interval is not a global lvs.cf key'):
        lvs_cf.from_model(expand_services(MODEL, HOSTVARS), dict(SETTINGS, heartbeat_interval=2))


def test_what_lvs_cf_drops_is_a_warning():
    model = copy.deepcopy(MODEL)
    model[0]['quorum'] = 2
    model[0]['health_check']['digest'] = 'abc'
    model[1]['health_check'] = {'type': 'SSL_GET', 'port': 80}
    model[1]['real_servers'][0]['upper_threshold'] = 100
    model[1]['inhibit_on_failure'] = True
    _doc, warnings = lvs_cf.from_model(expand_services(model, HOSTVARS), SETTINGS)
    text = '\n'.join(warnings)
    assert 'lvs_virtual_services[staffweb].inhibit_on_failure True has no lvs.cf equivalent' in text
    assert 'lvs_virtual_services[www].quorum 2 has no lvs.cf equivalent' in text
    assert 'health_check.digest cannot be checked by nanny' in text
    assert 'nanny cannot speak TLS' in text
    assert 'real server staff1: connection thresholds' in text
    assert len(warnings) == 5


def test_settings_from_role_variables():
    doc, _w = lvs_cf.from_model(expand_services(MODEL, HOSTVARS),
                                dict(SETTINGS, vip_interface='bond0', vip_netmask=25, syncdaemon=True,
                                     syncd_id=None, nat_router='198.51.100.5 eth1:1'))
    assert doc['virtuals'][0]['options']['address']['device'] == 'bond0:1'
    assert doc['virtuals'][0]['options']['vip_nmask'] == '255.255.255.128'
    assert doc['globals']['syncdaemon'] is True and 'syncd_id' not in doc['globals']
    assert doc['globals']['nat_router'] == {'address': '198.51.100.5', 'device': 'eth1:1'}


# --- plan: serial_no and idempotence ------------------------------------------------

def test_plan_keeps_serial_and_text_when_nothing_changed():
    expanded = expand_services(MODEL, HOSTVARS)
    first = lvs_cf.plan(expanded, SETTINGS, None)
    assert (first['serial_no'], first['change']) == (1, 'globals')
    assert 'serial_no = 1\n' in first['text']
    again = lvs_cf.plan(expanded, SETTINGS, first['text'])
    assert again == dict(first, change='none')
    # a hand-formatted file that says the same thing is left alone too
    edited = '# edited by hand\n' + first['text'].replace(' = ', '   =   ')
    assert lvs_cf.plan(expanded, SETTINGS, edited)['text'] == edited
    assert lvs_cf.plan(expanded, SETTINGS, edited)['change'] == 'none'


def test_plan_bumps_serial_and_says_what_changed():
    expanded = expand_services(MODEL, HOSTVARS)
    current = lvs_cf.plan(expanded, SETTINGS, None)['text'].replace('serial_no = 1', 'serial_no = 41')
    model = copy.deepcopy(MODEL)
    model[0]['real_servers'].append({'address': '198.51.100.23'})
    changed = lvs_cf.plan(expand_services(model, HOSTVARS), SETTINGS, current)
    assert (changed['serial_no'], changed['change']) == (42, 'services')
    assert 'serial_no = 42\n' in changed['text'] and '198.51.100.23' in changed['text']
    moved = lvs_cf.plan(expanded, dict(SETTINGS, backup='198.51.100.13'), current)
    assert (moved['serial_no'], moved['change']) == (42, 'globals')


def test_plan_replaces_an_unreadable_file():
    result = lvs_cf.plan(expand_services(MODEL, HOSTVARS), SETTINGS, 'virtual x {\n')
    assert (result['serial_no'], result['change']) == (1, 'globals')


def test_lvs_timeouts_setting():
    doc, _w = lvs_cf.from_model(expand_services(MODEL, HOSTVARS),
                                dict(SETTINGS, lvs_timeouts={'tcp': 900, 'udp': 60}))
    assert (doc['globals']['tcp_timeout'], doc['globals']['udp_timeout']) == (900, 60)
    assert 'tcpfin_timeout' not in doc['globals']
    with pytest.raises(lvs_cf.LvsCfError, match=r'settings\.lvs_timeouts'):
        lvs_cf.from_model(expand_services(MODEL, HOSTVARS), dict(SETTINGS, lvs_timeouts={'sctp': 1}))


# --- the IPVS table: what lvsd builds from lvs.cf vs what the migrated model gives -----

@pytest.mark.parametrize('path', GOOD, ids=_id)
def test_migrated_model_gives_the_ipvs_table_lvsd_builds(path):
    doc = lvs_cf.parse(_read(path))
    expanded = expand_services(lvs_cf.to_model(doc)['lvs_virtual_services'])
    result = lvs_cf.compare_tables(doc, expanded)
    assert result['same'], result['lvsd'] + '\n---\n' + result['model']


def test_lvsd_table_of_the_department():
    table = lvs_cf.lvsd_table(lvs_cf.parse(_fixture('department.cf')))
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
    assert ipvs.render(table).splitlines() == [
        '-A -t 198.51.100.101:80 -s rr',
        '-a -t 198.51.100.101:80 -r 198.51.100.51:80 -g -w 1',
        '-a -t 198.51.100.101:80 -r 198.51.100.52:80 -g -w 1',
        '-A -f 1 -s wlc -p 300 -M 255.255.255.0',
        '-a -f 1 -r 198.51.100.21:0 -g -w 1',
        '-a -f 1 -r 198.51.100.22:0 -g -w 1',
        '-a -f 1 -r 198.51.100.23:0 -g -w 2',
    ]


def test_table_comparison_catches_a_lossy_conversion():
    # the two fwmark blocks list different servers: lvsd adds both sets, the model keeps the first
    text = _fixture('department.cf').replace('         address = 198.51.100.23\n         active = 1\n'
                                             '         weight = 2\n', '         address = 198.51.100.24\n'
                                             '         active = 1\n         weight = 2\n', 1)
    doc = lvs_cf.parse(text)
    converted = lvs_cf.to_model(doc)
    assert any('its real servers differ' in w for w in converted['warnings'])
    result = lvs_cf.compare_tables(doc, expand_services(converted['lvs_virtual_services']))
    assert result['same'] is False
    assert '198.51.100.23:0' in result['lvsd'] and '198.51.100.23:0' not in result['model']


def test_lab_cluster_as_lvs_cf_migrates_to_the_lab_model():
    """lab.cf is the UML lab's cluster written for piranha. Migrated, it gives the same IPVS
    table and checks as the lab's own model, which the lab tests drive traffic through."""
    lab_model = os.path.join(FIXTURES, '..', '..', '..', '..', 'inventories', 'lab', 'group_vars', 'all',
                             'cluster.yml')
    import yaml
    with open(lab_model, encoding='utf-8') as handle:
        lab = yaml.safe_load(handle)['lvs_virtual_services']
    hostvars = {'rs1': {'ansible_host': '198.51.100.21'}, 'rs2': {'ansible_host': '198.51.100.22'}}
    groups = {'all': list(hostvars), 'lvs_real_servers': ['rs1', 'rs2']}
    lab_expanded = expand_services(lab, hostvars, groups)
    migrated = lvs_cf.parse_to_model(_fixture('lab.cf'), hostvars)
    assert migrated['warnings'] == []
    expanded = expand_services(migrated['lvs_virtual_services'], hostvars, groups)
    from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
    assert ipvs.render(lvs_cf.model_table(expanded)) == ipvs.render(lvs_cf.model_table(lab_expanded))
    for mine, theirs in zip(expanded, lab_expanded):
        assert mine['name'] == theirs['name']
        assert [m['host'] for m in mine['real_servers']] == [m['host'] for m in theirs['real_servers']]
        for key in ('type', 'port', 'path', 'status_code', 'connect_timeout', 'retry', 'delay_before_retry'):
            assert mine['health_check'][key] == theirs['health_check'][key], key
        # lvs.cf has no delay_loop (nanny's interval is not per virtual): the lab's 2 s is not carried
        assert (mine['delay_loop'], theirs['delay_loop']) == (6, 2)


def _mutations(text):
    lines = text.splitlines()
    for i in range(len(lines)):
        yield '\n'.join(lines[:i] + lines[i + 1:])                    # line dropped
        yield '\n'.join(lines[:i] + [lines[i], lines[i]] + lines[i + 1:])  # line doubled
        yield '\n'.join(lines[:i] + [lines[i][:len(lines[i]) // 2]] + lines[i + 1:])  # line cut
        yield '\n'.join(lines[:i] + [lines[i].replace(' = ', '=')] + lines[i + 1:])
        yield '\n'.join(lines[:i] + [lines[i].replace('"', '')] + lines[i + 1:])


@pytest.mark.parametrize('name', ['department.cf', 'comments_quoting.cf', 'nat.cf'])
def test_damaged_files_give_lvs_cf_errors_or_round_trip(name):
    """Every one-line damage either parses (and then round-trips and converts) or raises
    LvsCfError with line numbers: never another exception."""
    rejected = 0
    for text in _mutations(_fixture(name)):
        try:
            doc = lvs_cf.parse(text)
        except lvs_cf.LvsCfError as exc:
            rejected += 1
            assert exc.errors and all(isinstance(e[0], int) and e[0] >= 1 for e in exc.errors), exc.errors
            continue
        assert lvs_cf.without_lines(lvs_cf.parse(lvs_cf.render(doc))) == lvs_cf.without_lines(doc)
        expand_services(lvs_cf.to_model(doc)['lvs_virtual_services'])
    assert rejected > 10
