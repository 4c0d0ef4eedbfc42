# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IPVS table model of lvs.cluster.

One model of what the kernel's IP Virtual Server table holds, shared by every
module of the collection that reads or writes it:

* :class:`VirtualService` and :class:`RealServer`, normalised so that equal
  things compare equal (IPv6 compression, ports as numbers, defaults filled in,
  the persistence netmask dropped when persistence is off);
* :func:`parse_save` reads ``ipvsadm -Sn`` (the format ``ipvsadm -R`` reads back);
* :func:`parse_list` reads ``ipvsadm -Ln`` with ``--stats``/``--rate``/``--exact``;
* :func:`parse_connections` reads ``ipvsadm -Lnc``;
* :func:`plan` computes the minimal list of ``ipvsadm -R`` lines between two
  tables, :func:`render` writes a table in ``ipvsadm -S`` syntax (for diffs);
* :meth:`VirtualService.from_cluster` is the ONE place where the cluster model
  (``lvs.cluster.lvs_services`` output, docs/model.md) becomes IPVS objects.

Validation errors raise :class:`IPVSModelError`; the message names the field
and the value.  Nothing here runs a command: see ``ipvsadm.py`` for that.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.lvs.cluster.plugins.module_utils.cluster import (
    FWMARK_MAX, PROTOCOLS, SCHEDULERS, SCHEDULER_FLAGS, WEIGHT_MAX, FORWARDING, checked_int,
)

# ipvsadm's spelling of each protocol in -S output (and -R input)
_PROTO_SWITCH = {'tcp': '-t', 'udp': '-u', 'sctp': '--sctp-service'}
_SWITCH_PROTO = {'-t': 'tcp', '--tcp-service': 'tcp', '-u': 'udp', '--udp-service': 'udp',
                 '--sctp-service': 'sctp'}
_FWD_SWITCH = {'dr': '-g', 'tun': '-i', 'nat': '-m'}
_SWITCH_FWD = {'-g': 'dr', '--gatewaying': 'dr', '-i': 'tun', '--ipip': 'tun',
               '-m': 'nat', '--masquerading': 'nat'}
# ipvsadm -L spells forwarding methods this way
_LIST_FWD = {'Route': 'dr', 'Tunnel': 'tun', 'Masq': 'nat', 'Local': 'local', 'Bypass': 'bypass'}
# -b flags ipvsadm prints for schedulers other than sh/mh
_GENERIC_FLAGS = ('flag-1', 'flag-2', 'flag-3')
PERSISTENCE_MAX = 2678400       # ipvsadm's MAX_TIMEOUT (31 days)
THRESHOLD_MAX = WEIGHT_MAX      # the kernel takes u32; ipvsadm's parser allows 0..INT_MAX
IPVS_WEIGHT_MAX = 2147483647    # kernel limit; the cluster model caps at 65535


class IPVSModelError(ValueError):
    """A value given for the IPVS model is wrong; the message names field and value."""


class IPVSParseError(ValueError):
    """ipvsadm printed something this parser does not understand."""


def _fail(field, value, why):
    raise IPVSModelError('%s: %r %s' % (field, value, why))


def _int(field, value, low, high):
    return checked_int(field, value, low, high, IPVSModelError)


