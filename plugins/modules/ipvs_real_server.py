#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ipvs_real_server
short_description: Manage one real server of an IPVS virtual service (add, change, drain, remove)
version_added: 0.1.0
description:
  - Adds, changes, drains or removes one real server of an existing IPVS virtual service, like
    C(ipvsadm -a/-e/-d), leaving the other real servers alone.
  - V(drained) sets the weight to 0 so that no new connection goes to the server while the
    open ones finish; with O(wait=true) the module waits until the server has no active
    connection left, or fails after O(wait_timeout) seconds.
  - One C(ipvsadm -Sn) read and at most one C(ipvsadm -R) write per call (plus one
    C(ipvsadm -Ln) per poll while waiting for a drain).
author:
  - lvs.cluster maintainers (@lvs-cluster)
requirements:
  - ipvsadm (the C(ipvsadm) package) on the target
  - a kernel with IPVS (C(ip_vs) module)
attributes:
  check_mode:
    support: full
    description: Computes the change without applying it; does not wait.
  diff_mode:
    support: full
    description: Shows the real server line before and after in C(ipvsadm -S) syntax.
options:
  vip:
    description: Virtual IP address of the address service the real server belongs to.
    type: str
  port:
    description: Port of the address service (with O(vip)).
    type: int
  protocol:
    description: Protocol of the address service.
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  fwmark:
    description: Firewall mark of the service, instead of O(vip)/O(port)/O(protocol).
    type: int
  family:
    description: Address family of the firewall-mark service; defaults to the family of O(address).
    type: int
    choices: [4, 6]
  address:
    description: IP address of the real server.
    type: str
    required: true
  real_port:
    description: Port on the real server; only with O(forwarding=nat) (defaults to the service port).
    type: int
  forwarding:
    description: Forwarding method.
    type: str
    choices: [dr, tun, nat]
    default: dr
  weight:
    description: Weight (0 to 65535). V(drained) always uses 0.
    type: int
    default: 1
  upper_threshold:
    description: Upper connection threshold; V(0) means none.
    type: int
    default: 0
  lower_threshold:
    description: Lower connection threshold; V(0) means none.
    type: int
    default: 0
  state:
    description:
      - V(present) - the real server exists with these attributes.
      - V(drained) - it exists with weight 0 (it is added at weight 0 if missing).
      - V(absent) - it is removed (its open connections are dropped by the kernel's expiry).
    type: str
    choices: [present, absent, drained]
    default: present
  wait:
    description: With V(drained), wait until the real server has no active connection.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait for the drain before failing.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two looks at the connection count while waiting.
    type: float
    default: 1.0
notes:
  - Tested on Debian 12 (ipvsadm 1.31, Linux 6.1).
seealso:
  - module: lvs.cluster.ipvs_service
  - module: lvs.cluster.ipvs_info
'''

EXAMPLES = r'''
- name: Take web1 out of the HTTP service for maintenance, waiting for its connections
  lvs.cluster.ipvs_real_server:
    vip: 198.51.100.100
    port: 80
    address: 198.51.100.21
    state: drained
    wait: true
    wait_timeout: 600

- name: Put it back
  lvs.cluster.ipvs_real_server:
    vip: 198.51.100.100
    port: 80
    address: 198.51.100.21
    weight: 1

- name: A real server of a firewall-mark service
  lvs.cluster.ipvs_real_server:
    fwmark: 1
    address: 198.51.100.23
    weight: 3
'''

RETURN = r'''
real_server:
  description: The real server after the call (as it would be in check mode); null when absent.
  returned: always
  type: dict
  sample: {address: 198.51.100.21, port: 80, forwarding: dr, weight: 0, upper_threshold: 0, lower_threshold: 0}
service:
  description: The service spec, as ipvsadm names it.
  returned: always
  type: str
  sample: -t 198.51.100.100:80
commands:
  description: The C(ipvsadm -R) lines applied (in check mode, that would be applied).
  returned: always
  type: list
  elements: str
  sample: ["-e -t 198.51.100.100:80 -r 198.51.100.21:80 -g -w 0"]
active_connections:
  description: Active connections of the real server when the module finished waiting.
  returned: when O(wait=true) and O(state=drained), not in check mode
  type: int
  sample: 0
waited:
  description: Seconds spent waiting for the drain.
  returned: when O(wait=true) and O(state=drained), not in check mode
  type: float
  sample: 4.2
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
from ansible_collections.lvs.cluster.plugins.module_utils.ipvsadm import Ipvsadm, IpvsadmError


def argument_spec():
    return dict(
        vip=dict(type='str'),
        port=dict(type='int'),
        protocol=dict(type='str', choices=['tcp', 'udp', 'sctp'], default='tcp'),
        fwmark=dict(type='int'),
        family=dict(type='int', choices=[4, 6]),
        address=dict(type='str', required=True),
        real_port=dict(type='int'),
        forwarding=dict(type='str', choices=['dr', 'tun', 'nat'], default='dr'),
        weight=dict(type='int', default=1),
        upper_threshold=dict(type='int', default=0),
        lower_threshold=dict(type='int', default=0),
        state=dict(type='str', choices=['present', 'absent', 'drained'], default='present'),
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=300),
        poll_interval=dict(type='float', default=1.0),
    )


