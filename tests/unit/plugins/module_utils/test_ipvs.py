# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS model: parsing ipvsadm output, normalisation, validation, planning."""

from __future__ import annotations

import ipaddress
import os

import pytest

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
from ansible_collections.lvs.cluster.plugins.module_utils.cluster import expand_services

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ipvsadm')
A = ipaddress.ip_address


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


@pytest.fixture(scope='module')
def table():
    return ipvs.parse_save(fixture('save.txt'))


# -- ipvsadm -Sn -------------------------------------------------------------------

def test_save_parses_every_service_in_order(table):
    assert [svc.spec() for svc in table.values()] == [
        '-t 198.51.100.80:80', '-u 198.51.100.81:53', '--sctp-service 198.51.100.82:3868',
        '-t [2001:db8::100]:443', '-f 1', '-f 2 -6']


def test_save_persistence_with_ipv4_netmask(table):
    svc = table[('tcp', A('198.51.100.80'), 80)]
    assert (svc.scheduler, svc.persistence, svc.persistence_netmask) == ('wlc', 300, '255.255.255.0')
    assert svc.family == 4 and svc.kind == 'address'


def test_save_forwarding_and_tunnel_type(table):
    svc = table[('tcp', A('198.51.100.80'), 80)]
    assert svc.real_servers[(A('198.51.100.22'), 80)].attrs() == ('tun', 3, 0, 0)
    assert svc.real_servers[(A('198.51.100.21'), 80)].attrs() == ('dr', 1, 0, 0)


def test_read_puts_thresholds_from_the_listing_on_the_saved_table():
    """Recorded: -S -n then -L -n --thresholds from one ipvsadm -R (ipvsadm 1.31)."""
    table = ipvs.parse_read(fixture('lab_read.txt'))
    rs = table[('tcp', A('198.51.100.80'), 80)].real_servers[(A('198.51.100.22'), 80)]
    assert rs.attrs() == ('tun', 3, 100, 10)


def test_recorded_thresholds_listing():
    limits = ipvs.parse_list(fixture('lab_thresholds.txt'), ipvs.THRESHOLD_COLUMNS)
    svc = limits[('tcp', A('198.51.100.80'), 80)]['real_servers']
    assert svc[(A('198.51.100.22'), 80)] == {'upper_threshold': 100, 'lower_threshold': 10,
                                             'active_connections': 0, 'inactive_connections': 0}
    assert set(limits) == set(ipvs.parse_save(fixture('lab_save_flags.txt')))


def test_read_needs_both_parts():
    with pytest.raises(ipvs.IPVSParseError):
        ipvs.parse_read(fixture('save.txt'))
    listing_without_rs = fixture('lab_read.txt').rsplit('\n', 2)[0] + '\n'
    with pytest.raises(ipvs.IPVSParseError):
        ipvs.parse_read(listing_without_rs)


@pytest.mark.parametrize('name', ['lab_save.txt', 'lab_save_flags.txt', 'save.txt'])
def test_recorded_save_output_round_trips(name):
    """Parse what the kernel printed, render it, parse again: the same table; and the
    rendering is the recorded text but for --tun-type ipip (the default, not rendered)."""
    table = ipvs.parse_save(fixture(name))
    assert ipvs.parse_save(ipvs.render(table.values())) == table
    recorded = sorted(line.replace(' --tun-type ipip', '') for line in fixture(name).splitlines())
    assert sorted(ipvs.render(table.values()).splitlines()) == recorded


def test_recorded_listings_cover_the_recorded_table():
    table = ipvs.parse_save(fixture('lab_save.txt'))
    for name, columns in (('lab_list.txt', None), ('lab_stats.txt', ipvs.STATS_COLUMNS),
                          ('lab_rate.txt', ipvs.RATE_COLUMNS)):
        listing = ipvs.parse_list(fixture(name), columns)
        assert set(listing) == set(table), name
        for key, svc in table.items():
            assert set(listing[key]['real_servers']) == set(svc.real_servers), (name, key)