def parse_address(field, value):
    """An ``ipaddress`` object from '198.51.100.1', '2001:db8::1' or '[2001:db8::1]'."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    if value is None or isinstance(value, bool):
        _fail(field, value, 'is not an IPv4 or IPv6 address')
    text = str(value).strip()
    if text.startswith('[') and text.endswith(']'):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        _fail(field, value, 'is not an IPv4 or IPv6 address')


def split_hostport(text):
    """'198.51.100.1:80' or '[2001:db8::1]:80' -> (ip_address, port)."""
    if text.startswith('['):
        host, sep, port = text[1:].partition(']:')
        if not sep:
            raise IPVSParseError('cannot parse address %r' % text)
    else:
        host, sep, port = text.rpartition(':')
        if not sep:
            host, port = text, '0'
    try:
        return ipaddress.ip_address(host), int(port)
    except ValueError:
        raise IPVSParseError('cannot parse address %r' % text)


def format_hostport(address, port):
    if address.version == 6:
        return '[%s]:%d' % (address, port)
    return '%s:%d' % (address, port)


def normalise_netmask(field, value, family):
    """Persistence granularity: IPv4 dotted netmask (or prefix length), IPv6 prefix length.

    Returns the form ipvsadm -S prints (dotted for IPv4, int for IPv6), or None
    for a host mask (255.255.255.255 / 128), which ipvsadm does not print.
    """
    if value is None or value == '':
        return None
    if family == 4:
        text = str(value).strip()
        try:
            if text.lstrip('/').isdigit():
                prefix = _int(field, text.lstrip('/'), 0, 32)
            else:
                prefix = ipaddress.IPv4Network('0.0.0.0/%s' % text).prefixlen
        except ValueError:
            _fail(field, value, 'is not an IPv4 netmask')
        if prefix == 32:
            return None
        return str(ipaddress.IPv4Network('0.0.0.0/%d' % prefix).netmask)
    prefix = _int(field, str(value).strip().lstrip('/'), 1, 128)
    return None if prefix == 128 else prefix


def _sched_flags(field, flags, scheduler):
    if flags is None:
        return frozenset()
    if isinstance(flags, str):
        flags = [f for f in re.split(r'[,|\s]+', flags) if f]
    result = set()
    for i, flag in enumerate(flags):
        name = '%s[%d]' % (field, i)
        if flag not in SCHEDULER_FLAGS + _GENERIC_FLAGS:
            _fail(name, flag, 'must be one of %s' % ', '.join(SCHEDULER_FLAGS))
        if flag in SCHEDULER_FLAGS and not flag.startswith(scheduler + '-'):
            _fail(name, flag, 'does not apply to scheduler %s' % scheduler)
        result.add(flag)
    return frozenset(result)


class RealServer(object):
    """One destination of a virtual service."""

    __slots__ = ('address', 'port', 'forwarding', 'weight', 'upper_threshold',
                 'lower_threshold', 'name')

    def __init__(self, address, port, forwarding='dr', weight=1, upper_threshold=0,
                 lower_threshold=0, name=None):
        self.address = address
        self.port = port
        self.forwarding = forwarding
        self.weight = weight
        self.upper_threshold = upper_threshold
        self.lower_threshold = lower_threshold
        self.name = name

    @property
    def key(self):
        return (self.address, self.port)

    def attrs(self):
        return (self.forwarding, self.weight, self.upper_threshold, self.lower_threshold)

    def __eq__(self, other):
        return isinstance(other, RealServer) and self.key == other.key and self.attrs() == other.attrs()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.key, self.attrs()))

    def __repr__(self):
        return 'RealServer(%s %s w=%d)' % (format_hostport(self.address, self.port),
                                           self.forwarding, self.weight)

    def to_dict(self):
        return {
            'address': str(self.address),
            'port': self.port,
            'forwarding': self.forwarding,
            'weight': self.weight,
            'upper_threshold': self.upper_threshold,
            'lower_threshold': self.lower_threshold,
        }

    def rule(self, service, command='-a'):
        """This real server as one ipvsadm -R line (-a, -e or -d)."""
        line = '%s %s -r %s' % (command, service.spec(), format_hostport(self.address, self.port))
        if command == '-d':
            return line
        line += ' %s -w %d' % (_FWD_SWITCH[self.forwarding], self.weight)
        if self.upper_threshold:
            line += ' -x %d' % self.upper_threshold
        if self.lower_threshold:
            line += ' -y %d' % self.lower_threshold
        return line


class VirtualService(object):
    """One IPVS virtual service: address+port+protocol, or a firewall mark."""

    def __init__(self, family, protocol=None, address=None, port=None, fwmark=None,
                 scheduler='wlc', scheduler_flags=frozenset(), persistence=0,
                 persistence_netmask=None, ops=False, real_servers=None, name=None):
        self.family = family
        self.protocol = protocol if fwmark is None else None
        self.address = address if fwmark is None else None
        self.port = port if fwmark is None else None
        self.fwmark = fwmark
        self.scheduler = scheduler
        self.scheduler_flags = frozenset(scheduler_flags)
        self.persistence = persistence
        # the kernel keeps a netmask without persistence but it has no effect;
        # ipvsadm -S only prints it with -p, so we compare it only then
        self.persistence_netmask = persistence_netmask if persistence else None
        self.ops = bool(ops)
        self.name = name
        self.real_servers = {}
        for rs in real_servers or ():
            self.real_servers[rs.key] = rs

    # -- identity -----------------------------------------------------------
    @property
    def kind(self):
        return 'fwmark' if self.fwmark is not None else 'address'

    @property
    def key(self):
        if self.fwmark is not None:
            return ('fwmark', self.family, self.fwmark)
        return (self.protocol, self.address, self.port)

    def spec(self):
        """The service as ipvsadm names it: '-t 198.51.100.80:80', '-f 1 -6'."""
        if self.fwmark is not None:
            return '-f %d%s' % (self.fwmark, ' -6' if self.family == 6 else '')
        return '%s %s' % (_PROTO_SWITCH[self.protocol], format_hostport(self.address, self.port))

    def label(self):
        if self.fwmark is not None:
            return 'FWM %d%s' % (self.fwmark, ' IPv6' if self.family == 6 else '')
        return '%s %s' % (self.protocol.upper(), format_hostport(self.address, self.port))

    def attrs(self):
        return (self.scheduler, self.scheduler_flags, self.persistence,
                self.persistence_netmask, self.ops)

    def __eq__(self, other):
        return (isinstance(other, VirtualService) and self.key == other.key
                and self.attrs() == other.attrs() and self.real_servers == other.real_servers)

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    def __repr__(self):
        return 'VirtualService(%s, %d real servers)' % (self.label(), len(self.real_servers))

    # -- rendering ------------------------------------------------------------
    def rule(self, command='-A'):
        """The service as one ipvsadm -R line (-A, -E or -D), in ipvsadm 1.31 -S order."""
        line = '%s %s' % (command, self.spec())
        if command == '-D':
            return line
        line += ' -s %s' % self.scheduler
        if self.persistence:
            line += ' -p %d' % self.persistence
            if self.persistence_netmask is not None:
                line += ' -M %s' % self.persistence_netmask
        if self.ops:
            line += ' -o'
        if self.scheduler_flags:
            line += ' -b %s' % ','.join(sorted(self.scheduler_flags))
        return line

    def rules(self):
        lines = [self.rule('-A')]
        lines.extend(rs.rule(self) for rs in self.sorted_real_servers())
        return lines

    def sorted_real_servers(self):
        return [self.real_servers[k] for k in sorted(self.real_servers, key=_rs_sort_key)]

    def to_dict(self):
        return {
            'kind': self.kind,
            'family': self.family,
            'protocol': self.protocol,
            'address': None if self.address is None else str(self.address),
            'port': self.port,
            'fwmark': self.fwmark,
            'scheduler': self.scheduler,
            'scheduler_flags': sorted(self.scheduler_flags),
            'persistence': self.persistence,
            'persistence_netmask': self.persistence_netmask,
            'ops': self.ops,
            'spec': self.spec(),
            'real_servers': [rs.to_dict() for rs in self.sorted_real_servers()],
        }

    # -- construction from user data ----------------------------------------
    @classmethod
    def from_cluster(cls, svc, field='service'):
        """Build the IPVS service from one item of ``lvs.cluster.lvs_services``.

        This is the single conversion point from the cluster model
        (docs/model.md) to IPVS.  It also validates, so a module can feed it
        user input shaped like the expanded model; errors name ``field``.
        """
        if not isinstance(svc, dict):
            _fail(field, svc, 'must be a mapping (an item of lvs.cluster.lvs_services)')
        fwmark = svc.get('fwmark')
        vip = svc.get('vip')
        address = None
        if vip not in (None, ''):
            address = parse_address(field + '.vip', vip)
        if fwmark is not None:
            fwmark = _int(field + '.fwmark', fwmark, 1, FWMARK_MAX)
            family = svc.get('family') or (address.version if address else 4)
            family = _int(field + '.family', family, 4, 6)
            if family not in (4, 6):
                _fail(field + '.family', family, 'must be 4 or 6')
            if address is not None and address.version != family:
                _fail(field + '.family', family, 'does not match the VIP %s' % address)
            protocol, port = None, None
        else:
            if address is None:
                _fail(field + '.vip', vip, 'is required for a service without fwmark')
            family = address.version
            ports = svc.get('ports')
            if ports is None or ports == []:
                _fail(field + '.ports', ports, 'must give one port (several ports need fwmark)')
            if not isinstance(ports, (list, tuple)):
                ports = [ports]
            if len(ports) != 1:
                _fail(field + '.ports', list(ports),
                      'lists several ports: a service on several ports needs fwmark')
            port = _int(field + '.ports[0]', ports[0], 1, 65535)
            protocol = str(svc.get('protocol') or 'tcp').lower()
            if protocol not in PROTOCOLS:
                _fail(field + '.protocol', svc.get('protocol'), 'must be one of %s' % ', '.join(PROTOCOLS))
        scheduler = str(svc.get('scheduler') or 'wlc').lower()
        if scheduler not in SCHEDULERS:
            _fail(field + '.scheduler', svc.get('scheduler'), 'must be one of %s' % ', '.join(SCHEDULERS))
        flags = _sched_flags(field + '.scheduler_flags', svc.get('scheduler_flags'), scheduler)
        persistence = _int(field + '.persistence', svc.get('persistence') or 0, 0, PERSISTENCE_MAX)
        netmask = normalise_netmask(field + '.persistence_netmask', svc.get('persistence_netmask'), family)
        ops = bool(svc.get('ops', False))
        if ops and protocol not in (None, 'udp'):
            _fail(field + '.ops', ops, 'one-packet scheduling only applies to udp services')
        forwarding = str(svc.get('forwarding') or 'dr').lower()
        if forwarding not in FORWARDING:
            _fail(field + '.forwarding', svc.get('forwarding'), 'must be one of %s' % ', '.join(FORWARDING))
        defaults = {
            'forwarding': forwarding,
            'weight': svc.get('weight', 1),
            'upper_threshold': svc.get('upper_threshold', 0) or 0,
            'lower_threshold': svc.get('lower_threshold', 0) or 0,
            'port': svc.get('real_server_port'),
        }
        service = cls(family, protocol=protocol, address=address, port=port, fwmark=fwmark,
                      scheduler=scheduler, scheduler_flags=flags, persistence=persistence,
                      persistence_netmask=netmask, ops=ops, name=svc.get('name'))
        members = svc.get('real_servers') or []
        if not isinstance(members, (list, tuple)):
            _fail(field + '.real_servers', members, 'must be a list of real servers')
        for i, member in enumerate(members):
            rs = real_server_from_dict(service, member, '%s.real_servers[%d]' % (field, i), defaults)
            if rs.key in service.real_servers:
                _fail('%s.real_servers[%d].address' % (field, i), str(rs.address),
                      'is listed twice (port %d)' % rs.port)
            service.real_servers[rs.key] = rs
        return service


def real_server_from_dict(service, member, field, defaults=None):
    """A RealServer of *service* from a dict like the model's real_servers items."""
    defaults = defaults or {}
    if isinstance(member, str):
        member = {'address': member}
    if not isinstance(member, dict):
        _fail(field, member, 'must be a mapping with an address')
    address = parse_address(field + '.address', member.get('address'))
    if address.version != service.family:
        _fail(field + '.address', str(address), 'is IPv%d but the service %s is IPv%d'
              % (address.version, service.label(), service.family))
    forwarding = member.get('forwarding') or defaults.get('forwarding') or 'dr'
    forwarding = str(forwarding).lower()
    if forwarding not in FORWARDING:
        _fail(field + '.forwarding', forwarding, 'must be one of %s' % ', '.join(FORWARDING))
    port = member.get('port')
    if port is None:
        port = defaults.get('port')
    if service.fwmark is not None:
        # a firewall-mark service forwards to the packet's own port: ipvsadm shows :0
        if port not in (None, 0) and forwarding != 'nat':
            _fail(field + '.port', port, 'only applies to forwarding nat')
        port = 0 if port is None else _int(field + '.port', port, 0, 65535)
    elif forwarding == 'nat':
        port = service.port if port is None else _int(field + '.port', port, 1, 65535)
    else:
        if port not in (None, service.port) and str(port) != str(service.port):
            _fail(field + '.port', port, 'only applies to forwarding nat (dr and tun keep the port %d)'
                  % service.port)
        port = service.port
    weight = member.get('weight')
    if weight is None:
        weight = defaults.get('weight', 1)
    weight = _int(field + '.weight', 1 if weight is None else weight, 0, WEIGHT_MAX)
    upper = member.get('upper_threshold')
    upper = _int(field + '.upper_threshold', defaults.get('upper_threshold', 0) if upper is None else upper,
                 0, THRESHOLD_MAX)
    lower = member.get('lower_threshold')
    lower = _int(field + '.lower_threshold', defaults.get('lower_threshold', 0) if lower is None else lower,
                 0, THRESHOLD_MAX)
    if upper and lower > upper:
        _fail(field + '.lower_threshold', lower, 'is above upper_threshold %d' % upper)
    return RealServer(address, port, forwarding, weight, upper, lower, name=member.get('name'))


