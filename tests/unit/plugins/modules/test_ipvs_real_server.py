# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ipvs_real_server, ipvs_info and ipvs_sync_daemon against the ipvsadm stand-in."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.lvs.cluster.plugins.modules import ipvs_real_server, ipvs_info, ipvs_sync_daemon
from ansible_collections.lvs.cluster.plugins.module_utils import ipvs

A = ipaddress.ip_address
TABLE = ('-A -t 198.51.100.80:80 -s wlc\n'
         '-a -t 198.51.100.80:80 -r 198.51.100.21:80 -g -w 1\n'
         '-A -f 1 -s rr -p 300\n'
         '-a -f 1 -r 198.51.100.21:0 -g -w 1\n')
SVC = ('tcp', A('198.51.100.80'), 80)
RS = (A('198.51.100.21'), 80)


@pytest.fixture
def table(fake):
    fake.table = ipvs.parse_save(TABLE)
    return fake


def rs_args(**kw):
    args = {'vip': '198.51.100.80', 'port': 80, 'address': '198.51.100.22'}
    args.update(kw)
    return args


def test_add_change_remove(table, run_module):
    added = run_module(ipvs_real_server.main, rs_args(weight=3, upper_threshold=100))
    assert added['commands'] == ['-a -t 198.51.100.80:80 -r 198.51.100.22:80 -g -w 3 -x 100']
    assert run_module(ipvs_real_server.main, rs_args(weight=3, upper_threshold=100))['changed'] is False
    changed = run_module(ipvs_real_server.main, rs_args(weight=3, forwarding='tun'))
    assert changed['commands'] == ['-e -t 198.51.100.80:80 -r 198.51.100.22:80 -i -w 3']
    removed = run_module(ipvs_real_server.main, rs_args(state='absent'))
    assert removed['commands'] == ['-d -t 198.51.100.80:80 -r 198.51.100.22:80']
    assert list(table.table[SVC].real_servers) == [RS]
    assert run_module(ipvs_real_server.main, rs_args(state='absent'))['changed'] is False


def test_other_real_servers_untouched(table, run_module):
    run_module(ipvs_real_server.main, rs_args())
    assert table.table[SVC].real_servers[RS].weight == 1


def test_fwmark_real_server(table, run_module):
    result = run_module(ipvs_real_server.main, {'fwmark': 1, 'address': '198.51.100.23', 'weight': 2})
    assert result['commands'] == ['-a -f 1 -r 198.51.100.23:0 -g -w 2']


def test_check_mode_and_diff(table, run_module):
    result = run_module(ipvs_real_server.main, rs_args(address='198.51.100.21', weight=5), check=True, diff=True)
    assert result['changed'] and table.table[SVC].real_servers[RS].weight == 1
    assert result['diff'] == {'before': '-a -t 198.51.100.80:80 -r 198.51.100.21:80 -g -w 1\n',
                              'after': '-a -t 198.51.100.80:80 -r 198.51.100.21:80 -g -w 5\n'}
    assert table.writes() == []


def test_drain_waits_for_connections_to_end(table, run_module):
    table.active[(SVC, RS)] = [5, 3, 1, 0]
    result = run_module(ipvs_real_server.main, rs_args(address='198.51.100.21', state='drained', wait=True,
                                                       poll_interval=0.01, wait_timeout=10))
    assert result['changed'] and result['active_connections'] == 0
    assert result['commands'] == ['-e -t 198.51.100.80:80 -r 198.51.100.21:80 -g -w 0']
    assert table.table[SVC].real_servers[RS].weight == 0
    polls = [c for c in table.calls if c[0][1:] == ['-L', '-n']]
    assert len(polls) == 4
    again = run_module(ipvs_real_server.main, rs_args(address='198.51.100.21', state='drained'))
    assert again['changed'] is False


def test_drain_times_out_naming_the_count(table, run_module):
    table.active[(SVC, RS)] = 4
    result = run_module(ipvs_real_server.main, rs_args(address='198.51.100.21', state='drained', wait=True,
                                                       poll_interval=0.01, wait_timeout=0))
    assert result['failed'] and 'still has 4 active connections' in result['msg']
    assert table.table[SVC].real_servers[RS].weight == 0


def test_drained_in_check_mode_does_not_wait(table, run_module):
    table.active[(SVC, RS)] = 4
    result = run_module(ipvs_real_server.main, rs_args(address='198.51.100.21', state='drained', wait=True),
                        check=True)
    assert result['changed'] and 'active_connections' not in result
    assert [c for c in table.calls if c[0][1:] == ['-L', '-n']] == []


