#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ipvs_sync_daemon
short_description: Start or stop the IPVS connection synchronisation daemon
version_added: 0.1.0
description:
  - Starts or stops the kernel's IPVS connection sync daemon in V(master) or V(backup) role
    (C(ipvsadm --start-daemon/--stop-daemon)), so that a backup director knows the open
    connections when it takes over.
  - A running daemon with another interface or syncid is stopped and started again.
author:
  - lvs.cluster maintainers (@lvs-cluster)
requirements:
  - ipvsadm (the C(ipvsadm) package) on the target
  - a kernel with IPVS (C(ip_vs) module)
attributes:
  check_mode:
    support: full
    description: Computes the change without applying it.
  diff_mode:
    support: full
    description: Shows the daemon before and after as C(ipvsadm -Ln --daemon) prints it.
options:
  role:
    description: The daemon to manage; a director can run both (master and backup).
    type: str
    choices: [master, backup]
    required: true
  interface:
    description: Interface to send (master) or receive (backup) the multicast sync messages on.
    type: str
  syncid:
    description: Sync ID (0 to 255); a backup only accepts messages with its own ID (0 = any).
    type: int
    default: 0
  state:
    description: V(started) or V(stopped).
    type: str
    choices: [started, stopped]
    default: started
notes:
  - The daemon does not survive a reboot; keepalived's C(lvs_sync_daemon) or the director
    role starts it at boot.
seealso:
  - module: lvs.cluster.ipvs_info
'''

EXAMPLES = r'''
- name: Master on the active director
  lvs.cluster.ipvs_sync_daemon:
    role: master
    interface: eth0
    syncid: 10

- name: Backup on both (the one that becomes active has the connections)
  lvs.cluster.ipvs_sync_daemon:
    role: backup
    interface: eth0
    syncid: 10

- name: Stop the master daemon
  lvs.cluster.ipvs_sync_daemon:
    role: master
    state: stopped
'''

RETURN = r'''
daemons:
  description: The sync daemons running after the call (as they would be in check mode).
  returned: always
  type: dict
  sample: {master: {interface: eth0, syncid: 10}, backup: {interface: eth0, syncid: 10}}
commands:
  description: The ipvsadm argument lists run (or that would be run in check mode).
  returned: always
  type: list
  elements: list
  sample: [["--start-daemon", "master", "--mcast-interface", "eth0", "--syncid", "10"]]
'''

import copy
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils.ipvsadm import Ipvsadm, IpvsadmError

_IFNAME = re.compile(r'^[A-Za-z0-9_.:@-]{1,15}$')


def _show(daemons):
    return ''.join('%s sync daemon (mcast=%s, syncid=%s)\n' % (role, d.get('interface'), d.get('syncid'))
                   for role, d in sorted(daemons.items()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            role=dict(type='str', choices=['master', 'backup'], required=True),
            interface=dict(type='str'),
            syncid=dict(type='int', default=0),
            state=dict(type='str', choices=['started', 'stopped'], default='started'),
        ),
        required_if=[('state', 'started', ('interface',))],
        supports_check_mode=True,
    )
    p = module.params
    if p['syncid'] < 0 or p['syncid'] > 255:
        module.fail_json(msg='syncid: %r must be an integer from 0 to 255' % p['syncid'])
    if p['interface'] is not None and not _IFNAME.match(p['interface']):
        module.fail_json(msg='interface: %r is not an interface name' % p['interface'])
    role = p['role']
    try:
        adm = Ipvsadm(module)
        before = adm.daemons()
        after = copy.deepcopy(before)
        commands = []
        running = before.get(role)
        if p['state'] == 'stopped':
            if running is not None:
                commands.append(['--stop-daemon', role])
                after.pop(role)
        else:
            want = {'interface': p['interface'], 'syncid': p['syncid']}
            if running is None or running.get('interface') != want['interface'] \
                    or running.get('syncid') != want['syncid']:
                if running is not None:
                    commands.append(['--stop-daemon', role])
                commands.append(['--start-daemon', role, '--mcast-interface', p['interface'],
                                 '--syncid', str(p['syncid'])])
                after[role] = want
        if commands and not module.check_mode:
            for cmd in commands:
                if cmd[0] == '--stop-daemon':
                    adm.stop_daemon(cmd[1])
                else:
                    adm.start_daemon(role, p['interface'], p['syncid'])
    except IpvsadmError as exc:
        module.fail_json(**exc.fail_kwargs())
    result = dict(changed=bool(commands), commands=commands, daemons=after)
    if module._diff:
        result['diff'] = dict(before=_show(before), after=_show(after))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
