# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Firewall-mark rules for IPVS firewall-mark services: model and two backends.

A :class:`MarkRule` says "packets to VIP, protocol, ports get mark N".  The rules
live in a place the collection owns alone and never touches anything else:

* nftables: the table ``inet lvs_fwmark`` (one prerouting chain at mangle
  priority).  Read with one ``nft -j list table``; written with one ``nft -f``
  transaction that re-creates the table (atomic: the kernel swaps it whole).
* iptables (legacy or nft variant): the chain ``LVS_FWMARK`` of the mangle
  table, jumped to from PREROUTING.  Read with one ``iptables-save -t mangle``;
  written with one ``iptables-restore --noflush`` whose ``:LVS_FWMARK`` line
  flushes only our chain (per address family: ip6tables for IPv6 rules).

Each backend renders a *dump* that restores the whole set, for persistence.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.lvs.cluster.plugins.module_utils.cluster import FWMARK_MAX, PROTOCOLS, checked_int

NFT_TABLE = 'lvs_fwmark'
NFT_FAMILY = 'inet'
NFT_CHAIN = 'prerouting'
IPT_CHAIN = 'LVS_FWMARK'
IPT_TABLE = 'mangle'
MAX_MULTIPORT = 15
_ENV = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}
BACKENDS = ('auto', 'nftables', 'iptables', 'iptables-legacy', 'iptables-nft')


class FwmarkError(Exception):
    def __init__(self, msg, **details):
        super(FwmarkError, self).__init__(msg)
        self.msg = msg
        self.details = details

    def fail_kwargs(self):
        result = {'msg': self.msg}
        result.update(self.details)
        return result


def _fail(field, value, why):
    raise FwmarkError('%s: %r %s' % (field, value, why))


class MarkRule(object):
    """Packets to address, protocol and ports get mark."""

    __slots__ = ('address', 'protocol', 'ports', 'mark')

    def __init__(self, address, protocol, ports, mark):
        self.address = address
        self.protocol = protocol
        self.ports = tuple(sorted(set(ports)))
        self.mark = mark

    @property
    def family(self):
        return self.address.version

    def key(self):
        return (self.address.version, int(self.address), self.protocol, self.ports, self.mark)

    def __eq__(self, other):
        return isinstance(other, MarkRule) and self.key() == other.key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        return 'MarkRule(%s %s %s -> %d)' % (self.address, self.protocol, self.ports, self.mark)

    def to_dict(self):
        return {'vip': str(self.address), 'protocol': self.protocol, 'ports': list(self.ports),
                'fwmark': self.mark}

    # nftables syntax
    def nft(self):
        proto = 'ip6' if self.family == 6 else 'ip'
        if len(self.ports) == 1:
            ports = '%d' % self.ports[0]
        else:
            ports = '{ %s }' % ', '.join('%d' % p for p in self.ports)
        return '%s daddr %s %s dport %s meta mark set 0x%08x' % (proto, self.address, self.protocol,
                                                                 ports, self.mark)

    # iptables-save syntax (what iptables-save prints back)
    def iptables(self):
        return '-A %s -d %s/%d -p %s -m multiport --dports %s -j MARK --set-xmark 0x%x/0xffffffff' % (
            IPT_CHAIN, self.address, self.address.max_prefixlen, self.protocol,
            ','.join('%d' % p for p in self.ports), self.mark)


def _int(field, value, low, high):
    return checked_int(field, value, low, high, FwmarkError)


