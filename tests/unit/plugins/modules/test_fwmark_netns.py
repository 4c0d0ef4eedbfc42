# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fwmark module on the real kernel, inside throw-away network namespaces.

No stand-in: the module runs as Ansible runs it on a target (``python -m`` with
its arguments file) under ``ip netns exec``, with the real nft,
iptables-legacy and iptables-nft.  Addresses: 198.51.100.192/27 only (veth
pair between two namespaces, no route anywhere).  A packet sent to the VIP
must carry the mark when the kernel sees it: a counter in an observer table
of the receiving namespace proves it.

Needs root and ``ip netns`` (CI runs as root); skipped otherwise.
Run alone: ``make modules-nft-test``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='needs root for ip netns'),
    pytest.mark.skipif(not shutil.which('ip') or not shutil.which('nft'), reason='needs iproute2 and nftables'),
]

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'build', 'collections'))
CLIENT_IP, ROUTER_IP, VIP = '198.51.100.193', '198.51.100.194', '198.51.100.200'


def sh(*cmd, check=True, data=None):
    proc = subprocess.run(list(cmd), input=data, capture_output=True, text=True, timeout=60, check=False)
    if check and proc.returncode != 0:
        raise AssertionError('%s: rc=%d %s' % (' '.join(cmd), proc.returncode, proc.stderr))
    return proc


@pytest.fixture
def netns(tmp_path):
    """Two namespaces joined by a veth pair: the client and the director (which holds the VIP)."""
    tag = uuid.uuid4().hex[:6]
    client, director = 'lvsfw-c-' + tag, 'lvsfw-d-' + tag
    sh('ip', 'netns', 'add', client)
    sh('ip', 'netns', 'add', director)
    try:
        sh('ip', 'link', 'add', 'fwc' + tag, 'netns', client, 'type', 'veth', 'peer', 'name', 'fwd' + tag,
           'netns', director)
        sh('ip', '-n', client, 'addr', 'add', CLIENT_IP + '/27', 'dev', 'fwc' + tag)
        sh('ip', '-n', director, 'addr', 'add', ROUTER_IP + '/27', 'dev', 'fwd' + tag)
        sh('ip', '-n', director, 'addr', 'add', VIP + '/32', 'dev', 'lo')
        for ns, dev in ((client, 'fwc' + tag), (director, 'fwd' + tag)):
            sh('ip', '-n', ns, 'link', 'set', 'lo', 'up')
            sh('ip', '-n', ns, 'link', 'set', dev, 'up')
        sh('ip', '-n', client, 'route', 'add', VIP + '/32', 'via', ROUTER_IP)
        yield {'client': client, 'director': director, 'tmp': tmp_path}
    finally:
        sh('ip', 'netns', 'del', client, check=False)
        sh('ip', 'netns', 'del', director, check=False)