def _rs_sort_key(key):
    address, port = key
    return (address.version, int(address), port)


def _svc_sort_key(key):
    if key[0] == 'fwmark':
        return (1, key[1], key[2], '', 0)
    protocol, address, port = key
    return (0, address.version, int(address), protocol, port)


# -- reading ipvsadm output ---------------------------------------------------

def _parse_service_spec(tokens, i, line):
    """Parse '-t addr:port' / '-f 1 [-6]' starting at tokens[i]; return (key parts, next index)."""
    switch = tokens[i]
    if switch in _SWITCH_PROTO:
        address, port = split_hostport(tokens[i + 1])
        return {'protocol': _SWITCH_PROTO[switch], 'address': address, 'port': port,
                'family': address.version}, i + 2
    if switch in ('-f', '--fwmark-service'):
        fwmark = int(tokens[i + 1])
        family = 4
        if i + 2 < len(tokens) and tokens[i + 2] in ('-6', '--ipv6'):
            family = 6
            i += 1
        return {'fwmark': fwmark, 'family': family}, i + 2
    raise IPVSParseError('no service in ipvsadm line %r' % line)


def _netmask_from_save(text, family):
    """The -M of ipvsadm -S, normalised; kept as printed when it is no valid netmask.

    ipvsadm reads '-M 24' for IPv4 as the address 0.0.0.24 and prints it back so:
    such a table is read without error and differs from any valid desired netmask.
    """
    try:
        return normalise_netmask('-M', text, family)
    except IPVSModelError:
        return text