def rule_from_dict(item, field):
    """A MarkRule from {vip, protocol, ports, fwmark} (the cluster model's names)."""
    if not isinstance(item, dict):
        _fail(field, item, 'must be a mapping with vip, ports and fwmark')
    vip = item.get('vip', item.get('address'))
    try:
        address = ipaddress.ip_address(str(vip).strip().strip('[]'))
    except ValueError:
        _fail(field + '.vip', vip, 'is not an IPv4 or IPv6 address')
    protocol = str(item.get('protocol') or 'tcp').lower()
    if protocol not in PROTOCOLS:
        _fail(field + '.protocol', item.get('protocol'), 'must be one of %s' % ', '.join(PROTOCOLS))
    ports = item.get('ports', item.get('port'))
    if ports is None or ports == []:
        _fail(field + '.ports', ports, 'must list at least one port')
    if not isinstance(ports, (list, tuple)):
        ports = [ports]
    ports = [_int('%s.ports[%d]' % (field, i), p, 1, 65535) for i, p in enumerate(ports)]
    if len(set(ports)) != len(ports):
        _fail(field + '.ports', ports, 'lists a port twice')
    if len(ports) > MAX_MULTIPORT:
        _fail(field + '.ports', ports, 'lists more than %d ports (iptables multiport limit)' % MAX_MULTIPORT)
    mark = _int(field + '.fwmark', item.get('fwmark', item.get('mark')), 1, FWMARK_MAX)
    return MarkRule(address, protocol, ports, mark)


def rules_from_services(services, field='services'):
    """The mark rules of the firewall-mark services of ``lvs.cluster.lvs_services`` output."""
    rules = []
    if not isinstance(services, (list, tuple)):
        _fail(field, services, 'must be a list (the output of lvs.cluster.lvs_services)')
    for i, svc in enumerate(services):
        if isinstance(svc, dict) and svc.get('fwmark') is not None:
            rules.append(rule_from_dict(svc, '%s[%s]' % (field, svc.get('name', i))))
    return rules


def check_conflicts(rules, field='rules'):
    """One VIP/protocol/port must not get two marks."""
    seen = {}
    for rule in rules:
        for port in rule.ports:
            key = (rule.address, rule.protocol, port)
            if key in seen and seen[key] != rule.mark:
                _fail(field, '%s %s/%d' % (rule.address, rule.protocol, port),
                      'gets two marks (%d and %d)' % (seen[key], rule.mark))
            seen[key] = rule.mark


def sort_rules(rules):
    return sorted(set(rules), key=MarkRule.key)


# -- nftables ----------------------------------------------------------------------

def nft_render(rules):
    """The table definition (what ``nft list table`` prints, near enough)."""
    lines = ['table %s %s {' % (NFT_FAMILY, NFT_TABLE),
             '\tchain %s {' % NFT_CHAIN,
             '\t\ttype filter hook prerouting priority mangle; policy accept;']
    lines.extend('\t\t%s' % rule.nft() for rule in sort_rules(rules))
    lines.extend(['\t}', '}'])
    return '\n'.join(lines) + '\n'


def nft_script(rules, present=True):
    """One nft -f transaction replacing our table (or deleting it)."""
    head = 'table %s %s\ndelete table %s %s\n' % (NFT_FAMILY, NFT_TABLE, NFT_FAMILY, NFT_TABLE)
    return head + (nft_render(rules) if present else '')


def nft_parse(text):
    """Rules from ``nft -j list table inet lvs_fwmark``; returns (rules, foreign_count).

    A rule we did not write (anything but daddr + dport + mark set) is counted
    as foreign: the table is ours alone, so such rules are stale and purged.
    """
    data = json.loads(text)
    rules, foreign = [], 0
    chains = 0
    for item in data.get('nftables', []):
        if 'chain' in item:
            chains += 1
            if item['chain'].get('name') != NFT_CHAIN:
                foreign += 1
        if 'rule' not in item:
            continue
        rule = _nft_rule(item['rule'].get('expr', []))
        if rule is None:
            foreign += 1
        else:
            rules.append(rule)
    if chains == 0:
        foreign += 1    # a table without our chain: rewrite it
    return rules, foreign