def service_key(params):
    """The key of the service the real server belongs to (raises IPVSModelError)."""
    address = ipvs.parse_address('address', params['address'])
    if params.get('fwmark') is not None:
        fwmark = ipvs._int('fwmark', params['fwmark'], 1, ipvs.FWMARK_MAX)
        family = params.get('family') or address.version
        return ('fwmark', family, fwmark)
    vip = ipvs.parse_address('vip', params['vip'])
    port = ipvs._int('port', params.get('port'), 1, 65535)
    return (params['protocol'], vip, port)


def _label(key):
    if key[0] == 'fwmark':
        return 'FWM %d%s' % (key[2], ' IPv6' if key[1] == 6 else '')
    return '%s %s' % (key[0].upper(), ipvs.format_hostport(key[1], key[2]))


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('fwmark', 'vip'), ('fwmark', 'port')],
        required_one_of=[('vip', 'fwmark')],
        required_together=[('vip', 'port')],
        supports_check_mode=True,
    )
    p = module.params
    if p['wait_timeout'] < 0:
        module.fail_json(msg='wait_timeout: %r must be 0 or more' % p['wait_timeout'])
    try:
        key = service_key(p)
    except ipvs.IPVSModelError as exc:
        module.fail_json(msg=str(exc))

    try:
        adm = Ipvsadm(module)
        table = adm.save()
    except IpvsadmError as exc:
        module.fail_json(**exc.fail_kwargs())

    service = table.get(key)
    if service is None:
        if p['state'] == 'absent':
            module.exit_json(changed=False, commands=[], real_server=None, service=None)
        module.fail_json(msg='service %s does not exist: create it first (lvs.cluster.ipvs_service)'
                         % _label(key))
    try:
        desired = ipvs.real_server_from_dict(service, {
            'address': p['address'], 'port': p['real_port'], 'forwarding': p['forwarding'],
            'weight': 0 if p['state'] == 'drained' else p['weight'],
            'upper_threshold': p['upper_threshold'], 'lower_threshold': p['lower_threshold'],
        }, 'real_server')
    except ipvs.IPVSModelError as exc:
        module.fail_json(msg=str(exc))

    current = service.real_servers.get(desired.key)
    lines = []
    if p['state'] == 'absent':
        after = None
        if current is not None:
            lines.append(current.rule(service, '-d'))
    else:
        after = desired
        if current is None:
            lines.append(desired.rule(service, '-a'))
        elif current.attrs() != desired.attrs():
            lines.append(desired.rule(service, '-e'))

    result = dict(changed=bool(lines), commands=lines, service=service.spec(),
                  real_server=None if after is None else after.to_dict())
    try:
        if lines and not module.check_mode:
            adm.restore(lines)
        if p['state'] == 'drained' and p['wait'] and not module.check_mode:
            started = time.time()
            deadline = started + p['wait_timeout']
            while True:
                listing = adm.listing()
                entry = listing.get(key, {}).get('real_servers', {}).get(desired.key)
                active = 0 if entry is None else entry['active_connections']
                if active == 0 or time.time() >= deadline:
                    break
                time.sleep(max(0.05, p['poll_interval']))
            result.update(active_connections=active, waited=round(time.time() - started, 2))
            if active:
                module.fail_json(msg='real server %s of %s still has %d active connections after %d s'
                                 % (ipvs.format_hostport(desired.address, desired.port), _label(key),
                                    active, p['wait_timeout']), **result)
    except IpvsadmError as exc:
        module.fail_json(**exc.fail_kwargs())

    if module._diff:
        result['diff'] = dict(before='' if current is None else current.rule(service) + '\n',
                              after='' if after is None else after.rule(service) + '\n')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