def parse_save(text):
    """Parse ``ipvsadm -Sn`` output into an ordered dict key -> VirtualService."""
    services = {}
    order = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        tokens = line.split()
        command = tokens[0]
        if command not in ('-A', '--add-service', '-a', '--add-server'):
            raise IPVSParseError('unexpected ipvsadm -S line %r' % line)
        spec, i = _parse_service_spec(tokens, 1, line)
        if command in ('-A', '--add-service'):
            opts = {'scheduler': 'wlc', 'flags': frozenset(), 'persistence': 0, 'netmask': None, 'ops': False}
            while i < len(tokens):
                tok = tokens[i]
                if tok in ('-s', '--scheduler'):
                    opts['scheduler'] = tokens[i + 1]
                    i += 2
                elif tok in ('-b', '--sched-flags'):
                    opts['flags'] = frozenset(f for f in tokens[i + 1].split(',') if f)
                    i += 2
                elif tok in ('-p', '--persistent'):
                    opts['persistence'] = int(tokens[i + 1])
                    i += 2
                elif tok in ('-M', '--netmask'):
                    opts['netmask'] = _netmask_from_save(tokens[i + 1], spec['family'])
                    i += 2
                elif tok in ('-o', '--ops', 'ops'):
                    opts['ops'] = True
                    i += 1
                elif tok in ('--pe', 'pe'):
                    i += 2      # persistence engine (sip): not managed, ignored
                else:
                    raise IPVSParseError('unknown option %r in ipvsadm line %r' % (tok, line))
            svc = VirtualService(spec['family'], protocol=spec.get('protocol'), address=spec.get('address'),
                                 port=spec.get('port'), fwmark=spec.get('fwmark'),
                                 scheduler=opts['scheduler'], scheduler_flags=opts['flags'],
                                 persistence=opts['persistence'], persistence_netmask=opts['netmask'],
                                 ops=opts['ops'])
            services[svc.key] = svc
            order.append(svc.key)
            continue
        # -a: a real server of a service listed before it
        if 'fwmark' in spec:
            key = ('fwmark', spec['family'], spec['fwmark'])
        else:
            key = (spec['protocol'], spec['address'], spec['port'])
        if key not in services:
            raise IPVSParseError('real server before its service in ipvsadm line %r' % line)
        rs = {'forwarding': 'dr', 'weight': 1, 'upper': 0, 'lower': 0, 'address': None, 'port': 0}
        while i < len(tokens):
            tok = tokens[i]
            if tok in ('-r', '--real-server'):
                rs['address'], rs['port'] = split_hostport(tokens[i + 1])
                i += 2
            elif tok in _SWITCH_FWD:
                rs['forwarding'] = _SWITCH_FWD[tok]
                i += 1
            elif tok in ('-w', '--weight'):
                rs['weight'] = int(tokens[i + 1])
                i += 2
            elif tok in ('-x', '--u-threshold'):
                rs['upper'] = int(tokens[i + 1])
                i += 2
            elif tok in ('-y', '--l-threshold'):
                rs['lower'] = int(tokens[i + 1])
                i += 2
            elif tok in ('--tun-type', '--tun-port'):
                i += 2      # GUE/GRE tunnel details (ipvsadm >= 1.30): not managed
            elif tok in ('--tun-nocsum', '--tun-csum', '--tun-remcsum'):
                i += 1
            else:
                raise IPVSParseError('unknown option %r in ipvsadm line %r' % (tok, line))
        if rs['address'] is None:
            raise IPVSParseError('real server without -r in ipvsadm line %r' % line)
        server = RealServer(rs['address'], rs['port'], rs['forwarding'], rs['weight'], rs['upper'], rs['lower'])
        services[key].real_servers[server.key] = server
    return dict((k, services[k]) for k in order)