def run(ns, args, check_mode=False, diff=False):
    """Run the module in namespace *ns* the way Ansible does on a target."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    path = ns['tmp'] / ('args-%s.json' % uuid.uuid4().hex[:6])
    path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run(['ip', 'netns', 'exec', ns['director'], sys.executable, '-m',
                           'ansible_collections.lvs.cluster.plugins.modules.fwmark', str(path)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout)


def in_ns(ns, *cmd, check=True):
    return sh('ip', 'netns', 'exec', ns['director'], *cmd, check=check)


def observe(ns):
    """An nft table of our own in the director counting packets by mark, after mangle."""
    sh('ip', 'netns', 'exec', ns['director'], 'nft', '-f', '-', data=(
        'table inet observe {\n chain pre {\n  type filter hook prerouting priority 10; policy accept;\n'
        '  meta mark 0x1 counter\n  meta mark 0x2 counter\n }\n}\n'))


def counters(ns):
    out = in_ns(ns, 'nft', '-j', 'list', 'table', 'inet', 'observe').stdout
    result = {}
    for item in json.loads(out)['nftables']:
        if 'rule' in item:
            exprs = item['rule']['expr']
            mark = exprs[0]['match']['right']
            result[mark] = exprs[1]['counter']['packets']
    return result


def knock(ns, port, proto='tcp'):
    """Send packets from the client to VIP:port (nothing listens: refused is fine)."""
    code = ('import socket,sys\n'
            's=socket.socket(socket.AF_INET, socket.SOCK_%s)\ns.settimeout(1)\n'
            'try:\n s.connect((%r, %d)); s.send(b"x")\nexcept OSError: pass\n') % (
        'STREAM' if proto == 'tcp' else 'DGRAM', VIP, port)
    sh('ip', 'netns', 'exec', ns['client'], sys.executable, '-c', code)


WWW = {'vip': VIP, 'ports': [80, 443], 'fwmark': 1}
DNS = {'vip': VIP, 'protocol': 'udp', 'ports': [53], 'fwmark': 2}


def test_nftables_marks_real_packets(netns):
    first = run(netns, {'rules': [WWW, DNS], 'backend': 'nftables'})
    assert first['changed'] and first['backend'] == 'nftables'
    listing = in_ns(netns, 'nft', 'list', 'table', 'inet', 'lvs_fwmark').stdout
    assert 'ip daddr 198.51.100.200 tcp dport { 80, 443 } meta mark set 0x00000001' in listing
    assert run(netns, {'rules': [WWW, DNS], 'backend': 'nftables'})['changed'] is False

    observe(netns)
    knock(netns, 80)
    knock(netns, 443)
    knock(netns, 53, 'udp')
    knock(netns, 8080)          # not marked
    seen = counters(netns)
    assert seen[1] >= 2 and seen[2] >= 1, seen


def test_nftables_check_mode_purge_and_others_untouched(netns):
    in_ns(netns, 'nft', 'add', 'table', 'inet', 'someone_else')
    run(netns, {'rules': [WWW, DNS], 'backend': 'nftables'})
    # a stale rule slipped into our table is purged; check mode first changes nothing
    in_ns(netns, 'nft', 'add', 'rule', 'inet', 'lvs_fwmark', 'prerouting', 'ip', 'saddr', CLIENT_IP,
          'meta', 'mark', 'set', '9')
    before = in_ns(netns, 'nft', 'list', 'table', 'inet', 'lvs_fwmark').stdout
    check = run(netns, {'rules': [WWW], 'backend': 'nftables'}, check_mode=True, diff=True)
    assert check['changed'] and 'udp dport 53' in check['diff']['before']
    assert 'udp dport 53' not in check['diff']['after']
    assert in_ns(netns, 'nft', 'list', 'table', 'inet', 'lvs_fwmark').stdout == before
    real = run(netns, {'rules': [WWW], 'backend': 'nftables'})
    after = in_ns(netns, 'nft', 'list', 'table', 'inet', 'lvs_fwmark').stdout
    assert real['changed'] and 'saddr' not in after and 'udp dport 53' not in after
    assert 'someone_else' in in_ns(netns, 'nft', 'list', 'tables').stdout
    gone = run(netns, {'state': 'absent', 'backend': 'nftables'})
    assert gone['changed'] and 'lvs_fwmark' not in in_ns(netns, 'nft', 'list', 'tables').stdout
    assert 'someone_else' in in_ns(netns, 'nft', 'list', 'tables').stdout


@pytest.mark.parametrize('variant', ['iptables-legacy', 'iptables-nft'])
def test_iptables_variants(netns, variant):
    if not shutil.which(variant + '-save'):
        pytest.skip('%s not installed' % variant)
    save = variant + '-save'
    # someone else's rule in PREROUTING must survive everything we do
    in_ns(netns, variant, '-t', 'mangle', '-A', 'PREROUTING', '-p', 'icmp', '-j', 'ACCEPT')
    first = run(netns, {'rules': [WWW, DNS], 'backend': variant})
    assert first['changed'] and first['backend'] == variant
    text = in_ns(netns, save, '-t', 'mangle').stdout
    assert '-A PREROUTING -j LVS_FWMARK' in text
    assert '-A LVS_FWMARK -d 198.51.100.200/32 -p tcp -m multiport --dports 80,443 -j MARK --set-xmark 0x1/0xffffffff' in text
    assert run(netns, {'rules': [WWW, DNS], 'backend': variant})['changed'] is False

    observe(netns)
    knock(netns, 443)
    knock(netns, 53, 'udp')
    seen = counters(netns)
    assert seen[1] >= 1 and seen[2] >= 1, seen

    fewer = run(netns, {'rules': [WWW], 'backend': variant}, diff=True)
    assert fewer['changed'] and '--dports 53' in fewer['diff']['before']
    text = in_ns(netns, save, '-t', 'mangle').stdout
    assert '--dports 53' not in text and '-A PREROUTING -p icmp -j ACCEPT' in text
    assert text.count('-j LVS_FWMARK') == 1
    gone = run(netns, {'state': 'absent', 'backend': variant})
    text = in_ns(netns, save, '-t', 'mangle').stdout
    assert gone['changed'] and 'LVS_FWMARK' not in text and '-A PREROUTING -p icmp -j ACCEPT' in text


def test_auto_picks_nftables_on_this_kernel(netns):
    result = run(netns, {'rules': [WWW]})
    assert result['backend'] == 'nftables' and result['changed']


def test_path_file_restores_the_rules(netns):
    path = netns['tmp'] / 'fwmark.rules'
    run(netns, {'rules': [WWW], 'backend': 'nftables', 'path': str(path)})
    in_ns(netns, 'nft', 'delete', 'table', 'inet', 'lvs_fwmark')
    in_ns(netns, 'nft', '-f', str(path))           # what the boot unit does
    assert run(netns, {'rules': [WWW], 'backend': 'nftables', 'path': str(path)})['changed'] is False
    in_ns(netns, 'nft', '-f', str(path))           # twice is harmless: the file replaces the table
    assert run(netns, {'rules': [WWW], 'backend': 'nftables'})['changed'] is False
