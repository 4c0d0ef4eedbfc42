#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: fwmark
short_description: Firewall-mark rules for IPVS firewall-mark services (nftables or iptables)
version_added: 0.1.0
description:
  - Marks packets to a VIP, protocol and ports with a firewall mark, so that one IPVS
    firewall-mark service (M(lvs.cluster.ipvs_service) with C(fwmark)) handles several ports,
    for example HTTP and HTTPS with persistence across both.
  - The rules live where the module is alone and never touch anything else. With nftables, the
    table C(inet lvs_fwmark) (chain C(prerouting), hook prerouting, priority mangle), replaced
    whole in one C(nft -f) transaction. With iptables, the chain C(LVS_FWMARK) of the C(mangle)
    table, jumped to from the top of C(PREROUTING), rewritten in one
    C(iptables-restore --noflush) (per address family).
  - Rules in that table or chain that are not wanted are removed (O(purge)).
author:
  - lvs.cluster maintainers (@lvs-cluster)
requirements:
  - nft (package C(nftables)) or iptables-save/iptables-restore (package C(iptables))
attributes:
  check_mode:
    support: full
    description: Computes the change without applying it (O(path) is not written either).
  diff_mode:
    support: full
    description: Shows the table (nft syntax) or chain (iptables-save syntax) before and after.
options:
  rules:
    description: The mark rules.
    type: list
    elements: dict
    suboptions:
      vip:
        description: Destination address (IPv4 or IPv6).
        type: str
        required: true
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp, sctp]
        default: tcp
      ports:
        description: Destination ports (at most 15).
        type: list
        elements: int
        required: true
      fwmark:
        description: The mark to set (1 to 4294967295).
        type: int
        required: true
  services:
    description:
      - The output of C(lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)); the
        services with a C(fwmark) become rules (their C(vip), C(protocol), C(ports), C(fwmark)).
      - Added to O(rules).
    type: list
    elements: dict
  backend:
    description:
      - V(nftables), V(iptables) (whatever C(iptables-save) is on the host), V(iptables-legacy)
        or V(iptables-nft).
      - V(auto) uses nftables when the kernel accepts the table (checked with C(nft -c)), else
        iptables-legacy when installed, else iptables. The choice is returned in RV(backend).
    type: str
    choices: [auto, nftables, iptables, iptables-legacy, iptables-nft]
    default: auto
  state:
    description:
      - V(present) - the listed rules are in place.
      - V(absent) - the listed rules are removed; with no rule listed, the whole table
        (nftables) or chain and its jump (iptables) is removed.
    type: str
    choices: [present, absent]
    default: present
  purge:
    description: With V(present), remove the rules of our table or chain that are not listed.
    type: bool
    default: true
  path:
    description:
      - Also write the resulting rule set to this file, atomically, for restoring at boot
        (C(nft -f PATH) for nftables; C(iptables-restore --noflush PATH) for iptables, IPv4 rules
        only). The file is rewritten only when its content differs.
      - The director role uses it; persistence at boot is its job, not this module's.
    type: path
notes:
  - With iptables, IPv6 rules go through ip6tables and are read and written only when the call
    has IPv6 rules; stale IPv6 rules are not purged by a call without IPv6 rules.
  - The user-mode-linux test lab has no nftables inet support; its directors use
    V(iptables-legacy).
  - Tested on Debian 12 (nftables 1.0.6, iptables 1.8.9 legacy and nft).
seealso:
  - module: lvs.cluster.ipvs_service
'''

EXAMPLES = r'''
- name: HTTP and HTTPS of the www VIP to mark 1
  lvs.cluster.fwmark:
    rules:
      - vip: 198.51.100.100
        ports: [80, 443]
        fwmark: 1

- name: Every firewall-mark service of the cluster model, kept for boot
  lvs.cluster.fwmark:
    services: "{{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) }}"
    backend: iptables-legacy
    path: /etc/lvs/fwmark.rules

- name: Remove every mark rule of the collection
  lvs.cluster.fwmark:
    state: absent
'''

RETURN = r'''
backend:
  description: The backend used.
  returned: always
  type: str
  sample: nftables
rules:
  description: The rules in place after the call (as they would be in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{vip: 198.51.100.100, protocol: tcp, ports: [80, 443], fwmark: 1}]
dump:
  description: The rule set as a file that restores it (what O(path) receives).
  returned: always
  type: str
  sample: |
    table inet lvs_fwmark
    delete table inet lvs_fwmark
    table inet lvs_fwmark {
      chain prerouting {
        type filter hook prerouting priority mangle; policy accept;
        ip daddr 198.51.100.100 tcp dport { 80, 443 } meta mark set 0x00000001
      }
    }
commands:
  description: The input given to C(nft -f) or C(iptables-restore --noflush) (would be, in check mode).
  returned: always
  type: list
  elements: str
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import fwmark as fw