def _nft_rule(exprs):
    address = protocol = ports = mark = None
    for expr in exprs:
        if 'match' in expr:
            match = expr['match']
            payload = match.get('left', {}).get('payload') if isinstance(match.get('left'), dict) else None
            if match.get('op') not in ('==', 'in') or not payload:
                return None
            right = match.get('right')
            if payload.get('field') == 'daddr' and payload.get('protocol') in ('ip', 'ip6'):
                if not isinstance(right, str):
                    return None
                try:
                    address = ipaddress.ip_address(right)
                except ValueError:
                    return None
            elif payload.get('field') == 'dport' and payload.get('protocol') in PROTOCOLS:
                protocol = payload['protocol']
                if isinstance(right, int):
                    ports = [right]
                elif isinstance(right, dict) and isinstance(right.get('set'), list) \
                        and all(isinstance(p, int) for p in right['set']):
                    ports = right['set']
                else:
                    return None
            else:
                return None
        elif 'mangle' in expr:
            mangle = expr['mangle']
            if mangle.get('key') != {'meta': {'key': 'mark'}} or not isinstance(mangle.get('value'), int):
                return None
            mark = mangle['value']
        else:
            return None
    if None in (address, protocol, ports, mark):
        return None
    return MarkRule(address, protocol, ports, mark)


# -- iptables ------------------------------------------------------------------------

_IPT_RULE_RE = re.compile(r'^-A %s (.*)$' % IPT_CHAIN)


def ipt_parse(text, family):
    """From ``iptables-save -t mangle``: (chain exists, number of jumps, rules, foreign count)."""
    exists, jumps, rules, foreign = False, 0, [], 0
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith(':%s ' % IPT_CHAIN):
            exists = True
        elif line == '-A PREROUTING -j %s' % IPT_CHAIN:
            jumps += 1
        elif line.startswith('-A ') and line.endswith(' -j %s' % IPT_CHAIN) \
                and not line.startswith('-A %s ' % IPT_CHAIN):
            pass    # someone else's conditional jump to our chain: not ours to touch
        else:
            match = _IPT_RULE_RE.match(line)
            if match:
                rule = _ipt_rule(match.group(1).split(), family)
                if rule is None:
                    foreign += 1
                else:
                    rules.append(rule)
    return exists, jumps, rules, foreign


def _ipt_rule(tokens, family):
    address = protocol = ports = mark = None
    i = 0
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok == '-d':
                net = ipaddress.ip_network(tokens[i + 1], strict=False)
                if net.prefixlen != net.max_prefixlen:
                    return None
                address = net.network_address
                i += 2
            elif tok == '-p':
                protocol = tokens[i + 1]
                i += 2
            elif tok == '-m' and tokens[i + 1] in ('multiport', 'tcp', 'udp', 'sctp'):
                i += 2
            elif tok in ('--dports', '--dport', '--destination-ports', '--destination-port'):
                if ':' in tokens[i + 1]:
                    return None
                ports = [int(p) for p in tokens[i + 1].split(',')]
                i += 2
            elif tok == '-j' and tokens[i + 1] == 'MARK':
                i += 2
            elif tok in ('--set-xmark', '--set-mark'):
                value, _sep, mask = tokens[i + 1].partition('/')
                if mask and int(mask, 0) != 0xffffffff:
                    return None
                mark = int(value, 0)
                i += 2
            else:
                return None
    except (IndexError, ValueError):
        return None
    if None in (address, protocol, ports, mark) or protocol not in PROTOCOLS or address.version != family:
        return None
    return MarkRule(address, protocol, ports, mark)


def ipt_restore(rules, state, family, present=True):
    """The iptables-restore --noflush input turning *state* (from ipt_parse) into *rules*.

    Returns None when nothing is to do.
    """
    exists, jumps, current, foreign = state
    want = sort_rules(r for r in rules if r.family == family)
    if present:
        if exists and jumps == 1 and not foreign and current == want:
            return None
        lines = ['*%s' % IPT_TABLE, ':%s - [0:0]' % IPT_CHAIN]   # declares, or flushes ours
        lines.extend(rule.iptables() for rule in want)
        if jumps == 0:
            lines.append('-I PREROUTING 1 -j %s' % IPT_CHAIN)
        for _extra in range(max(0, jumps - 1)):
            lines.append('-D PREROUTING -j %s' % IPT_CHAIN)
    else:
        if not exists and not jumps:
            return None
        lines = ['*%s' % IPT_TABLE]
        for _jump in range(jumps):
            lines.append('-D PREROUTING -j %s' % IPT_CHAIN)
        if exists:
            lines.extend([':%s - [0:0]' % IPT_CHAIN, '-X %s' % IPT_CHAIN])
    lines.append('COMMIT')
    return '\n'.join(lines) + '\n'