def test_recorded_oddities():
    flags = ipvs.parse_save(fixture('lab_save_flags.txt'))
    dns = flags[('udp', A('198.51.100.81'), 53)]
    assert dns.persistence_netmask == '0.0.0.24'        # what ipvsadm made of "-M 24"
    assert dns.ops and dns.scheduler_flags == frozenset(['sh-port'])
    assert flags[('fwmark', 4, 3)].scheduler_flags == frozenset(['flag-1'])
    assert flags[('fwmark', 6, 2)].real_servers[(A('2001:db8::1'), 0)].weight == 1
    lab = ipvs.parse_save(fixture('lab_save.txt'))
    assert lab[('tcp', A('198.51.100.83'), 80)].persistence == 360     # bare -p
    assert ipvs.parse_daemon(fixture('lab_daemon.txt')) == {
        'master': {'interface': 'lo', 'syncid': 5, 'maxlen': 1472, 'group': '224.0.0.81', 'port': 8848, 'ttl': 1},
        'backup': {'interface': 'lo', 'syncid': 5, 'maxlen': 65507, 'group': '224.0.0.81', 'port': 8848, 'ttl': 1}}
    assert ipvs.parse_connections(fixture('lab_connections_empty.txt')) == []


def test_save_udp_ops_and_nat_port(table):
    svc = table[('udp', A('198.51.100.81'), 53)]
    assert svc.ops is True
    assert list(svc.real_servers) == [(A('198.51.100.24'), 5353)]
    assert svc.real_servers[(A('198.51.100.24'), 5353)].forwarding == 'nat'


def test_save_sctp_and_mh_flags(table):
    svc = table[('sctp', A('198.51.100.82'), 3868)]
    assert svc.scheduler == 'mh' and svc.scheduler_flags == frozenset(['mh-port'])
    assert svc.real_servers == {}


def test_save_ipv6_service_with_prefix(table):
    svc = table[('tcp', A('2001:db8::100'), 443)]
    assert svc.family == 6 and svc.persistence_netmask == 64
    assert (A('2001:db8::21'), 443) in svc.real_servers


def test_save_fwmark_services(table):
    four = table[('fwmark', 4, 1)]
    assert four.scheduler_flags == frozenset(['sh-fallback', 'sh-port'])
    assert four.persistence == 60 and four.persistence_netmask is None
    assert four.real_servers[(A('198.51.100.23'), 0)].weight == 0
    six = table[('fwmark', 6, 2)]
    assert six.family == 6 and (A('2001:db8::1'), 0) in six.real_servers


def test_save_empty_table():
    assert ipvs.parse_save(fixture('empty.txt')) == {}


def test_save_long_options_and_ipv6_expanded_forms_normalise():
    text = ('--add-service --tcp-service [2001:0db8:0:0::0100]:0443 --scheduler rr\n'
            '--add-server --tcp-service [2001:db8::100]:443 --real-server [2001:DB8::0021]:443 '
            '--gatewaying --weight 5\n')
    svc = ipvs.parse_save(text)[('tcp', A('2001:db8::100'), 443)]
    assert svc.spec() == '-t [2001:db8::100]:443'
    assert svc.real_servers[(A('2001:db8::21'), 443)].weight == 5


@pytest.mark.parametrize('text', [
    '-X -t 198.51.100.1:80 -s rr',
    '-A -t 198.51.100.1:80 -s rr --frobnicate',
    '-a -t 198.51.100.1:80 -r 198.51.100.2:80 -g',       # real server before its service
    '-A -t 198.51.100.1 -s rr\n-a -t 198.51.100.1:0 -g',  # real server without -r
    '-A -t [2001:db8::1 -s rr',
])
def test_save_rejects_what_it_does_not_understand(text):
    with pytest.raises(ipvs.IPVSParseError):
        ipvs.parse_save(text)


# -- ipvsadm -L listings -------------------------------------------------------------

