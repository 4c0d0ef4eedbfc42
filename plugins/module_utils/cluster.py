# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster model of lvs.cluster: validation and expansion of ``lvs_virtual_services``.

This is the one place where the model that users write in their inventory
(docs/model.md) is checked and turned into a normalised list of services with
their real servers resolved to addresses.  Every backend renders from the
result: the keepalived and piranha templates, the ``ipvs_service`` module
(via ``ipvs.VirtualService.from_cluster``), the real_server role.

Errors raise :class:`ClusterModelError` with a message that names the field
(``lvs_virtual_services[0].vip``) and the offending value.
"""

from __future__ import annotations

import copy
import ipaddress
import re

PROTOCOLS = ('tcp', 'udp', 'sctp')
FORWARDING = ('dr', 'tun', 'nat')
SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq',
              'mh', 'fo', 'ovf', 'twos')
SCHEDULER_FLAGS = ('sh-fallback', 'sh-port', 'mh-fallback', 'mh-port')
CHECK_TYPES = ('HTTP_GET', 'SSL_GET', 'TCP_CHECK', 'MISC_CHECK', 'DNS_CHECK', 'none')
NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_.-]{0,63}$')
FWMARK_MAX = 0xFFFFFFFF
WEIGHT_MAX = 65535

SERVICE_DEFAULTS = {
    'protocol': 'tcp',
    'ports': None,
    'fwmark': None,
    'scheduler': 'wlc',
    'scheduler_flags': [],
    'persistence': 0,
    'persistence_netmask': None,
    'forwarding': 'dr',
    'real_servers': [],
    'real_server_port': None,
    'weight': 1,
    'upper_threshold': 0,
    'lower_threshold': 0,
    'health_check': None,
    'sorry_server': None,
    'quorum': 1,
    'hysteresis': 0,
    'inhibit_on_failure': False,
    'virtualhost': None,
    'alpha': False,
    'omega': False,
    'delay_loop': 6,
    'ops': False,
}

HEALTH_CHECK_DEFAULTS = {
    'type': 'TCP_CHECK',
    'port': None,
    'path': '/',
    'status_code': 200,
    'digest': None,
    'virtualhost': None,
    'connect_timeout': 3,
    'retry': 1,
    'delay_before_retry': 1,
    'misc_path': None,
    'misc_timeout': 10,
    'misc_dynamic': False,
    'dns_type': 'A',
    'dns_name': None,
    'extra': {},
}

KNOWN_SERVICE_KEYS = frozenset(['name', 'vip'] + list(SERVICE_DEFAULTS))
KNOWN_MEMBER_KEYS = frozenset(['host', 'address', 'port', 'weight', 'name',
                               'upper_threshold', 'lower_threshold'])


class ClusterModelError(ValueError):
    """A value in the cluster model is wrong; the message names field and value."""


def _fail(field, value, why):
    raise ClusterModelError('%s: %r %s' % (field, value, why))


def parse_address(field, value):
    """Return an ``ipaddress`` object for *value* or raise naming *field*."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    try:
        return ipaddress.ip_address(str(value).strip().strip('[]'))
    except ValueError:
        _fail(field, value, 'is not an IPv4 or IPv6 address')


def checked_int(field, value, low, high, error=None):
    """``value`` as an int in [low, high], or ``error`` (default ClusterModelError) naming
    the field and the value. One definition for the cluster, IPVS and fwmark models."""
    error = error or ClusterModelError
    if isinstance(value, bool) or value is None:
        raise error('%s: %r must be an integer from %d to %d' % (field, value, low, high))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or number < low or number > high:
        raise error('%s: %r must be an integer from %d to %d' % (field, value, low, high))
    return number


def _int(field, value, low, high):
    return checked_int(field, value, low, high)