_LIST_SERVICE_RE = re.compile(r'^(TCP|UDP|SCTP|FWM)\s+(\S+)(\s+IPv6)?\s*(.*)$')
_LIST_DEST_RE = re.compile(r'^->\s+(\S+)\s*(.*)$')


def _list_service_key(proto, spec, ipv6):
    if proto == 'FWM':
        return ('fwmark', 6 if ipv6 else 4, int(spec))
    address, port = split_hostport(spec)
    return (proto.lower(), address, port)


def parse_list(text, columns):
    """Parse an ``ipvsadm -Ln`` listing.

    *columns* names the numbers after each service/destination: for
    ``--stats`` ('conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes'), for
    ``--rate`` ('cps', 'inpps', 'outpps', 'inbps', 'outbps').  With
    ``columns=None`` the plain listing is read: destinations give forwarding,
    weight, active and inactive connections.

    Returns {service key: {'values': {...}, 'real_servers': {(addr, port): {...}}}}.
    """
    result = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith((LISTING_HEADER, 'Prot ', '-> RemoteAddress')):
            continue
        match = _LIST_DEST_RE.match(line)
        if match:
            if current is None:
                raise IPVSParseError('destination before any service: %r' % line)
            address, port = split_hostport(match.group(1))
            fields = match.group(2).split()
            if columns is None:
                if len(fields) < 4:
                    raise IPVSParseError('short destination line %r' % line)
                values = {'forwarding': _LIST_FWD.get(fields[0], fields[0].lower()),
                          'weight': int(fields[1]), 'active_connections': int(fields[2]),
                          'inactive_connections': int(fields[3])}
            else:
                values = _numbers(fields, columns, line)
            current['real_servers'][(address, port)] = values
            continue
        match = _LIST_SERVICE_RE.match(line)
        if not match:
            raise IPVSParseError('cannot parse ipvsadm listing line %r' % line)
        key = _list_service_key(match.group(1), match.group(2), bool(match.group(3)))
        rest = match.group(4).split()
        # --thresholds lists numbers for destinations only (services show the scheduler)
        values = {} if columns in (None, THRESHOLD_COLUMNS) else _numbers(rest, columns, line)
        current = {'values': values, 'real_servers': {}}
        result[key] = current
    return result