def test_list_gives_forwarding_weight_and_connections():
    listing = ipvs.parse_list(fixture('list.txt'), None)
    assert set(listing) == set(ipvs.parse_save(fixture('save.txt')))
    dest = listing[('tcp', A('198.51.100.80'), 80)]['real_servers'][(A('198.51.100.21'), 80)]
    assert dest == {'forwarding': 'dr', 'weight': 1, 'active_connections': 3, 'inactive_connections': 7}
    assert listing[('fwmark', 4, 1)]['real_servers'][(A('198.51.100.23'), 0)]['active_connections'] == 2
    assert listing[('udp', A('198.51.100.81'), 53)]['real_servers'][(A('198.51.100.24'), 5353)]['forwarding'] == 'nat'


def test_stats_exact_counters():
    stats = ipvs.parse_list(fixture('stats.txt'), ipvs.STATS_COLUMNS)
    assert stats[('tcp', A('198.51.100.80'), 80)]['values'] == {
        'conns': 20, 'inpkts': 120, 'outpkts': 0, 'inbytes': 9000, 'outbytes': 0}
    assert stats[('fwmark', 4, 1)]['values']['inbytes'] == 3123456789012
    assert stats[('fwmark', 6, 2)]['real_servers'][(A('2001:db8::1'), 0)]['conns'] == 0


def test_stats_abbreviated_counters_without_exact():
    stats = ipvs.parse_list(fixture('stats_abbrev.txt'), ipvs.STATS_COLUMNS)
    assert stats[('fwmark', 4, 1)]['values']['conns'] == 12345000
    assert stats[('fwmark', 4, 1)]['values']['inbytes'] == 3123 * 10 ** 9


def test_rate():
    rate = ipvs.parse_list(fixture('rate.txt'), ipvs.RATE_COLUMNS)
    assert rate[('fwmark', 4, 1)]['values']['cps'] == 5
    assert rate[('tcp', A('198.51.100.80'), 80)]['real_servers'][(A('198.51.100.22'), 80)]['inbps'] == 300


def test_connections():
    conns = ipvs.parse_connections(fixture('connections.txt'))
    assert len(conns) == 4
    assert conns[0] == {'protocol': 'tcp', 'expire': '14:58', 'state': 'ESTABLISHED',
                        'source': '198.51.100.61:40312', 'virtual': '198.51.100.100:80',
                        'destination': '198.51.100.21:80'}
    assert conns[3]['virtual'] == '[2001:db8::100]:53'


def test_daemon():
    assert ipvs.parse_daemon(fixture('daemon.txt')) == {
        'master': {'interface': 'eth0', 'syncid': 5}, 'backup': {'interface': 'eth1', 'syncid': 7}}
    extended = ipvs.parse_daemon(fixture('daemon_extended.txt'))['master']
    assert (extended['interface'], extended['syncid'], extended['maxlen']) == ('eth0', 10, 1472)
    assert ipvs.parse_daemon('') == {}


def test_list_rejects_garbage():
    with pytest.raises(ipvs.IPVSParseError):
        ipvs.parse_list('  -> 198.51.100.1:80 Route 1 0 0\n', None)
    with pytest.raises(ipvs.IPVSParseError):
        ipvs.parse_list('XYZ something\n', None)


# -- from the cluster model -------------------------------------------------------------

HOSTVARS = {'rs1': {'ansible_host': '198.51.100.21'},
            'rs2': {'ansible_host': '198.51.100.22', 'real_server_weight': 3}}
GROUPS = {'web': ['rs1', 'rs2']}


def expanded(**overrides):
    svc = {'name': 'www', 'vip': '198.51.100.100', 'ports': [80, 443], 'fwmark': 1,
           'persistence': 300, 'persistence_netmask': 24, 'real_servers': 'web'}
    svc.update(overrides)
    return expand_services([svc], HOSTVARS, GROUPS)[0]


