# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for the module tests: run a module's main() and a stand-in for the tools.

The build host has no IPVS, so these tests give the modules a stand-in for
ipvsadm that keeps a table and answers -Sn/-R/-L like ipvsadm 1.31 (it is built
on the parser under test, so it only checks the modules' logic: what they read,
what they write, how often, and when).  Real-kernel behaviour is covered by the
lab scenario molecule/ipvs_modules and, for nftables/iptables, by
tests/integration/test_fwmark_netns.py.
"""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs


class FakeIpvsadm(object):
    """Keeps an IPVS table; answers the commands ipvsadm.py runs; records them."""

    def __init__(self, save_text='', bins=None):
        self.table = ipvs.parse_save(save_text)
        self.calls = []
        self.active = {}          # (service key, rs key) -> active connections, or a list to pop
        self.daemons = {}
        self.bins = {'ipvsadm': '/usr/sbin/ipvsadm'} if bins is None else bins
        self.fail_with = None     # (rc, stdout, stderr) for every command

    # what AnsibleModule.run_command would do
    def run_command(self, args, data=None, **_kwargs):
        self.calls.append((list(args), data))
        if self.fail_with:
            return self.fail_with
        tool, rest = args[0], list(args[1:])
        if not tool.endswith('ipvsadm'):
            raise AssertionError('unexpected tool %r' % tool)
        if rest == ['-S', '-n']:
            return 0, ipvs.render(self.table.values()), ''
        if rest == ['-R'] and data == '-S -n\n-L -n --thresholds':
            return 0, self._read(), ''
        if rest == ['-R']:
            return self._restore(data)
        if rest == ['-L', '-n']:
            return 0, self._listing(), ''
        if rest[:2] == ['-L', '-n'] and ('--stats' in rest or '--rate' in rest):
            return 0, self._counters(), ''
        if rest == ['-L', '-n', '-c']:
            return 0, 'IPVS connection entries\npro expire state       source             virtual            destination\n', ''
        if rest == ['-L', '-n', '--daemon']:
            return 0, ''.join('%s sync daemon (mcast=%s, syncid=%d)\n' % (r, d[0], d[1])
                              for r, d in sorted(self.daemons.items())), ''
        if rest[:1] == ['--start-daemon']:
            self.daemons[rest[1]] = (rest[3], int(rest[5]))
            return 0, '', ''
        if rest[:1] == ['--stop-daemon']:
            self.daemons.pop(rest[1], None)
            return 0, '', ''
        raise AssertionError('unexpected ipvsadm call %r' % (args,))

    @property
    def ipvsadm_calls(self):
        return [c for c in self.calls if c[0][0].endswith('ipvsadm')]

    def reads(self):
        return [c for c in self.ipvsadm_calls if (c[0][1:] != ['-R'] or c[1].startswith('-S'))
                and '--start-daemon' not in c[0] and '--stop-daemon' not in c[0]]

    def writes(self):
        return [c for c in self.ipvsadm_calls if c[0][1:] == ['-R'] and not c[1].startswith('-S')]

    def _read(self):
        """What ipvsadm 1.31 prints for -S -n then -L -n --thresholds (no -x/-y in -S)."""
        saved = []
        for svc in self.table.values():
            saved.append(svc.rule('-A'))
            for rs in svc.sorted_real_servers():
                line = '-a %s -r %s %s -w %d' % (svc.spec(), ipvs.format_hostport(rs.address, rs.port),
                                                 {'dr': '-g', 'tun': '-i', 'nat': '-m'}[rs.forwarding], rs.weight)
                saved.append(line + (' --tun-type ipip' if rs.forwarding == 'tun' else ''))
        listing = ['IP Virtual Server version 1.2.1 (size=4096)',
                   'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn ',
                   '  -> RemoteAddress:Port']
        for svc in self.table.values():
            listing.append('%s %s' % (svc.label().replace(' ', '  ', 1), svc.scheduler))
            for rs in svc.sorted_real_servers():
                listing.append('  -> %-28s %-10d %-10d %-10d %-10d' % (
                    ipvs.format_hostport(rs.address, rs.port), rs.upper_threshold, rs.lower_threshold,
                    0, 0))
        return '\n'.join(saved + listing) + '\n'

    def _restore(self, data):
        for line in data.splitlines():
            if not line.strip():
                return 1, '', 'blank line in ipvsadm -R input'
            cmd, rest = line.split(' ', 1)
            if cmd in ('-A', '-E'):
                svc = next(iter(ipvs.parse_save('-A ' + rest).values()))
                if cmd == '-A' and svc.key in self.table:
                    return 1, '', 'Service already exists'
                if cmd == '-E':
                    svc.real_servers = self.table[svc.key].real_servers
                self.table[svc.key] = svc
                continue
            if cmd == '-D':
                svc = next(iter(ipvs.parse_save('-A ' + rest + ' -s rr').values()))
                del self.table[svc.key]
                continue
            tokens = rest.split()
            spec, _i = ipvs._parse_service_spec(tokens, 0, line)
            key = ('fwmark', spec['family'], spec['fwmark']) if 'fwmark' in spec else \
                (spec['protocol'], spec['address'], spec['port'])
            svc = self.table[key]
            if cmd == '-d':
                address, port = ipvs.split_hostport(tokens[tokens.index('-r') + 1])
                del svc.real_servers[(address, port)]
            else:
                probe = ipvs.parse_save(svc.rule('-A') + '\n-a ' + rest)[key]
                (rkey, rs), = probe.real_servers.items()
                if cmd == '-a' and rkey in svc.real_servers:
                    return 1, '', 'Destination already exists'
                svc.real_servers[rkey] = rs
        return 0, '', ''

    def _active(self, skey, rkey):
        value = self.active.get((skey, rkey), 0)
        if isinstance(value, list):
            return value.pop(0) if len(value) > 1 else value[0]
        return value

    def _listing(self):
        lines = ['IP Virtual Server version 1.2.1 (size=4096)',
                 'Prot LocalAddress:Port Scheduler Flags',
                 '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn']
        names = {'dr': 'Route', 'tun': 'Tunnel', 'nat': 'Masq'}
        for svc in self.table.values():
            lines.append('%s %s' % (svc.label().replace(' ', '  ', 1), svc.scheduler))
            for rs in svc.sorted_real_servers():
                lines.append('  -> %-28s %-7s %-6d %-10d %-10d' % (
                    ipvs.format_hostport(rs.address, rs.port), names[rs.forwarding], rs.weight,
                    self._active(svc.key, rs.key), 0))
        return '\n'.join(lines) + '\n'

    def _counters(self):
        lines = ['IP Virtual Server version 1.2.1 (size=4096)',
                 'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
                 '  -> RemoteAddress:Port']
        for svc in self.table.values():
            lines.append('%-33s %8d %8d %8d %8d %8d' % (svc.label().replace(' ', '  ', 1), 7, 70, 0, 7000, 0))
            for rs in svc.sorted_real_servers():
                lines.append('  -> %-28s %8d %8d %8d %8d %8d' % (
                    ipvs.format_hostport(rs.address, rs.port), 7, 70, 0, 7000, 0))
        return '\n'.join(lines) + '\n'


@pytest.fixture
def fake(monkeypatch):
    tool = FakeIpvsadm()
    monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                        lambda self, args, **kw: tool.run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, required=False, opt_dirs=None: tool.bins.get(name))
    return tool


@pytest.fixture
def run_module(capsys):
    """run_module(main, args, check=False, diff=False) -> the module's result dict."""
    def _run(main, args, check=False, diff=False):
        args = dict(args)
        args.update(_ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                main()
        out = capsys.readouterr().out
        return json.loads(out)
    return _run