def desired_rules(params):
    rules = []
    for i, item in enumerate(params.get('rules') or []):
        rules.append(fw.rule_from_dict(item, 'rules[%d]' % i))
    if params.get('services'):
        rules.extend(fw.rules_from_services(params['services']))
    fw.check_conflicts(rules)
    return rules


def choose_backend(runner, wanted, rules):
    if wanted != 'auto':
        return wanted
    if runner.nft_usable(fw.nft_script(rules)):
        return 'nftables'
    if runner.module.get_bin_path('iptables-legacy-save'):
        return 'iptables-legacy'
    return 'iptables'


def _target(current, listed, state, purge, remove_all):
    if remove_all:
        return []
    if state == 'absent':
        drop = set(listed)
        return [r for r in current if r not in drop]
    if purge:
        return listed
    return list(current) + [r for r in listed if r not in set(current)]


def run_nftables(runner, listed, state, purge, remove_all, check_mode):
    text = runner.nft_read()
    exists = text is not None
    current, foreign = fw.nft_parse(text) if exists else ([], 0)
    target = fw.sort_rules(_target(current, listed, state, purge, remove_all))
    if remove_all or (state == 'absent' and not target and not foreign):
        script = fw.nft_script([], present=False) if exists else None
        after_text = ''
    else:
        same = exists and not foreign and fw.sort_rules(current) == target
        script = None if same else fw.nft_script(target)
        after_text = fw.nft_render(target)
    if script and not check_mode:
        runner.nft_write(script)
    before_text = fw.nft_render(current) if exists else ''
    return dict(target=target, commands=[script] if script else [], before=before_text,
                after=after_text, dump=fw.nft_script(target) if after_text else '')


def run_iptables(runner, variant, listed, state, purge, remove_all, check_mode):
    families = [4]
    if any(r.family == 6 for r in listed):
        families.append(6)
    commands, before, after, target_all = [], '', '', []
    for family in families:
        state_f = fw.ipt_parse(runner.ipt_read(variant, family), family)
        current = state_f[2]
        listed_f = [r for r in listed if r.family == family]
        target = fw.sort_rules(_target(current, listed_f, state, purge, remove_all))
        present = not (remove_all or (state == 'absent' and not target and not state_f[3]))
        data = fw.ipt_restore(target, state_f, family, present=present)
        if data:
            commands.append(data)
            if not check_mode:
                runner.ipt_write(variant, family, data)
        before += fw.ipt_render(current, family)
        after += fw.ipt_render(target, family) if present else ''
        target_all.extend(target if present else [])
    return dict(target=target_all, commands=commands, before=before, after=after,
                dump=fw.ipt_dump(target_all, 4) if after else '')


def write_file(module, path, content):
    """Write *content* to *path* atomically; return True when it changed."""
    try:
        with open(path) as handle:
            if handle.read() == content:
                return False
    except (IOError, OSError):
        pass
    if module.check_mode:
        return True
    directory = os.path.dirname(path) or '.'
    if not os.path.isdir(directory):
        module.fail_json(msg='path: %r: directory %s does not exist' % (path, directory))
    fd, tmp = tempfile.mkstemp(prefix='.lvs_fwmark.', dir=directory)
    with os.fdopen(fd, 'w') as handle:
        handle.write(content)
    os.chmod(tmp, 0o644)
    module.atomic_move(tmp, path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            rules=dict(type='list', elements='dict', options=dict(
                vip=dict(type='str', required=True),
                protocol=dict(type='str', choices=['tcp', 'udp', 'sctp'], default='tcp'),
                ports=dict(type='list', elements='int', required=True),
                fwmark=dict(type='int', required=True),
            )),
            services=dict(type='list', elements='dict'),
            backend=dict(type='str', choices=list(fw.BACKENDS), default='auto'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            purge=dict(type='bool', default=True),
            path=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        listed = desired_rules(p)
        remove_all = p['state'] == 'absent' and not listed
        runner = fw.Runner(module)
        backend = choose_backend(runner, p['backend'], listed)
        if backend == 'nftables':
            outcome = run_nftables(runner, listed, p['state'], p['purge'], remove_all, module.check_mode)
        else:
            outcome = run_iptables(runner, backend, listed, p['state'], p['purge'], remove_all,
                                   module.check_mode)
    except fw.FwmarkError as exc:
        module.fail_json(**exc.fail_kwargs())

    changed = bool(outcome['commands'])
    if p['path']:
        changed = write_file(module, p['path'], outcome['dump']) or changed
    result = dict(changed=changed, backend=backend, commands=outcome['commands'],
                  rules=[r.to_dict() for r in outcome['target']], dump=outcome['dump'])
    if module._diff:
        result['diff'] = dict(before=outcome['before'], after=outcome['after'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