def test_from_cluster_fwmark_service():
    svc = ipvs.VirtualService.from_cluster(expanded())
    assert svc.rules() == [
        '-A -f 1 -s wlc -p 300 -M 255.255.255.0',
        '-a -f 1 -r 198.51.100.21:0 -g -w 1',
        '-a -f 1 -r 198.51.100.22:0 -g -w 3',
    ]


def test_from_cluster_address_service_dr_keeps_service_port():
    svc = ipvs.VirtualService.from_cluster(expanded(ports=[8080], fwmark=None, scheduler='sh',
                                                    scheduler_flags=['sh-port']))
    assert svc.rules()[0] == '-A -t 198.51.100.100:8080 -s sh -p 300 -M 255.255.255.0 -b sh-port'
    assert svc.rules()[1] == '-a -t 198.51.100.100:8080 -r 198.51.100.21:8080 -g -w 1'


def test_from_cluster_nat_real_server_port():
    svc = ipvs.VirtualService.from_cluster(expanded(ports=[80], fwmark=None, forwarding='nat',
                                                    real_server_port=8080, persistence=0))
    assert svc.rules()[1] == '-a -t 198.51.100.100:80 -r 198.51.100.21:8080 -m -w 1'


def test_from_cluster_equals_what_ipvsadm_saves_back():
    """The desired form and the parsed kernel form of the same service compare equal."""
    desired = ipvs.VirtualService.from_cluster(expanded())
    parsed = ipvs.parse_save('\n'.join(desired.rules()))[desired.key]
    assert parsed == desired
    assert ipvs.plan_service(parsed, desired) == []


def test_netmask_forms_normalise():
    assert ipvs.normalise_netmask('m', '24', 4) == '255.255.255.0'
    assert ipvs.normalise_netmask('m', '/24', 4) == '255.255.255.0'
    assert ipvs.normalise_netmask('m', '255.255.255.0', 4) == '255.255.255.0'
    assert ipvs.normalise_netmask('m', '255.255.255.255', 4) is None
    assert ipvs.normalise_netmask('m', 32, 4) is None
    assert ipvs.normalise_netmask('m', 128, 6) is None
    assert ipvs.normalise_netmask('m', '/64', 6) == 64


def test_netmask_ignored_without_persistence():
    a = ipvs.VirtualService.from_cluster({'vip': '198.51.100.80', 'ports': [80], 'persistence_netmask': 24})
    b = ipvs.VirtualService.from_cluster({'vip': '198.51.100.80', 'ports': [80]})
    assert a == b and a.rule() == '-A -t 198.51.100.80:80 -s wlc'