def _numbers(fields, columns, line):
    if len(fields) < len(columns):
        raise IPVSParseError('expected %d numbers in %r' % (len(columns), line))
    values = {}
    for name, text in zip(columns, fields):
        values[name] = _largenum(text)
    return values


def _largenum(text):
    """ipvsadm prints 12K/3M/4G without --exact; we ask for --exact but accept both."""
    scale = {'K': 1000, 'M': 1000 ** 2, 'G': 1000 ** 3, 'T': 1000 ** 4}
    if text and text[-1] in scale:
        return int(text[:-1]) * scale[text[-1]]
    return int(text)


THRESHOLD_COLUMNS = ('upper_threshold', 'lower_threshold', 'active_connections', 'inactive_connections')
STATS_COLUMNS = ('conns', 'inpkts', 'outpkts', 'inbytes', 'outbytes')
RATE_COLUMNS = ('cps', 'inpps', 'outpps', 'inbps', 'outbps')


LISTING_HEADER = 'IP Virtual Server version'


def parse_read(text):
    """Parse the one read the modules make: ``-S -n`` then ``-L -n --thresholds``.

    ipvsadm 1.31's -S output has no thresholds (-x/-y), so the table is read in one
    ipvsadm process given both commands (``ipvsadm -R`` runs list commands too); the
    thresholds of the listing are put on the real servers of the saved table.
    """
    save, sep, listing = text.partition(LISTING_HEADER)
    table = parse_save(save)
    if not sep:
        raise IPVSParseError('no threshold listing after the saved table')
    limits = parse_list(sep + listing, THRESHOLD_COLUMNS)
    for key, svc in table.items():
        seen = limits.get(key)
        if seen is None:
            raise IPVSParseError('service %s missing from the threshold listing' % svc.label())
        for rkey, rs in svc.real_servers.items():
            values = seen['real_servers'].get(rkey)
            if values is None:
                raise IPVSParseError('real server %s of %s missing from the threshold listing'
                                     % (format_hostport(*rkey), svc.label()))
            rs.upper_threshold = values['upper_threshold']
            rs.lower_threshold = values['lower_threshold']
    return table