def _bool(field, value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ('yes', 'true', 'on', '1'):
        return True
    if text in ('no', 'false', 'off', '0'):
        return False
    _fail(field, value, 'must be a boolean')


def _choice(field, value, choices):
    if value not in choices:
        _fail(field, value, 'must be one of %s' % ', '.join(choices))
    return value


def normalise_netmask(field, value, family):
    """Persistence granularity: an IPv4 netmask (dotted) or an IPv6 prefix length."""
    if value is None or value == '':
        return None
    if family == 4:
        text = str(value).strip()
        if text.isdigit():
            prefix = _int(field, text, 0, 32)
        else:
            try:
                prefix = ipaddress.IPv4Network('0.0.0.0/%s' % text).prefixlen
            except ValueError:
                _fail(field, value, 'is not an IPv4 netmask')
        return str(ipaddress.IPv4Network('0.0.0.0/%d' % prefix).netmask)
    return _int(field, str(value).lstrip('/'), 1, 128)


def _hostvar(hostvars, host, name, default=None):
    try:
        # Ansible's HostVars raises its own undefined-variable error (not KeyError)
        # for a host that is not in the inventory: ask first.
        if host not in hostvars:
            return default
        return hostvars[host].get(name, default)
    except (KeyError, AttributeError, TypeError):
        return default


def host_address(hostvars, host):
    """The address inventory host *host* serves on, or None.

    In order: the host variable real_server_address, ansible_host, the inventory name,
    the first of them that is an IP address.
    """
    for candidate in (_hostvar(hostvars, host, 'real_server_address'),
                      _hostvar(hostvars, host, 'ansible_host'), host):
        if candidate in (None, ''):
            continue
        try:
            return ipaddress.ip_address(str(candidate).strip())
        except ValueError:
            continue
    return None


def _host_address(field, hostvars, host):
    address = host_address(hostvars, host)
    if address is None:
        _fail(field, host, 'has no address: set real_server_address or ansible_host to an IP address')
    return address


def _members(field, spec, hostvars, groups):
    """Turn the real_servers field into a list of raw member dicts."""
    if isinstance(spec, str):
        if groups is None or spec not in groups:
            _fail(field, spec, 'is not an inventory group')
        return [{'host': h} for h in groups[spec]]
    if not isinstance(spec, (list, tuple)):
        _fail(field, spec, 'must be an inventory group name or a list of real servers')
    members = []
    for index, item in enumerate(spec):
        if isinstance(item, str):
            # a bare string in a list: an inventory host, or an address
            try:
                ipaddress.ip_address(item)
                members.append({'address': item})
            except ValueError:
                members.append({'host': item})
        elif isinstance(item, dict):
            unknown = sorted(set(item) - KNOWN_MEMBER_KEYS)
            if unknown:
                _fail('%s[%d]' % (field, index), unknown[0],
                      'is not a real server option (known: %s)' % ', '.join(sorted(KNOWN_MEMBER_KEYS)))
            members.append(dict(item))
        else:
            _fail('%s[%d]' % (field, index), item, 'must be a host name, an address or a mapping')
    return members


def _health_check(field, value, default_port):
    if value is None:
        value = {}
    if not isinstance(value, dict):
        _fail(field, value, 'must be a mapping')
    check = copy.deepcopy(HEALTH_CHECK_DEFAULTS)
    unknown = sorted(set(value) - set(HEALTH_CHECK_DEFAULTS))
    if unknown:
        _fail('%s.%s' % (field, unknown[0]), value[unknown[0]],
              'is not a health_check option (known: %s)' % ', '.join(sorted(HEALTH_CHECK_DEFAULTS)))
    check.update(value)
    check['type'] = _choice(field + '.type', check['type'], CHECK_TYPES)
    check['port'] = _int(field + '.port', check['port'] if check['port'] is not None else default_port,
                         1, 65535)
    check['status_code'] = _int(field + '.status_code', check['status_code'], 100, 599)
    for key in ('connect_timeout', 'retry', 'delay_before_retry', 'misc_timeout'):
        check[key] = _int('%s.%s' % (field, key), check[key], 0, 86400)
    check['misc_dynamic'] = _bool(field + '.misc_dynamic', check['misc_dynamic'])
    if check['type'] == 'MISC_CHECK' and not check['misc_path']:
        _fail(field + '.misc_path', check['misc_path'], 'is required for MISC_CHECK')
    if check['type'] == 'DNS_CHECK' and not check['dns_name']:
        _fail(field + '.dns_name', check['dns_name'], 'is required for DNS_CHECK')
    if not isinstance(check['extra'], dict):
        _fail(field + '.extra', check['extra'], 'must be a mapping')
    return check


def expand_service(index, raw, hostvars=None, groups=None):
    """Validate one service of ``lvs_virtual_services`` and return its normalised form."""
    base = 'lvs_virtual_services[%d]' % index
    if not isinstance(raw, dict):
        _fail(base, raw, 'must be a mapping')
    unknown = sorted(set(raw) - KNOWN_SERVICE_KEYS)
    if unknown:
        _fail('%s.%s' % (base, unknown[0]), raw[unknown[0]],
              'is not a virtual service option (known: %s)' % ', '.join(sorted(KNOWN_SERVICE_KEYS)))
    svc = copy.deepcopy(SERVICE_DEFAULTS)
    svc.update(copy.deepcopy(raw))

    name = svc.get('name')
    if not isinstance(name, str) or not NAME_RE.match(name):
        _fail(base + '.name', name, 'must be a name of letters, digits, ".", "_" or "-" starting with a letter')
    field = 'lvs_virtual_services[%s]' % name
    if 'vip' not in raw:
        _fail(field + '.vip', None, 'is required')
    vip = parse_address(field + '.vip', svc['vip'])
    family = vip.version

    protocol = _choice(field + '.protocol', str(svc['protocol']).lower(), PROTOCOLS)
    ports = svc['ports']
    if ports is None or ports == []:
        _fail(field + '.ports', ports, 'must list at least one port')
    if not isinstance(ports, (list, tuple)):
        ports = [ports]
    ports = [_int('%s.ports[%d]' % (field, i), p, 1, 65535) for i, p in enumerate(ports)]
    if len(set(ports)) != len(ports):
        _fail(field + '.ports', ports, 'lists a port twice')

    fwmark = svc['fwmark']
    if fwmark is not None:
        fwmark = _int(field + '.fwmark', fwmark, 1, FWMARK_MAX)
    elif len(ports) > 1:
        _fail(field + '.fwmark', None,
              'is required when a service has several ports %s (they become one firewall-mark service)' % ports)

    scheduler = _choice(field + '.scheduler', str(svc['scheduler']).lower(), SCHEDULERS)
    flags = svc['scheduler_flags'] or []
    if isinstance(flags, str):
        flags = [f for f in re.split(r'[,\s]+', flags) if f]
    for i, flag in enumerate(flags):
        _choice('%s.scheduler_flags[%d]' % (field, i), flag, SCHEDULER_FLAGS)
        if not flag.startswith(scheduler + '-'):
            _fail('%s.scheduler_flags[%d]' % (field, i), flag, 'does not apply to scheduler %s' % scheduler)

    persistence = _int(field + '.persistence', svc['persistence'] or 0, 0, 2678400)
    netmask = normalise_netmask(field + '.persistence_netmask', svc['persistence_netmask'], family)
    forwarding = _choice(field + '.forwarding', str(svc['forwarding']).lower(), FORWARDING)
    weight = _int(field + '.weight', svc['weight'], 0, WEIGHT_MAX)
    upper = _int(field + '.upper_threshold', svc['upper_threshold'], 0, WEIGHT_MAX)
    lower = _int(field + '.lower_threshold', svc['lower_threshold'], 0, WEIGHT_MAX)

    default_rport = None
    if svc['real_server_port'] is not None:
        if forwarding != 'nat':
            _fail(field + '.real_server_port', svc['real_server_port'],
                  'only applies to forwarding nat (dr and tun cannot change the port)')
        default_rport = _int(field + '.real_server_port', svc['real_server_port'], 1, 65535)

    real_servers = []
    seen = {}
    for i, member in enumerate(_members(field + '.real_servers', svc['real_servers'], hostvars, groups)):
        mfield = '%s.real_servers[%d]' % (field, i)
        host = member.get('host')
        if member.get('address') not in (None, ''):
            address = parse_address(mfield + '.address', member['address'])
        elif host:
            address = _host_address(mfield, hostvars or {}, host)
        else:
            _fail(mfield, member, 'needs a host or an address')
        if address.version != family:
            _fail(mfield + '.address', str(address),
                  'is IPv%d but the VIP %s is IPv%d' % (address.version, vip, family))
        mweight = member.get('weight')
        if mweight is None and host:
            mweight = _hostvar(hostvars or {}, host, 'real_server_weight')
        mweight = _int(mfield + '.weight', weight if mweight is None else mweight, 0, WEIGHT_MAX)
        port = member.get('port', default_rport)
        if port is not None:
            if forwarding != 'nat':
                _fail(mfield + '.port', port, 'only applies to forwarding nat')
            port = _int(mfield + '.port', port, 1, 65535)
        key = (str(address), port)
        if key in seen:
            _fail(mfield + '.address', str(address), 'is listed twice (also as %s)' % seen[key])
        seen[key] = mfield
        real_servers.append({
            'name': member.get('name') or host or str(address),
            'host': host,
            'address': str(address),
            'port': port,
            'weight': mweight,
            'upper_threshold': _int(mfield + '.upper_threshold', member.get('upper_threshold', upper), 0, WEIGHT_MAX),
            'lower_threshold': _int(mfield + '.lower_threshold', member.get('lower_threshold', lower), 0, WEIGHT_MAX),
        })

    check = _health_check(field + '.health_check', svc['health_check'], ports[0])

    sorry = svc['sorry_server']
    if sorry is not None:
        if not isinstance(sorry, dict):
            _fail(field + '.sorry_server', sorry, 'must be a mapping with address and port')
        sorry_addr = parse_address(field + '.sorry_server.address', sorry.get('address'))
        if sorry_addr.version != family:
            _fail(field + '.sorry_server.address', str(sorry_addr), 'is not of the VIP address family')
        sorry = {'address': str(sorry_addr),
                 'port': _int(field + '.sorry_server.port', sorry.get('port', ports[0]), 1, 65535)}

    return {
        'name': name,
        'vip': str(vip),
        'family': family,
        'protocol': protocol,
        'ports': ports,
        'fwmark': fwmark,
        'kind': 'fwmark' if fwmark is not None else 'address',
        'scheduler': scheduler,
        'scheduler_flags': list(flags),
        'persistence': persistence,
        'persistence_netmask': netmask,
        'forwarding': forwarding,
        'weight': weight,
        'real_servers': real_servers,
        'health_check': check,
        'sorry_server': sorry,
        'quorum': _int(field + '.quorum', svc['quorum'], 1, WEIGHT_MAX),
        'hysteresis': _int(field + '.hysteresis', svc['hysteresis'], 0, WEIGHT_MAX),
        'inhibit_on_failure': _bool(field + '.inhibit_on_failure', svc['inhibit_on_failure']),
        'virtualhost': svc['virtualhost'],
        'alpha': _bool(field + '.alpha', svc['alpha']),
        'omega': _bool(field + '.omega', svc['omega']),
        'delay_loop': _int(field + '.delay_loop', svc['delay_loop'], 1, 86400),
        'ops': _bool(field + '.ops', svc['ops']),
    }


def expand_services(services, hostvars=None, groups=None):
    """Validate and expand the whole ``lvs_virtual_services`` list.

    Besides each service on its own, checks what only the whole list can show:
    unique names, unique fwmarks, and no two services claiming one VIP:port.
    """
    if services is None:
        return []
    if not isinstance(services, (list, tuple)):
        _fail('lvs_virtual_services', services, 'must be a list of virtual services')
    result = [expand_service(i, raw, hostvars, groups) for i, raw in enumerate(services)]
    names, marks, sockets = {}, {}, {}
    for svc in result:
        field = 'lvs_virtual_services[%s]' % svc['name']
        if svc['name'] in names:
            _fail(field + '.name', svc['name'], 'is used by two services')
        names[svc['name']] = True
        if svc['fwmark'] is not None:
            if svc['fwmark'] in marks:
                _fail(field + '.fwmark', svc['fwmark'], 'is already used by service %s' % marks[svc['fwmark']])
            marks[svc['fwmark']] = svc['name']
        for port in svc['ports']:
            key = (svc['vip'], svc['protocol'], port)
            if key in sockets:
                _fail(field + '.ports', port, 'on %s/%s is already served by service %s'
                      % (svc['vip'], svc['protocol'], sockets[key]))
            sockets[key] = svc['name']
    return result


def services_of_host(expanded, host):
    """The expanded services in which inventory host *host* is a real server."""
    return [svc for svc in expanded if any(rs['host'] == host for rs in svc['real_servers'])]