# at least 20 bad inputs, each failing with the field and the value in the message
BAD = [
    ({'vip': '198.51.100.300', 'ports': [80]}, 'svc.vip', '198.51.100.300'),
    ({'vip': 'www.example', 'ports': [80]}, 'svc.vip', 'www.example'),
    ({'ports': [80]}, 'svc.vip', 'None'),
    ({'vip': '198.51.100.80', 'ports': [0]}, 'svc.ports[0]', '0'),
    ({'vip': '198.51.100.80', 'ports': [65536]}, 'svc.ports[0]', '65536'),
    ({'vip': '198.51.100.80', 'ports': ['http']}, 'svc.ports[0]', 'http'),
    ({'vip': '198.51.100.80', 'ports': [80, 443]}, 'svc.ports', '443'),
    ({'vip': '198.51.100.80', 'ports': []}, 'svc.ports', '[]'),
    ({'vip': '198.51.100.80', 'ports': [80], 'protocol': 'icmp'}, 'svc.protocol', 'icmp'),
    ({'vip': '198.51.100.80', 'ports': [80], 'scheduler': 'fastest'}, 'svc.scheduler', 'fastest'),
    ({'vip': '198.51.100.80', 'ports': [80], 'scheduler': 'rr', 'scheduler_flags': ['sh-port']},
     'svc.scheduler_flags[0]', 'sh-port'),
    ({'vip': '198.51.100.80', 'ports': [80], 'scheduler_flags': ['turbo']}, 'svc.scheduler_flags[0]', 'turbo'),
    ({'fwmark': 0}, 'svc.fwmark', '0'),
    ({'fwmark': 4294967296}, 'svc.fwmark', '4294967296'),
    ({'fwmark': 1, 'family': 5}, 'svc.family', '5'),
    ({'fwmark': 1, 'family': 4, 'vip': '2001:db8::1'}, 'svc.family', '4'),
    ({'vip': '198.51.100.80', 'ports': [80], 'persistence': -1}, 'svc.persistence', '-1'),
    ({'vip': '198.51.100.80', 'ports': [80], 'persistence': 2678401}, 'svc.persistence', '2678401'),
    ({'vip': '198.51.100.80', 'ports': [80], 'persistence': 60, 'persistence_netmask': '255.0.255.0'},
     'svc.persistence_netmask', '255.0.255.0'),
    ({'vip': '2001:db8::1', 'ports': [80], 'persistence': 60, 'persistence_netmask': 129},
     'svc.persistence_netmask', '129'),
    ({'vip': '198.51.100.80', 'ports': [80], 'forwarding': 'route'}, 'svc.forwarding', 'route'),
    ({'vip': '198.51.100.80', 'ports': [80], 'ops': True}, 'svc.ops', 'True'),
    ({'vip': '198.51.100.80', 'ports': [80], 'real_servers': [{'address': '198.51.100.21', 'weight': -1}]},
     'svc.real_servers[0].weight', '-1'),
    ({'vip': '198.51.100.80', 'ports': [80], 'real_servers': [{'address': '198.51.100.21', 'weight': 65536}]},
     'svc.real_servers[0].weight', '65536'),
    ({'vip': '198.51.100.80', 'ports': [80],
      'real_servers': [{'address': '198.51.100.21'}, {'address': '198.51.100.21'}]},
     'svc.real_servers[1].address', '198.51.100.21'),
    ({'vip': '198.51.100.80', 'ports': [80], 'real_servers': [{'address': '2001:db8::21'}]},
     'svc.real_servers[0].address', '2001:db8::21'),
    ({'vip': '198.51.100.80', 'ports': [80], 'real_servers': [{'address': '198.51.100.21', 'port': 8080}]},
     'svc.real_servers[0].port', '8080'),
    ({'vip': '198.51.100.80', 'ports': [80], 'forwarding': 'nat',
      'real_servers': [{'address': '198.51.100.21', 'port': 0}]}, 'svc.real_servers[0].port', '0'),
    ({'vip': '198.51.100.80', 'ports': [80], 'real_servers': [{'address': '198.51.100.21',
                                                               'upper_threshold': 10, 'lower_threshold': 20}]},
     'svc.real_servers[0].lower_threshold', '20'),
    ({'vip': '198.51.100.80', 'ports': [80], 'real_servers': [{'address': None}]},
     'svc.real_servers[0].address', 'None'),
    ({'vip': '198.51.100.80', 'ports': [80], 'real_servers': 'web'}, 'svc.real_servers', 'web'),
    ('not a dict', 'svc', 'not a dict'),
]


@pytest.mark.parametrize('spec,field,value', BAD, ids=[b[1] + '=' + b[2] for b in BAD])
def test_bad_input_names_field_and_value(spec, field, value):
    with pytest.raises(ipvs.IPVSModelError) as err:
        ipvs.VirtualService.from_cluster(spec, 'svc')
    message = str(err.value)
    assert message.startswith(field + ':'), message
    assert value in message, message


def test_at_least_twenty_bad_inputs():
    assert len(BAD) >= 20


# -- planning -----------------------------------------------------------------------------

def service(**kw):
    spec = {'vip': '198.51.100.80', 'ports': [80], 'real_servers': [
        {'address': '198.51.100.21'}, {'address': '198.51.100.22'}]}
    spec.update(kw)
    return ipvs.VirtualService.from_cluster(spec)