def ipt_dump(rules, family):
    """A file for ``iptables-restore --noflush`` restoring our chain at boot."""
    lines = ['*%s' % IPT_TABLE, ':%s - [0:0]' % IPT_CHAIN]
    lines.extend(rule.iptables() for rule in sort_rules(r for r in rules if r.family == family))
    # for boot, on a ruleset without our jump (restoring it twice on a live
    # host would add a second jump: the fwmark module removes extra jumps)
    lines.append('-I PREROUTING 1 -j %s' % IPT_CHAIN)
    lines.append('COMMIT')
    return '\n'.join(lines) + '\n'


def ipt_render(rules, family):
    """Our chain as iptables-save prints it (for diffs)."""
    return ''.join(r.iptables() + '\n' for r in sort_rules(r for r in rules if r.family == family))


# -- running the tools ------------------------------------------------------------

_NFT_PACKAGE = 'nftables'
_IPT_PACKAGE = 'iptables'


class Runner(object):
    """Finds and runs nft / iptables-save / iptables-restore for one module call."""

    def __init__(self, module):
        self.module = module

    def _bin(self, name, package, required=True):
        path = self.module.get_bin_path(name)
        if not path and required:
            raise FwmarkError('%s was not found on the target: install the package %s' % (name, package))
        return path

    def run(self, cmd, data=None, ok_rcs=(0,)):
        rc, out, err = self.module.run_command(cmd, data=data, binary_data=False,
                                               environ_update=_ENV, check_rc=False)
        if rc not in ok_rcs:
            raise FwmarkError('%s failed (rc=%d): %s' % (' '.join(cmd), rc, (err or out).strip()),
                              rc=rc, stdout=out, stderr=err, cmd=cmd)
        return rc, out, err

    # nftables
    def nft_read(self):
        nft = self._bin('nft', _NFT_PACKAGE)
        rc, out, err = self.run([nft, '-j', 'list', 'table', NFT_FAMILY, NFT_TABLE], ok_rcs=(0, 1))
        if rc == 1:
            if 'No such file or directory' in err or 'does not exist' in err:
                return None
            if 'Operation not supported' in err or 'Protocol not supported' in err:
                raise FwmarkError('nftables is not available in this kernel (inet tables): '
                                  'use backend iptables-legacy', rc=rc, stderr=err)
            raise FwmarkError('nft list table failed (rc=%d): %s' % (rc, err.strip()), rc=rc, stderr=err)
        return out

    def nft_write(self, script):
        nft = self._bin('nft', _NFT_PACKAGE)
        # run_command appends the final newline
        self.run([nft, '-f', '-'], data=script.rstrip('\n'))

    def nft_usable(self, script):
        nft = self._bin('nft', _NFT_PACKAGE, required=False)
        if not nft:
            return False
        # any failure means no: rc 1 when the kernel refuses the table (no inet family),
        # rc 3 when it has no nf_tables at all (the UML lab: "Unable to initialize
        # Netlink socket: Protocol not supported")
        rc, _out, _err = self.module.run_command([nft, '-c', '-f', '-'], data=script.rstrip('\n'),
                                                 binary_data=False, environ_update=_ENV, check_rc=False)
        return rc == 0

    # iptables
    def ipt_tools(self, variant, family):
        prefix = 'ip6tables' if family == 6 else 'iptables'
        suffix = '' if variant == 'iptables' else '-' + variant.split('-', 1)[1]
        save = self._bin('%s%s-save' % (prefix, suffix), _IPT_PACKAGE)
        restore = self._bin('%s%s-restore' % (prefix, suffix), _IPT_PACKAGE)
        return save, restore

    def ipt_read(self, variant, family):
        save, _restore = self.ipt_tools(variant, family)
        _rc, out, _err = self.run([save, '-t', IPT_TABLE])
        return out

    def ipt_write(self, variant, family, data):
        _save, restore = self.ipt_tools(variant, family)
        self.run([restore, '--noflush'], data=data.rstrip('\n'))