def test_one_read_one_write(table, run_module):
    run_module(ipvs_real_server.main, rs_args())
    assert (len(table.reads()), len(table.writes())) == (1, 1)


@pytest.mark.parametrize('args,field', [
    (rs_args(address='198.51.100.256'), 'address'),
    (rs_args(address='2001:db8::1'), 'real_server.address'),
    (rs_args(weight=-1), 'real_server.weight'),
    (rs_args(weight=65536), 'real_server.weight'),
    (rs_args(real_port=8080), 'real_server.port'),
    (rs_args(port=0), 'port'),
    (rs_args(port=70000), 'port'),
    (rs_args(vip='nowhere'), 'vip'),
    ({'fwmark': 0, 'address': '198.51.100.22'}, 'fwmark'),
])
def test_bad_input(table, run_module, args, field):
    result = run_module(ipvs_real_server.main, args)
    assert result['failed'] and result['msg'].startswith(field + ':'), result['msg']
    assert table.writes() == []


def test_missing_service(table, run_module):
    result = run_module(ipvs_real_server.main, rs_args(port=81))
    assert result['failed'] and 'service TCP 198.51.100.80:81 does not exist' in result['msg']


# -- ipvs_info ---------------------------------------------------------------------

def test_info_reports_table_connections_and_daemons(table, run_module):
    table.active[(SVC, RS)] = 2
    table.daemons['master'] = ('eth0', 5)
    result = run_module(ipvs_info.main, {'connections': True})
    assert result['changed'] is False
    www = result['services'][0]
    assert www['spec'] == '-t 198.51.100.80:80' and www['stats']['conns'] == 7
    assert www['real_servers'][0]['active_connections'] == 2
    assert www['real_servers'][0]['stats'] == {'conns': 7, 'inpkts': 70, 'outpkts': 0, 'inbytes': 7000,
                                               'outbytes': 0}
    assert result['services'][1]['fwmark'] == 1
    assert result['daemons'] == {'master': {'interface': 'eth0', 'syncid': 5}}
    assert result['connections'] == []
    assert result['rules'] == ipvs.render(ipvs.parse_save(TABLE).values())
    assert table.writes() == []


# -- ipvs_sync_daemon -----------------------------------------------------------------

def test_sync_daemon_start_change_stop(fake, run_module):
    args = {'role': 'master', 'interface': 'eth0', 'syncid': 5}
    started = run_module(ipvs_sync_daemon.main, args, diff=True)
    assert started['changed'] and fake.daemons == {'master': ('eth0', 5)}
    assert started['diff']['after'] == 'master sync daemon (mcast=eth0, syncid=5)\n'
    assert run_module(ipvs_sync_daemon.main, args)['changed'] is False
    moved = run_module(ipvs_sync_daemon.main, dict(args, syncid=6))
    assert moved['commands'] == [['--stop-daemon', 'master'],
                                 ['--start-daemon', 'master', '--mcast-interface', 'eth0', '--syncid', '6']]
    backup = run_module(ipvs_sync_daemon.main, {'role': 'backup', 'interface': 'eth0', 'syncid': 6})
    assert backup['daemons'] == {'master': {'interface': 'eth0', 'syncid': 6},
                                 'backup': {'interface': 'eth0', 'syncid': 6}}
    stopped = run_module(ipvs_sync_daemon.main, {'role': 'master', 'state': 'stopped'})
    assert stopped['changed'] and list(fake.daemons) == ['backup']


def test_sync_daemon_check_mode(fake, run_module):
    result = run_module(ipvs_sync_daemon.main, {'role': 'backup', 'interface': 'eth0'}, check=True)
    assert result['changed'] and fake.daemons == {}


@pytest.mark.parametrize('args,word', [
    ({'role': 'master', 'interface': 'eth0', 'syncid': 256}, 'syncid: 256'),
    ({'role': 'master', 'interface': 'eth0; reboot'}, "interface: 'eth0; reboot'"),
    ({'role': 'master'}, 'interface'),
    ({'role': 'primary', 'interface': 'eth0'}, 'role'),
])
def test_sync_daemon_bad_input(fake, run_module, args, word):
    result = run_module(ipvs_sync_daemon.main, args)
    assert result['failed'] and word in result['msg'] and fake.calls == []