def test_plan_create():
    assert ipvs.plan_service(None, service()) == [
        '-A -t 198.51.100.80:80 -s wlc',
        '-a -t 198.51.100.80:80 -r 198.51.100.21:80 -g -w 1',
        '-a -t 198.51.100.80:80 -r 198.51.100.22:80 -g -w 1']


def test_plan_nothing_when_equal():
    assert ipvs.plan_service(service(), service()) == []


def test_plan_edit_service_attributes_only():
    lines = ipvs.plan_service(service(), service(scheduler='rr', persistence=60))
    assert lines == ['-E -t 198.51.100.80:80 -s rr -p 60']


def test_plan_edit_add_remove_real_servers():
    desired = service(real_servers=[{'address': '198.51.100.22', 'weight': 5},
                                    {'address': '198.51.100.23', 'upper_threshold': 50}])
    assert ipvs.plan_service(service(), desired) == [
        '-d -t 198.51.100.80:80 -r 198.51.100.21:80',
        '-e -t 198.51.100.80:80 -r 198.51.100.22:80 -g -w 5',
        '-a -t 198.51.100.80:80 -r 198.51.100.23:80 -g -w 1 -x 50']


def test_plan_without_purge_keeps_unlisted():
    desired = service(real_servers=[{'address': '198.51.100.23'}])
    lines = ipvs.plan_service(service(), desired, purge_real_servers=False)
    assert lines == ['-a -t 198.51.100.80:80 -r 198.51.100.23:80 -g -w 1']
    after = ipvs.merged(service(), desired, purge_real_servers=False)
    assert len(after.real_servers) == 3


def test_plan_forwarding_change_is_an_edit():
    desired = service(forwarding='tun')
    lines = ipvs.plan_service(service(), desired)
    assert lines == ['-e -t 198.51.100.80:80 -r 198.51.100.21:80 -i -w 1',
                     '-e -t 198.51.100.80:80 -r 198.51.100.22:80 -i -w 1']


def test_plan_remove():
    assert ipvs.plan_service(service(), None) == ['-D -t 198.51.100.80:80']
    assert ipvs.plan_service(None, None) == []


def test_plan_applied_to_the_parsed_table_converges():
    """Applying the planned lines (on a model of the kernel) yields the desired service."""
    current = service(real_servers=[{'address': '198.51.100.%d' % i} for i in range(21, 41)])
    desired = service(scheduler='wrr', real_servers=[{'address': '198.51.100.%d' % i, 'weight': i % 3}
                                                     for i in range(30, 51)])
    lines = ipvs.plan_service(current, desired)
    table = _apply(dict([(current.key, current)]), lines)
    assert table[desired.key] == desired
    assert ipvs.plan_service(table[desired.key], desired) == []


def _apply(table, lines):
    """A tiny model of what ipvsadm -R does with -A/-E/-D/-a/-e/-d lines."""
    table = dict((k, ipvs.parse_save(ipvs.render([v]))[k]) for k, v in table.items())
    for line in lines:
        cmd, rest = line.split(' ', 1)
        if cmd in ('-A', '-E'):
            svc = next(iter(ipvs.parse_save('-A ' + rest).values()))
            if cmd == '-E':
                svc.real_servers = table[svc.key].real_servers
            table[svc.key] = svc
        elif cmd == '-D':
            svc = next(iter(ipvs.parse_save('-A ' + rest + ' -s rr').values()))
            del table[svc.key]
        else:
            tokens = rest.split()
            spec, _i = ipvs._parse_service_spec(tokens, 0, line)
            key = ('fwmark', spec['family'], spec['fwmark']) if 'fwmark' in spec else \
                (spec['protocol'], spec['address'], spec['port'])
            svc = table[key]
            if cmd == '-d':
                address, port = ipvs.split_hostport(tokens[tokens.index('-r') + 1])
                del svc.real_servers[(address, port)]
            else:
                probe = ipvs.parse_save(svc.rule('-A') + '\n-a ' + rest)[key]
                svc.real_servers.update(probe.real_servers)
    return table
