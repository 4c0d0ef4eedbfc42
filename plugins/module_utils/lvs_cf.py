# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The piranha ``lvs.cf`` language, in one place: parser, canonical renderer, and
conversion between lvs.cf and the cluster model (``lvs_virtual_services``).

Grammar (piranha's lvs.cf(5)):

* whole-line ``#`` comments and blank lines are ignored (a ``#`` after a value is data);
* ``key = value [value ...]`` with ``=`` a token of its own (``port=80`` is an error);
  values are bare words or double-quoted strings (``\\"`` escapes a quote; other
  backslash sequences such as ``\\r\\n`` are kept as written: nanny interprets them);
* blocks ``virtual NAME {`` (global level), ``server NAME {`` (inside a virtual) and
  ``failover NAME {`` (global level), each closed by a ``}`` on a line of its own;
* every key is known in its block (an unknown key is an error), booleans are exactly
  ``0`` or ``1``.

:func:`parse` returns a document (plain dicts and lists, values typed) or raises
:class:`LvsCfError` listing every error with its line number and text.
:func:`render` turns a document into canonical text. :func:`to_model` converts a
document into the raw ``lvs_virtual_services`` form (validated by
``cluster.expand_services``) plus director settings and warnings; :func:`from_model`
renders the expanded model into a document, with warnings for what lvs.cf cannot say.
"""

from __future__ import annotations

import copy
import ipaddress
import re

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
from ansible_collections.lvs.cluster.plugins.module_utils.cluster import (
    ClusterModelError,
    expand_services,
    host_address,
)

MAX_ERRORS = 50
HEADER = '# lvs.cf rendered by lvs.cluster (director_backend: piranha). Manual edits are replaced.'


class LvsCfError(ValueError):
    """lvs.cf text or data that cannot be used; ``errors`` lists (line, text, message)."""

    def __init__(self, errors):
        self.errors = list(errors)
        lines = []
        for line, text, message in self.errors:
            if line:
                lines.append('line %d: %s: %r' % (line, message, text))
            else:
                lines.append(message)
        super(LvsCfError, self).__init__('lvs.cf: ' + '; '.join(lines))


class _ValueProblem(ValueError):
    pass


# --- value kinds -----------------------------------------------------------------
# Each kind parses the value tokens of one key into a typed value and renders it back.

def _one(tokens):
    if len(tokens) != 1:
        raise _ValueProblem('takes one value, got %d (quote a value that contains spaces)' % len(tokens))
    return tokens[0][0]


class _Int(object):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def parse(self, tokens):
        text = _one(tokens)
        if not re.match(r'^[0-9]+$', text) or not self.low <= int(text) <= self.high:
            raise _ValueProblem('must be an integer from %d to %d' % (self.low, self.high))
        return int(text)

    def render(self, value):
        return str(int(value))


class _Bool(object):
    def parse(self, tokens):
        text = _one(tokens)
        if text not in ('0', '1'):
            raise _ValueProblem('must be 0 or 1')
        return text == '1'

    def render(self, value):
        return '1' if value else '0'


class _Choice(object):
    def __init__(self, *choices):
        self.choices = choices

    def parse(self, tokens):
        text = _one(tokens)
        if text not in self.choices:
            raise _ValueProblem('must be one of %s' % ', '.join(self.choices))
        return text

    def render(self, value):
        return value


class _IPv4(object):
    def parse(self, tokens):
        text = _one(tokens)
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            raise _ValueProblem('is not an IPv4 address')

    def render(self, value):
        return value


class _Host(object):
    """An IPv4 address, or a host name (primary/backup may be names)."""

    def parse(self, tokens):
        text = _one(tokens)
        try:
            return str(ipaddress.IPv4Address(text))
        except ValueError:
            if re.match(r'^[0-9.]+$', text) or not re.match(r'^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$', text):
                raise _ValueProblem('is not an IPv4 address or a host name')
            return text

    def render(self, value):
        return value


class _Netmask(object):
    def parse(self, tokens):
        text = _one(tokens)
        try:
            ipaddress.IPv4Address(text)
            return str(ipaddress.IPv4Network('0.0.0.0/%s' % text).netmask)
        except ValueError:
            raise _ValueProblem('is not an IPv4 netmask (a.b.c.d)')

    def render(self, value):
        return value


class _AddressDevice(object):
    """``a.b.c.d [DEVICE]``: the VIP (or NAT router address) and the interface (alias) it goes on."""

    def parse(self, tokens):
        words = ' '.join(t[0] for t in tokens).split()
        if not words or len(words) > 2:
            raise _ValueProblem('must be an IPv4 address followed by a device (a.b.c.d eth0:1)')
        try:
            address = str(ipaddress.IPv4Address(words[0]))
        except ValueError:
            raise _ValueProblem('%r is not an IPv4 address' % words[0])
        device = words[1] if len(words) == 2 else None
        if device is not None and not re.match(r'^[A-Za-z0-9_.:@-]{1,32}$', device):
            raise _ValueProblem('%r is not a device name' % device)
        return {'address': address, 'device': device}

    def render(self, value):
        return value['address'] + (' ' + value['device'] if value.get('device') else '')


class _Word(object):
    """One word (bare or quoted), without spaces."""

    def parse(self, tokens):
        text = _one(tokens)
        if not text or re.search(r'\s', text):
            raise _ValueProblem('must be one word')
        return text

    def render(self, value):
        return value


class _String(object):
    """Free text; rendered quoted. Several bare words are joined by one space."""

    def parse(self, tokens):
        if len(tokens) > 1 and any(quoted for _text, quoted in tokens):
            raise _ValueProblem('mixes quoted and bare words: quote the whole value')
        return ' '.join(t[0] for t in tokens)

    def render(self, value):
        return '"%s"' % _escape(value)


def _escape(text):
    """Escape unescaped double quotes (backslash sequences are kept for nanny)."""
    return re.sub(r'(?<!\\)"', '\\"', text)


ADDRESS_DEVICE = _AddressDevice()
PORT = _Int(1, 65535)
BOOL = _Bool()
SECONDS = _Int(0, 2678400)

GLOBAL_KEYS = (
    ('serial_no', _Int(0, 2147483647)),
    ('service', _Choice('lvs', 'fos')),
    ('primary', _Host()),
    ('primary_private', _IPv4()),
    ('primary_shared', _IPv4()),
    ('backup_active', BOOL),
    ('backup', _Host()),
    ('backup_private', _IPv4()),
    ('backup_shared', _IPv4()),
    ('heartbeat', BOOL),
    ('heartbeat_port', PORT),
    ('keepalive', _Int(1, 86400)),
    ('deadtime', _Int(1, 86400)),
    ('network', _Choice('direct', 'nat', 'tunnel')),
    ('nat_router', ADDRESS_DEVICE),
    ('nat_nmask', _Netmask()),
    ('reservation_conflict_action', _Choice('preempt', 'nopreempt')),
    ('debug_level', _Word()),
    ('rsh_command', _Choice('rsh', 'ssh')),
    ('monitor_links', BOOL),
    ('hard_shutdown', BOOL),
    ('syncdaemon', BOOL),
    ('syncd_iface', _Word()),
    ('syncd_id', _Int(0, 255)),
    ('tcp_timeout', SECONDS),
    ('tcpfin_timeout', SECONDS),
    ('udp_timeout', SECONDS),
)

SCHEDULERS = ('rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh')

VIRTUAL_KEYS = (
    ('active', BOOL),
    ('address', _AddressDevice()),
    ('vip_nmask', _Netmask()),
    ('sorry_server', _IPv4()),
    ('fwmark', _Int(1, 0xFFFFFFFF)),
    ('port', PORT),
    ('protocol', _Choice('tcp', 'udp')),
    ('persistent', SECONDS),
    ('pmask', _Netmask()),
    ('scheduler', _Choice(*SCHEDULERS)),
    ('send', _String()),
    ('send_program', _String()),
    ('expect', _String()),
    ('use_regex', BOOL),
    ('timeout', _Int(1, 86400)),
    ('reentry', _Int(0, 86400)),
    ('load_monitor', _Choice('none', 'rup', 'ruptime')),
    ('quiesce_server', BOOL),
    ('client_monitor', _Word()),
)

SERVER_KEYS = (
    ('address', _IPv4()),
    ('active', BOOL),
    ('weight', _Int(0, 65535)),
    ('port', PORT),
)

FAILOVER_KEYS = (
    ('active', BOOL),
    ('address', _AddressDevice()),
    ('vip_nmask', _Netmask()),
    ('port', PORT),
    ('protocol', _Choice('tcp', 'udp')),
    ('send', _String()),
    ('send_program', _String()),
    ('expect', _String()),
    ('use_regex', BOOL),
    ('timeout', _Int(1, 86400)),
    ('reentry', _Int(0, 86400)),
    ('start_cmd', _String()),
    ('stop_cmd', _String()),
    ('master', _Word()),
    ('dirs', _String()),
)

SCHEMAS = {
    'global': dict(GLOBAL_KEYS),
    'virtual': dict(VIRTUAL_KEYS),
    'server': dict(SERVER_KEYS),
    'failover': dict(FAILOVER_KEYS),
}
ORDER = {
    'global': [k for k, _v in GLOBAL_KEYS],
    'virtual': [k for k, _v in VIRTUAL_KEYS],
    'server': [k for k, _v in SERVER_KEYS],
    'failover': [k for k, _v in FAILOVER_KEYS],
}
BLOCK_PARENT = {'virtual': 'global', 'failover': 'global', 'server': 'virtual'}

_TOKEN_RE = re.compile(r'"((?:[^"\\]|\\.)*)"(?=\s|$)|([^\s"]+)(?=\s|$)')
_NAME_RE = re.compile(r'^[A-Za-z0-9_.:-]+$')


def _tokenize(line):
    """Split a line into (text, quoted) tokens; raise _ValueProblem on a bad quote."""
    tokens = []
    pos = 0
    line = line.strip()
    while pos < len(line):
        if line[pos].isspace():
            pos += 1
            continue
        match = _TOKEN_RE.match(line, pos)
        if not match:
            if line[pos] == '"':
                raise _ValueProblem('unterminated quoted string (or no space after its closing quote)')
            raise _ValueProblem('a quote inside a bare word')
        if match.group(2) is not None:
            tokens.append((match.group(2), False))
        else:
            tokens.append((match.group(1), True))
        pos = match.end()
    return tokens


def parse(text):
    """Parse lvs.cf *text* into a document; raise LvsCfError listing every error.

    The document: ``{'globals': {key: value}, 'virtuals': [{'name', 'line', 'options',
    'servers': [{'name', 'line', 'options'}]}], 'failovers': [{'name', 'line', 'options'}]}``.
    """
    doc = {'globals': {}, 'virtuals': [], 'failovers': []}
    errors = []
    seen_lines = {'global': {}}
    stack = []   # open blocks: (kind, block, line)

    def error(number, line, message):
        if len(errors) < MAX_ERRORS:
            errors.append((number, line.strip(), message))

    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        try:
            tokens = _tokenize(stripped)
        except _ValueProblem as exc:
            error(number, line, str(exc))
            continue
        words = [t[0] for t in tokens]
        quoted = [t[1] for t in tokens]
        context = stack[-1][0] if stack else 'global'
        if words == ['}'] and not quoted[0]:
            if not stack:
                error(number, line, "'}' closes no block")
            else:
                stack.pop()
            continue
        if words[0] in ('virtual', 'server', 'failover') and not quoted[0] and '=' not in words[1:2]:
            kind = words[0]
            if len(words) != 3 or words[2] != '{' or quoted[2]:
                error(number, line, "a block is opened as '%s NAME {' (the '{' on the same line)" % kind)
                continue
            name = words[1]
            if quoted[1] or not _NAME_RE.match(name):
                error(number, line, '%s name must be letters, digits, ".", ":", "_" or "-"' % kind)
                continue
            if BLOCK_PARENT[kind] != context:
                where = 'inside a virtual block' if kind == 'server' else 'at the top level'
                error(number, line, '%s blocks belong %s, not in %s' % (kind, where, 'the global section'
                                                                        if context == 'global' else
                                                                        'a %s block' % context))
                # still track the block so its '}' does not close the wrong one
                stack.append(('ignored', {'options': {}, 'servers': []}, number))
                seen_lines[id(stack[-1][1])] = {}
                continue
            block = {'name': name, 'line': number, 'options': {}}
            if kind == 'virtual':
                block['servers'] = []
                siblings = doc['virtuals']
            elif kind == 'failover':
                siblings = doc['failovers']
            else:
                siblings = stack[-1][1]['servers']
            for other in siblings:
                if other['name'] == name:
                    error(number, line, '%s %s is already defined on line %d' % (kind, name, other['line']))
            siblings.append(block)
            stack.append((kind, block, number))
            seen_lines[id(block)] = {}
            continue
        # key = value
        if context == 'ignored':
            continue
        key = words[0]
        if '=' in key and key != '=':
            error(number, line, "'=' must stand between spaces ('key = value')")
            continue
        if len(words) < 2 or words[1] != '=' or quoted[1]:
            if any('=' in w for w, q in tokens[1:2] if not q):
                error(number, line, "'=' must stand between spaces ('key = value')")
            else:
                error(number, line, "expected 'key = value', a block 'virtual|server|failover NAME {' or '}'")
            continue
        schema = SCHEMAS[context]
        where = 'the global section' if context == 'global' else '%s %s' % (context, stack[-1][1]['name'])
        if key not in schema:
            error(number, line, 'unknown key %r in %s (known: %s)' % (key, where, ', '.join(ORDER[context])))
            continue
        if len(tokens) < 3:
            error(number, line, '%s has no value' % key)
            continue
        try:
            value = schema[key].parse(tokens[2:])
        except _ValueProblem as exc:
            error(number, line, '%s in %s %s' % (key, where, exc))
            continue
        target = doc['globals'] if context == 'global' else stack[-1][1]['options']
        seen = seen_lines['global'] if context == 'global' else seen_lines[id(stack[-1][1])]
        if key in seen:
            error(number, line, '%s in %s is already set on line %d' % (key, where, seen[key]))
            continue
        seen[key] = number
        target[key] = value

    for kind, block, number in stack:
        if kind != 'ignored':
            errors.append((number, '%s %s {' % (kind, block['name']),
                           '%s %s is not closed by a }' % (kind, block['name'])))
    if not errors:
        _check(doc, errors)
    if errors:
        raise LvsCfError(errors)
    return doc


def _check(doc, errors):
    """Checks across keys of a parsed document (required keys, consistency)."""
    sockets = {}
    nat = doc['globals'].get('network') == 'nat'
    for virtual in doc['virtuals']:
        opts = virtual['options']
        head = 'virtual %s {' % virtual['name']
        if 'address' not in opts:
            errors.append((virtual['line'], head, 'virtual %s has no address' % virtual['name']))
        if 'port' not in opts:
            # nanny checks the port, also of a fwmark virtual
            errors.append((virtual['line'], head, 'virtual %s has no port' % virtual['name']))
        if 'address' in opts and 'port' in opts and opts.get('active', True):
            key = (opts['address']['address'], opts.get('protocol', 'tcp'), opts['port'])
            if key in sockets:
                other = sockets[key]
                errors.append((virtual['line'], head,
                               'virtual %s: %s port %d/%s is already served by virtual %s (line %d)'
                               % (virtual['name'], key[0], key[2], key[1], other['name'], other['line'])))
            else:
                sockets[key] = virtual
        members = {}
        for server in virtual['servers']:
            sopts = server['options']
            if 'address' not in sopts:
                errors.append((server['line'], 'server %s {' % server['name'],
                               'server %s in virtual %s has no address' % (server['name'], virtual['name'])))
                continue
            key = (sopts['address'], sopts.get('port') if nat else None)
            if key in members and sopts.get('active', True):
                errors.append((server['line'], 'server %s {' % server['name'],
                               'server %s in virtual %s: %s is already server %s (line %d)'
                               % (server['name'], virtual['name'], sopts['address'], members[key]['name'],
                                  members[key]['line'])))
            elif sopts.get('active', True):
                members[key] = server
    for failover in doc['failovers']:
        if 'address' not in failover['options']:
            errors.append((failover['line'], 'failover %s {' % failover['name'],
                           'failover %s has no address' % failover['name']))


def without_lines(doc):
    """A copy of *doc* without the source line numbers (to compare documents)."""
    doc = copy.deepcopy(doc)
    for block in doc['virtuals'] + doc['failovers']:
        block.pop('line', None)
        for server in block.get('servers', []):
            server.pop('line', None)
    return doc


def _render_options(kind, options, indent):
    schema = SCHEMAS[kind]
    lines = []
    for key in ORDER[kind]:
        if key in options and options[key] is not None:
            lines.append('%s%s = %s' % (indent, key, schema[key].render(options[key])))
    return lines


def render(doc, header=HEADER):
    """Canonical lvs.cf text for *doc*: fixed key order, 4-space indents, quoted strings."""
    unknown = []
    for kind, options in [('global', doc.get('globals', {}))] + \
            [('virtual', v['options']) for v in doc.get('virtuals', [])] + \
            [('server', s['options']) for v in doc.get('virtuals', []) for s in v.get('servers', [])] + \
            [('failover', f['options']) for f in doc.get('failovers', [])]:
        unknown.extend((None, key, 'unknown %s key %r' % (kind, key)) for key in options if key not in SCHEMAS[kind])
    if unknown:
        raise LvsCfError(unknown)
    lines = [header] if header else []
    lines.extend(_render_options('global', doc.get('globals', {}), ''))
    for virtual in doc.get('virtuals', []):
        lines.append('virtual %s {' % virtual['name'])
        lines.extend(_render_options('virtual', virtual['options'], '    '))
        for server in virtual.get('servers', []):
            lines.append('    server %s {' % server['name'])
            lines.extend(_render_options('server', server['options'], '        '))
            lines.append('    }')
        lines.append('}')
    for failover in doc.get('failovers', []):
        lines.append('failover %s {' % failover['name'])
        lines.extend(_render_options('failover', failover['options'], '    '))
        lines.append('}')
    return '\n'.join(lines) + '\n'


# --- lvs.cf -> cluster model -----------------------------------------------------

FORWARDING = {'direct': 'dr', 'nat': 'nat', 'tunnel': 'tun'}
NETWORK = dict((v, k) for k, v in FORWARDING.items())
# nanny's defaults (piranha GUI): timeout 6 s, reentry 15 s
DEFAULT_TIMEOUT = 6
DEFAULT_REENTRY = 15
# Global keys with a director role variable of their own (the rest go to director_piranha_globals).
PIRANHA_MAPPED = ('serial_no', 'network', 'primary', 'backup', 'keepalive', 'syncdaemon', 'syncd_iface', 'syncd_id',
                  'tcp_timeout', 'tcpfin_timeout', 'udp_timeout')
# Piranha-only keys whose loss under keepalived changes nothing a user would miss.
PIRANHA_ONLY_HARMLESS = ('service', 'backup_active', 'heartbeat', 'heartbeat_port', 'deadtime', 'debug_level',
                         'rsh_command', 'nat_router')
_HTTP_SEND_RE = re.compile(r'^(GET|HEAD) (\S+) HTTP/1\.[01](?:\\r)?\\n(.*)$', re.S)
_HOST_HEADER_RE = re.compile(r'(?:^|\\n)Host: ([^\\\s]+)', re.I)
_HTTP_EXPECT_RE = re.compile(r'^\^?HTTP(?:/1(?:\.[01x]|\\\.\[01\])?)? ?([1-5][0-9][0-9])?')


def _model_name(name, used, warnings, where):
    candidate = re.sub(r'[^A-Za-z0-9_.-]', '_', name)
    if not candidate[:1].isalpha():
        candidate = 'vs_' + candidate
    candidate = candidate[:64]
    base, n = candidate, 2
    while candidate in used:
        candidate = '%s_%d' % (base[:60], n)
        n += 1
    if candidate != name:
        warnings.append('%s: name %r is not a model name; the service is called %r' % (where, name, candidate))
    used.add(candidate)
    return candidate


def _inventory_addresses(hostvars):
    """Map address -> inventory host, resolved as cluster.expand_services resolves a member."""
    found = {}
    for host in sorted(hostvars or {}):
        address = host_address(hostvars, host)
        if address is not None:
            found.setdefault(str(address), host)
    return found


def _health_check_from(virtual, where, warnings):
    """The model health_check for a virtual block's nanny options."""
    opts = virtual['options']
    send, expect, program = opts.get('send'), opts.get('expect'), opts.get('send_program')
    check = {}
    if opts.get('timeout', DEFAULT_TIMEOUT) != 3:
        check['connect_timeout'] = opts.get('timeout', DEFAULT_TIMEOUT)
    if program:
        check['type'] = 'MISC_CHECK'
        check['misc_path'] = program
        if '%h' in program:
            warnings.append('%s: send_program %r uses %%h (the real server address); keepalived runs '
                            'misc_path without substituting it: edit health_check.misc_path' % (where, program))
        if expect:
            warnings.append('%s: expect "%s" compared the output of send_program; keepalived MISC_CHECK '
                            'uses the exit status instead' % (where, expect))
        return check
    http = _HTTP_SEND_RE.match(send or '')
    if http:
        check['type'] = 'HTTP_GET'
        check['path'] = http.group(2)
        if http.group(1) == 'HEAD':
            warnings.append('%s: a HEAD request becomes an HTTP GET of %s' % (where, http.group(2)))
        host = _HOST_HEADER_RE.search(http.group(3))
        if host:
            check['virtualhost'] = host.group(1)
        status = _HTTP_EXPECT_RE.match(expect or '')
        if status and status.group(1):
            check['status_code'] = int(status.group(1))
        else:
            check['status_code'] = 200
            warnings.append('%s: expect "%s" accepted any matching reply; the model checks for '
                            'HTTP status 200' % (where, expect or ''))
        if opts.get('use_regex') and not status:
            warnings.append('%s: use_regex = 1 with expect "%s": the regular expression is not carried over'
                            % (where, expect))
        return check
    check['type'] = 'TCP_CHECK'
    if send or expect:
        warnings.append('%s: the send/expect dialogue (send "%s", expect "%s") has no keepalived equivalent; '
                        'the model checks that the port accepts connections (TCP_CHECK)'
                        % (where, send or '', expect or ''))
    return check


def _member_key(server):
    return (server['options']['address'], server['options'].get('weight', 1), server['options'].get('port'))


def to_model(doc, hostvars=None):
    """Convert a parsed lvs.cf document into ``lvs_virtual_services`` (raw form).

    Returns ``{'lvs_virtual_services': [...], 'director': {...}, 'warnings': [...]}``. The
    services are checked with ``cluster.expand_services`` (raises ClusterModelError, which
    should not happen for a document :func:`parse` accepted). With *hostvars*, a real
    server whose address is an inventory host's becomes ``{host: NAME}``, so the
    real_server role finds the services of that host.
    """
    warnings = []
    glob = doc.get('globals', {})
    network = glob.get('network', 'direct')
    forwarding = FORWARDING[network]
    inventory = _inventory_addresses(hostvars) if hostvars else {}
    if glob.get('service', 'lvs') == 'fos':
        warnings.append('service = fos: piranha runs the failover blocks, not the virtual servers; the '
                        'virtual servers are converted anyway')
    for failover in doc.get('failovers', []):
        warnings.append('failover %s (line %s): failover services (fos) have no place in '
                        'lvs_virtual_services: not converted' % (failover['name'], failover.get('line', '?')))

    # group virtual blocks: one model service per fwmark, one per block otherwise
    groups, order = {}, []
    for virtual in doc.get('virtuals', []):
        where = 'virtual %s (line %s)' % (virtual['name'], virtual.get('line', '?'))
        if not virtual['options'].get('active', True):
            warnings.append('%s: active = 0: an inactive virtual server is not converted' % where)
            continue
        mark = virtual['options'].get('fwmark')
        key = ('fwmark', mark) if mark is not None else ('block', virtual['name'])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(virtual)

    devices, netmasks, services, used = {}, {}, [], set()
    for key in order:
        blocks = groups[key]
        first = blocks[0]
        opts = first['options']
        where = 'virtual %s (line %s)' % (first['name'], first.get('line', '?'))
        names = [b['name'] for b in blocks]
        ports = [b['options']['port'] for b in blocks]
        stem = names[0]
        if len(blocks) > 1:
            # lvs.cluster names the blocks of a multi-port service NAME_PORT, piranha users often
            # NAME_http / NAME_https: both give back NAME
            stems = [re.sub(r'[_.-]?(%d|https?|ssl|tls)$' % (b['options'].get('port') or 0), '', b['name'])
                     for b in blocks]
            if all(stems) and len(set(stems)) == 1:
                stem = stems[0]
            else:
                warnings.append('virtual servers %s share fwmark %d: they become one service named after '
                                'the first, with ports %s' % (', '.join(names), key[1], ports))
        name = _model_name(stem, used, warnings, where)
        service = {'name': name, 'vip': opts['address']['address'], 'ports': ports}
        if opts['address'].get('device'):
            devices.setdefault(opts['address']['device'].split(':')[0], []).append(name)
        if 'vip_nmask' in opts:
            netmasks.setdefault(opts['vip_nmask'], []).append(name)
        if key[0] == 'fwmark':
            service['fwmark'] = key[1]
        if opts.get('protocol', 'tcp') != 'tcp':
            service['protocol'] = opts['protocol']
        service['scheduler'] = opts.get('scheduler', 'wlc')
        if opts.get('persistent'):
            service['persistence'] = opts['persistent']
            if opts.get('pmask'):
                service['persistence_netmask'] = opts['pmask']
        elif opts.get('pmask'):
            warnings.append('%s: pmask %s without persistent has no effect: not converted' % (where, opts['pmask']))
        service['forwarding'] = forwarding
        if opts.get('quiesce_server'):
            # Red Hat's piranha docs: quiesce resets the least-connection counts when a real server
            # comes back online. Not keepalived's inhibit_on_failure (weight 0 while failed).
            warnings.append('%s: quiesce_server = 1 (reset the least-connection counts when a real server '
                            'comes back) has no model field: not converted' % where)
        if opts.get('sorry_server'):
            service['sorry_server'] = {'address': opts['sorry_server'], 'port': ports[0]}
        if opts.get('reentry', DEFAULT_REENTRY) != DEFAULT_REENTRY:
            warnings.append('%s: reentry = %d (seconds a recovered server waits before it returns) has no '
                            'model field; keepalived re-adds a member on its first good check'
                            % (where, opts['reentry']))
        if opts.get('load_monitor', 'none') != 'none':
            warnings.append('%s: load_monitor = %s (weights from rup/ruptime) has no model field: not converted'
                            % (where, opts['load_monitor']))
        if opts.get('client_monitor'):
            warnings.append('%s: client_monitor = %s has no model field: not converted'
                            % (where, opts['client_monitor']))

        # the health check: the block whose nanny does more than connect, else the first
        checking = [b for b in blocks if b['options'].get('send') or b['options'].get('expect')
                    or b['options'].get('send_program')]
        check_block = checking[0] if checking else first
        check_where = 'virtual %s (line %s)' % (check_block['name'], check_block.get('line', '?'))
        check = _health_check_from(check_block, check_where, warnings)
        if check_block['options'].get('port', ports[0]) != ports[0]:
            check['port'] = check_block['options']['port']
        for other in checking[1:]:
            warnings.append('virtual %s (line %s): its check (send "%s", expect "%s") is not converted: the model '
                            'has one health check per service (that of virtual %s)'
                            % (other['name'], other.get('line', '?'), other['options'].get('send'),
                               other['options'].get('expect'), check_block['name']))
        service['health_check'] = check

        # real servers: the first block's; the others must agree
        members = []
        for server in first['servers']:
            sopts = server['options']
            swhere = 'server %s (line %s) of virtual %s' % (server['name'], server.get('line', '?'), first['name'])
            if not sopts.get('active', True):
                warnings.append('%s: active = 0: an inactive real server is not converted' % swhere)
                continue
            member = {}
            host = inventory.get(sopts['address'])
            if host:
                member['host'] = host
                if server['name'] != host:
                    member['name'] = server['name']
            else:
                member['address'] = sopts['address']
                member['name'] = server['name']
            member['weight'] = sopts.get('weight', 1)
            if sopts.get('port') is not None:
                if forwarding == 'nat':
                    member['port'] = sopts['port']
                elif sopts['port'] not in ports:
                    warnings.append('%s: port %d is ignored with network = %s (the real server receives '
                                    'the virtual port): not converted' % (swhere, sopts['port'], network))
            members.append(member)
        service['real_servers'] = members
        reference = sorted(_member_key(s) for s in first['servers'] if s['options'].get('active', True))
        for other in blocks[1:]:
            mine = sorted(_member_key(s) for s in other['servers'] if s['options'].get('active', True))
            if mine != reference:
                warnings.append('virtual %s (line %s): its real servers differ from those of virtual %s, which '
                                'share fwmark %d; the model keeps those of %s'
                                % (other['name'], other.get('line', '?'), first['name'], key[1], first['name']))
            for field in ('address', 'scheduler', 'persistent', 'pmask', 'protocol', 'sorry_server', 'quiesce_server'):
                if other['options'].get(field) != opts.get(field):
                    warnings.append('virtual %s (line %s): %s %r differs from %r in virtual %s (same fwmark); '
                                    'the model keeps %r'
                                    % (other['name'], other.get('line', '?'), field, other['options'].get(field),
                                       opts.get(field), first['name'], opts.get(field)))
        services.append(service)

    expand_services(services, hostvars or {}, {})   # raises ClusterModelError on a bad conversion

    director, hosts = _director_settings(glob, devices, netmasks, inventory, warnings)
    return {'lvs_virtual_services': services, 'director': director, 'director_hosts': hosts,
            'warnings': warnings}


def _director_settings(glob, devices, netmasks, inventory, warnings):
    """Director role variables from the global section (docs/piranha.md has the table).

    Returns (group variables, {director: host variables}). Keys the keepalived backend
    has a variable for are mapped to it; the piranha backend renders lvs.cf from the
    same variables, plus director_piranha_globals for the piranha-only keys.
    """
    director = {}
    if len(devices) > 1:
        warnings.append('virtual servers put their VIPs on several devices %s; director_interface is one '
                        'device: %s chosen' % (sorted(devices), sorted(devices)[0]))
    if devices:
        director['director_interface'] = sorted(devices)[0]
    if len(netmasks) > 1:
        warnings.append('virtual servers use several vip_nmask values %s; director_vip_prefix is one value: '
                        '%s chosen' % (sorted(netmasks), sorted(netmasks)[0]))
    if netmasks:
        director['director_vip_prefix'] = ipaddress.IPv4Network('0.0.0.0/%s' % sorted(netmasks)[0]).prefixlen
    if 'keepalive' in glob:
        director['director_vrrp_advert_int'] = glob['keepalive']
    director['director_sync_daemon'] = bool(glob.get('syncdaemon', False))
    if glob.get('syncdaemon'):
        if 'syncd_iface' in glob:
            director['director_sync_daemon_interface'] = glob['syncd_iface']
        if 'syncd_id' in glob:
            director['director_sync_daemon_id'] = glob['syncd_id']
    timeouts = dict((name, glob['%s_timeout' % name]) for name in ('tcp', 'tcpfin', 'udp')
                    if '%s_timeout' % name in glob)
    if timeouts:
        director['director_lvs_timeouts'] = timeouts
    for key in ('primary', 'backup'):
        if key in glob:
            director['director_piranha_%s' % key] = glob[key]
    rest = {}
    for key, value in glob.items():
        if key in PIRANHA_MAPPED:
            continue
        if key in ('nat_router',):
            value = ADDRESS_DEVICE.render(value)
        rest[key] = value
    if rest:
        director['director_piranha_globals'] = rest

    piranha_only = sorted(k for k in rest if k not in PIRANHA_ONLY_HARMLESS)
    if piranha_only:
        warnings.append('global keys %s have no keepalived equivalent: they are kept in director_piranha_globals, '
                        'which only the piranha backend reads' % ', '.join(piranha_only))
    if 'nat_router' in glob:
        warnings.append('nat_router %s: the real servers\' gateway address is not a service VIP; with keepalived, '
                        'add it as a VRRP address yourself' % ADDRESS_DEVICE.render(glob['nat_router']))
    if 'deadtime' in glob and 'keepalive' in glob and glob['deadtime'] != 3 * glob['keepalive']:
        warnings.append('deadtime %d: VRRP declares the master dead after about 3 x director_vrrp_advert_int '
                        '(%d s), not after deadtime' % (glob['deadtime'], 3 * glob['keepalive']))
    if glob.get('backup_active') is False:
        warnings.append('backup_active = 0: the backup director did not take over; with keepalived both '
                        'directors of director_group do')

    hosts = {}
    for key, priority in (('primary', 150), ('backup', 100)):
        if key in glob:
            name = inventory.get(glob[key], glob[key])
            hosts[name] = {'director_address': glob[key], 'director_priority': priority}
    return director, hosts


def parse_to_model(text, hostvars=None):
    """:func:`parse` then :func:`to_model`."""
    return to_model(parse(text), hostvars)


# --- cluster model -> lvs.cf -----------------------------------------------------

def _check_options(service, port, where, warnings):
    """nanny options (send/expect/send_program/timeout) for the block of *port*."""
    check = service['health_check']
    opts = {'timeout': check['connect_timeout'] or 1}
    if port != check['port']:
        return opts          # the other ports of a fwmark service: nanny checks the connection
    kind = check['type']
    if kind == 'HTTP_GET':
        vhost = check['virtualhost'] or service.get('virtualhost')
        opts['send'] = 'GET %s HTTP/1.0\\r\\n%s\\r\\n' % (check['path'], 'Host: %s\\r\\n' % vhost if vhost else '')
        opts['expect'] = 'HTTP/1.1 %d' % check['status_code']
        opts['use_regex'] = False
        if check['digest']:
            warnings.append('%s: health_check.digest cannot be checked by nanny: not rendered' % where)
    elif kind == 'SSL_GET':
        warnings.append('%s: nanny cannot speak TLS: the SSL_GET check becomes a connection check on port %d'
                        % (where, port))
    elif kind == 'MISC_CHECK':
        opts['send_program'] = check['misc_path']
        warnings.append('%s: MISC_CHECK %r becomes send_program; nanny compares its output with expect (none '
                        'set) rather than using its exit status' % (where, check['misc_path']))
    elif kind == 'DNS_CHECK':
        warnings.append('%s: nanny has no DNS check: a connection check on port %d is rendered' % (where, port))
    elif kind == 'none':
        warnings.append('%s: health_check none: nanny always checks; a connection check is rendered' % where)
    return opts


def _setting_value(key, kind, value, errors):
    """A setting given in YAML (bool, int or text) checked and typed by the grammar of *key*."""
    if isinstance(value, bool):
        tokens = [('1' if value else '0', False)]
    elif isinstance(value, dict) and isinstance(kind, _AddressDevice):
        tokens = [(kind.render(value), False)]
    elif isinstance(kind, _AddressDevice):
        tokens = [(word, False) for word in str(value).split()]
    else:
        tokens = [(str(value), True)]
    try:
        return kind.parse(tokens)
    except _ValueProblem as exc:
        errors.append((None, value, 'settings.%s: %r %s' % (key, value, exc)))
        return None


def from_model(services, settings=None):
    """Render the expanded model (``lvs.cluster.lvs_services``) as an lvs.cf document.

    *settings*: ``primary``, ``backup`` (required), ``vip_interface`` (default eth0),
    ``vip_netmask`` (default 255.255.255.255, or a prefix length), ``lvs_timeouts``
    (``{tcp, tcpfin, udp}``), ``serial_no`` and any other global lvs.cf key
    (``heartbeat_port``, ``keepalive``, ``syncdaemon``...), checked by the grammar.
    Returns ``(doc, warnings)``. Raises LvsCfError for what lvs.cf cannot express
    without changing behaviour (IPv6, SCTP, mixed forwarding, schedulers piranha lacks).
    """
    settings = dict(settings or {})
    errors, warnings = [], []
    interface = settings.pop('vip_interface', None) or 'eth0'
    if not re.match(r'^[A-Za-z0-9_.@-]{1,15}$', str(interface)):
        errors.append((None, interface, 'settings.vip_interface: %r is not an interface name' % (interface,)))
    netmask = settings.pop('vip_netmask', None) or '255.255.255.255'
    if isinstance(netmask, int) and not isinstance(netmask, bool) or re.match(r'^/?[0-9]{1,2}$', str(netmask)):
        # a prefix length (director_vip_prefix)
        prefix = int(str(netmask).lstrip('/'))
        if 0 <= prefix <= 32:
            netmask = str(ipaddress.IPv4Network('0.0.0.0/%d' % prefix).netmask)
    netmask = _setting_value('vip_netmask', _Netmask(), netmask, errors)
    timeouts = settings.pop('lvs_timeouts', None) or {}
    if not isinstance(timeouts, dict) or set(timeouts) - set(('tcp', 'tcpfin', 'udp')):
        errors.append((None, timeouts, 'settings.lvs_timeouts: %r must be a mapping with keys tcp, tcpfin, udp'
                       % (timeouts,)))
    else:
        for name, value in timeouts.items():
            settings.setdefault('%s_timeout' % name, value)
    forwarding = set(s['forwarding'] for s in services)
    if len(forwarding) > 1:
        errors.append((None, '', 'lvs.cf has one network for all virtual servers but the services use forwarding %s'
                       % ', '.join(sorted(forwarding))))
    glob = {'serial_no': 1, 'service': 'lvs', 'backup_active': True, 'heartbeat': True,
            'heartbeat_port': 539, 'keepalive': 6,
            'network': NETWORK[forwarding.pop()] if len(forwarding) == 1 else 'direct'}
    for key, value in settings.items():
        if value is None:
            continue
        if key not in SCHEMAS['global']:
            errors.append((None, key, 'settings.%s is not a global lvs.cf key (known: %s)'
                           % (key, ', '.join(ORDER['global']))))
            continue
        glob[key] = _setting_value(key, SCHEMAS['global'][key], value, errors)
    if 'deadtime' not in glob and isinstance(glob.get('keepalive'), int):
        glob['deadtime'] = 3 * glob['keepalive']    # piranha's default ratio (6 s / 18 s)
    for key in ('primary', 'backup'):
        if not glob.get(key):
            errors.append((None, key, 'settings.%s (the %s director address) is required' % (key, key)))

    virtuals, aliases = [], {}
    for svc in services:
        where = 'lvs_virtual_services[%s]' % svc['name']
        if svc['family'] != 4:
            errors.append((None, svc['vip'], '%s.vip: %s: piranha handles IPv4 only' % (where, svc['vip'])))
            continue
        if svc['protocol'] not in ('tcp', 'udp'):
            errors.append((None, svc['protocol'], '%s.protocol: %s: lvs.cf knows tcp and udp only'
                           % (where, svc['protocol'])))
        if svc['scheduler'] not in SCHEDULERS:
            errors.append((None, svc['scheduler'], '%s.scheduler: %s: lvs.cf knows %s'
                           % (where, svc['scheduler'], ', '.join(SCHEDULERS))))
        if svc['scheduler_flags']:
            warnings.append('%s.scheduler_flags %s: lvs.cf has no scheduler flags: not rendered'
                            % (where, svc['scheduler_flags']))
        if svc['health_check']['port'] not in svc['ports']:
            warnings.append('%s.health_check.port %d: nanny checks the virtual port; the check runs on port %d'
                            % (where, svc['health_check']['port'], svc['ports'][0]))
            svc = copy.deepcopy(svc)
            svc['health_check']['port'] = svc['ports'][0]
        elif (svc['health_check']['type'] == 'TCP_CHECK' and len(svc['ports']) > 1
              and svc['health_check']['port'] != svc['ports'][0]):
            warnings.append('%s.health_check.port %d: every port of the service gets a connection check'
                            % (where, svc['health_check']['port']))
        for field, default in (('quorum', 1), ('hysteresis', 0), ('alpha', False), ('omega', False),
                               ('ops', False), ('delay_loop', 6), ('inhibit_on_failure', False)):
            if svc[field] != default:
                warnings.append('%s.%s %r has no lvs.cf equivalent: not rendered' % (where, field, svc[field]))
        for field, default in (('retry', 1), ('delay_before_retry', 1)):
            if svc['health_check'][field] != default:
                warnings.append('%s.health_check.%s %r has no lvs.cf equivalent: not rendered'
                                % (where, field, svc['health_check'][field]))
        if svc['sorry_server'] and svc['sorry_server']['port'] != svc['ports'][0]:
            warnings.append('%s.sorry_server.port %d: piranha sends to the sorry server on the virtual port'
                            % (where, svc['sorry_server']['port']))
        multi = len(svc['ports']) > 1
        for index, port in enumerate(svc['ports']):
            alias = aliases.setdefault(svc['vip'], len(aliases) + 1)
            opts = {'active': True,
                    'address': {'address': svc['vip'], 'device': '%s:%d' % (interface, alias)},
                    'vip_nmask': netmask}
            if svc['sorry_server']:
                opts['sorry_server'] = svc['sorry_server']['address']
            if svc['fwmark'] is not None:
                opts['fwmark'] = svc['fwmark']
            opts['port'] = port
            opts['protocol'] = svc['protocol']
            if svc['persistence']:
                opts['persistent'] = svc['persistence']
                if svc['persistence_netmask']:
                    opts['pmask'] = svc['persistence_netmask']
            opts['scheduler'] = svc['scheduler']
            opts.update(_check_options(svc, port, where, warnings))
            opts['reentry'] = DEFAULT_REENTRY
            opts['load_monitor'] = 'none'
            opts['quiesce_server'] = False
            servers = []
            for member in svc['real_servers']:
                sopts = {'address': member['address'], 'active': True, 'weight': member['weight']}
                if member['port'] is not None:
                    sopts['port'] = member['port']
                if member['upper_threshold'] or member['lower_threshold']:
                    if index == 0:
                        warnings.append('%s: real server %s: connection thresholds have no lvs.cf equivalent: '
                                        'not rendered' % (where, member['name']))
                servers.append({'name': _server_name(member['name'], servers), 'options': sopts})
            virtuals.append({'name': '%s_%d' % (svc['name'], port) if multi else svc['name'],
                             'options': opts, 'servers': servers})
    if errors:
        raise LvsCfError(errors)
    return {'globals': glob, 'virtuals': virtuals, 'failovers': []}, warnings


def _server_name(name, taken):
    name = re.sub(r'[^A-Za-z0-9_.:-]', '_', name) or 'server'
    names = set(s['name'] for s in taken)
    candidate, n = name, 2
    while candidate in names:
        candidate = '%s_%d' % (name, n)
        n += 1
    return candidate


# --- the IPVS table, both ways ------------------------------------------------------

def lvsd_table(doc):
    """The IPVS table lvsd programs from *doc* once every active real server passes its check.

    Derived from lvs.cf alone (not through the model), as lvs.cf(5) and Red Hat's piranha
    documentation describe lvsd: one ``ipvsadm -A`` per active virtual (blocks sharing a
    fwmark make one fwmark service, the first block's scheduler and persistence), one
    ``ipvsadm -a`` per active server with the global network's method and its weight.
    Returns a list of ``ipvs.VirtualService``; ``service = fos`` runs no IPVS (empty).
    """
    if doc['globals'].get('service', 'lvs') != 'lvs':
        return []
    forwarding = FORWARDING[doc['globals'].get('network', 'direct')]
    table = {}
    for virtual in doc['virtuals']:
        opts = virtual['options']
        if not opts.get('active', True):
            continue
        vip = ipaddress.ip_address(opts['address']['address'])
        mark = opts.get('fwmark')
        persistence = opts.get('persistent') or 0
        service = ipvs.VirtualService(4, protocol=opts.get('protocol', 'tcp'), address=vip, port=opts.get('port'),
                                      fwmark=mark, scheduler=opts.get('scheduler', 'wlc'), persistence=persistence,
                                      persistence_netmask=opts.get('pmask') if persistence else None)
        service = table.setdefault(service.key, service)
        for server in virtual['servers']:
            sopts = server['options']
            if not sopts.get('active', True):
                continue
            if forwarding == 'nat':
                port = sopts.get('port', 0 if mark is not None else opts.get('port'))
            else:
                port = 0 if mark is not None else opts.get('port')
            real = ipvs.RealServer(ipaddress.ip_address(sopts['address']), port, forwarding, sopts.get('weight', 1))
            service.real_servers.setdefault(real.key, real)
    return list(table.values())


def model_table(expanded):
    """The IPVS table of the expanded model, by the collection's single model -> IPVS conversion."""
    return [ipvs.VirtualService.from_cluster(svc, 'lvs_virtual_services[%s]' % svc['name']) for svc in expanded]


def compare_tables(doc, expanded):
    """``{same, lvsd, model}``: both tables in ``ipvsadm -S -n`` form and whether they are equal."""
    lvsd = ipvs.render(lvsd_table(doc))
    model = ipvs.render(model_table(expanded))
    return {'same': lvsd == model, 'lvsd': lvsd, 'model': model}


def _comparable(doc):
    doc = without_lines(doc)
    doc['globals'].pop('serial_no', None)
    return doc


def plan(services, settings=None, current=None):
    """What the piranha backend writes: render the model, keep serial_no unless something changed.

    *current*: the text of the lvs.cf in place (or None). Returns ``{'text', 'serial_no',
    'change', 'warnings'}`` where change is ``none`` (text is *current* unchanged),
    ``services`` (only virtual servers differ: pulse can reload) or ``globals`` (the
    director-pair section differs, or there was no valid file: pulse must restart).
    """
    settings = dict(settings or {})
    settings.pop('serial_no', None)
    current_doc = None
    if current:
        try:
            current_doc = parse(current)
        except LvsCfError:
            current_doc = None
    serial = current_doc['globals'].get('serial_no', 0) if current_doc else 0
    doc, warnings = from_model(services, dict(settings, serial_no=serial))
    if current_doc is not None and _comparable(doc) == _comparable(current_doc):
        return {'text': current, 'serial_no': serial, 'change': 'none', 'warnings': warnings}
    doc['globals']['serial_no'] = serial + 1
    text = render(doc)
    parse(text)   # the renderer's output must satisfy the grammar (raises otherwise)
    if current_doc is None:
        change = 'globals'
    else:
        old, new = _comparable(current_doc)['globals'], _comparable(doc)['globals']
        change = 'globals' if old != new else 'services'
    return {'text': text, 'serial_no': serial + 1, 'change': change, 'warnings': warnings}


__all__ = ['LvsCfError', 'ClusterModelError', 'parse', 'render', 'to_model', 'parse_to_model',
           'from_model', 'plan', 'without_lines', 'lvsd_table', 'model_table', 'compare_tables']