def parse_connections(text):
    """Parse ``ipvsadm -Lnc`` into a list of dicts."""
    conns = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(('IPVS connection entries', 'pro ')):
            continue
        fields = line.split()
        if len(fields) < 6:
            raise IPVSParseError('cannot parse connection line %r' % line)
        conns.append({
            'protocol': fields[0].lower(),
            'expire': fields[1],
            'state': fields[2],
            'source': fields[3],
            'virtual': fields[4],
            'destination': fields[5],
        })
    return conns


_DAEMON_RE = re.compile(r'^(master|backup) sync daemon \((.*)\)\s*$')


def parse_daemon(text):
    """Parse ``ipvsadm -Ln --daemon``: {'master': {'mcast_interface': .., 'syncid': ..}, ...}."""
    result = {}
    for raw in text.splitlines():
        match = _DAEMON_RE.match(raw.strip())
        if not match:
            continue
        info = {}
        for part in match.group(2).split(','):
            name, _sep, value = part.strip().partition('=')
            name = {'mcast': 'interface'}.get(name, name)
            info[name] = int(value) if value.isdigit() else value
        result[match.group(1)] = info
    return result


# -- planning and rendering -----------------------------------------------------

def render(services):
    """A table (iterable of VirtualService) in ipvsadm -S syntax, sorted: the diff format."""
    lines = []
    for svc in sorted(services, key=lambda s: _svc_sort_key(s.key)):
        lines.extend(svc.rules())
    return '\n'.join(lines) + ('\n' if lines else '')


def plan_service(current, desired, purge_real_servers=True):
    """ipvsadm -R lines turning *current* (or None) into *desired* (or None = remove)."""
    if desired is None:
        return [] if current is None else [current.rule('-D')]
    if current is None:
        return desired.rules()
    lines = []
    if current.attrs() != desired.attrs():
        lines.append(desired.rule('-E'))
    if purge_real_servers:
        for key in sorted(set(current.real_servers) - set(desired.real_servers), key=_rs_sort_key):
            lines.append(current.real_servers[key].rule(current, '-d'))
    for key in sorted(desired.real_servers, key=_rs_sort_key):
        want = desired.real_servers[key]
        have = current.real_servers.get(key)
        if have is None:
            lines.append(want.rule(desired, '-a'))
        elif have.attrs() != want.attrs():
            lines.append(want.rule(desired, '-e'))
    return lines


def merged(current, desired, purge_real_servers=True):
    """The service as it will be after plan_service (for diff and return values)."""
    if desired is None or current is None or purge_real_servers:
        return desired
    result = VirtualService(desired.family, protocol=desired.protocol, address=desired.address,
                            port=desired.port, fwmark=desired.fwmark, scheduler=desired.scheduler,
                            scheduler_flags=desired.scheduler_flags, persistence=desired.persistence,
                            persistence_netmask=desired.persistence_netmask, ops=desired.ops,
                            name=desired.name)
    result.real_servers = dict(current.real_servers)
    result.real_servers.update(desired.real_servers)
    return result
