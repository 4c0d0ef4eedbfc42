#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ipvs_service
short_description: Manage an IPVS virtual service and its real servers
version_added: 0.1.0
description:
  - Creates, changes or removes one IP Virtual Server service (an address, port and protocol,
    or a firewall mark) together with its real servers, like C(ipvsadm -A/-E/-a/-e/-d/-D).
  - Reads the table once with C(ipvsadm -Sn), computes the minimal change and applies it with
    one C(ipvsadm -R) batch, whatever the number of real servers.
  - The options mirror the cluster model C(lvs_virtual_services) (docs/model.md); an item of
    the C(lvs.cluster.lvs_services) filter can be passed whole as O(service).
  - Kernels without IPVS fail with C(IPVS is not available in this kernel (load ip_vs)).
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
    description: Shows the service before and after in C(ipvsadm -S) syntax.
options:
  service:
    description:
      - One item of C(lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)), used
        instead of the individual options below (fields C(vip), C(ports), C(protocol), C(fwmark),
        C(family), C(scheduler), C(scheduler_flags), C(persistence), C(persistence_netmask),
        C(forwarding), C(weight), C(upper_threshold), C(lower_threshold), C(ops),
        C(real_server_port), C(real_servers); other fields such as C(health_check) are ignored).
      - Mutually exclusive with O(vip), O(ports) and O(fwmark).
    type: dict
  vip:
    description:
      - The virtual IP address (IPv4 or IPv6) of an address service.
      - For a firewall-mark service it only decides the address family when O(family) is not set.
    type: str
  ports:
    description:
      - The port of an address service, as a one-item list or a number.
      - Several ports need O(fwmark) (they become one firewall-mark service; the ports are then
        the firewall's business, see M(lvs.cluster.fwmark)).
    type: list
    elements: int
    aliases: [port]
  protocol:
    description: Protocol of an address service. Defaults to V(tcp).
    type: str
    choices: [tcp, udp, sctp]
  fwmark:
    description: Firewall mark of a firewall-mark service (1 to 4294967295).
    type: int
  family:
    description:
      - Address family of a firewall-mark service. Defaults to the family of O(vip), else V(4).
    type: int
    choices: [4, 6]
  scheduler:
    description: Scheduling algorithm. Defaults to V(wlc).
    type: str
    choices: [rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos]
  scheduler_flags:
    description: Scheduler flags (C(ipvsadm -b)); V(sh-*) only with V(sh), V(mh-*) only with V(mh).
    type: list
    elements: str
    choices: [sh-fallback, sh-port, mh-fallback, mh-port]
  persistence:
    description: Persistence timeout in seconds; V(0) (the default) turns persistence off.
    type: int
  persistence_netmask:
    description:
      - Persistence granularity; an IPv4 netmask (V(255.255.255.0) or V(24)) or an IPv6 prefix
        length. Ignored without O(persistence).
    type: str
  ops:
    description: One-packet scheduling (UDP services and firewall-mark services only).
    type: bool
  forwarding:
    description: Default forwarding method of the real servers. Defaults to V(dr).
    type: str
    choices: [dr, tun, nat]
  weight:
    description: Default weight of the real servers (0 to 65535). Defaults to V(1).
    type: int
  upper_threshold:
    description: Default upper connection threshold of the real servers; V(0) (default) means none.
    type: int
  lower_threshold:
    description: Default lower connection threshold of the real servers; V(0) (default) means none.
    type: int
  real_server_port:
    description: Default real server port, only with O(forwarding=nat).
    type: int
  real_servers:
    description:
      - The real servers of the service. Unset attributes take the service defaults above.
      - With O(purge_real_servers=true), the list is complete; an empty list removes all.
    type: list
    elements: dict
    suboptions:
      address:
        description: IP address of the real server (same family as the service).
        type: str
        required: true
      port:
        description: Port on the real server; only with forwarding V(nat).
        type: int
      forwarding:
        description: Forwarding method of this real server.
        type: str
        choices: [dr, tun, nat]
      weight:
        description: Weight (0 to 65535).
        type: int
      upper_threshold:
        description: Upper connection threshold.
        type: int
      lower_threshold:
        description: Lower connection threshold.
        type: int
      name:
        description: A label; not stored in the kernel.
        type: str
  purge_real_servers:
    description: Remove real servers of the service that O(real_servers) does not list.
    type: bool
    default: true
  state:
    description: V(present) makes the service exist as described; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - C(ipvsadm -R) applies its lines one by one; should the kernel refuse a line in the middle
    (it should not, as everything is validated first), the lines before it stay applied and
    the module fails naming the error.
  - Tested on Debian 12 (ipvsadm 1.31, Linux 6.1).
seealso:
  - module: lvs.cluster.ipvs_real_server
  - module: lvs.cluster.ipvs_info
  - module: lvs.cluster.fwmark
'''

EXAMPLES = r'''
- name: HTTP on a VIP, two Direct-Routing real servers
  lvs.cluster.ipvs_service:
    vip: 198.51.100.100
    port: 80
    scheduler: wlc
    real_servers:
      - address: 198.51.100.21
      - address: 198.51.100.22
        weight: 2

- name: HTTP and HTTPS as one persistent firewall-mark service
  lvs.cluster.ipvs_service:
    fwmark: 1
    scheduler: wlc
    persistence: 300
    persistence_netmask: 255.255.255.0
    real_servers:
      - address: 198.51.100.21
      - address: 198.51.100.22

- name: Every service of the cluster model
  lvs.cluster.ipvs_service:
    service: "{{ item }}"
  loop: "{{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) }}"
  loop_control:
    label: "{{ item.name }}"

- name: Remove a service
  lvs.cluster.ipvs_service:
    vip: 198.51.100.100
    port: 8080
    state: absent
'''

RETURN = r'''
service:
  description: The service after the call (before it, in check mode, as it would be); null when absent.
  returned: always
  type: dict
  sample:
    kind: fwmark
    family: 4
    protocol: null
    address: null
    port: null
    fwmark: 1
    scheduler: wlc
    scheduler_flags: []
    persistence: 300
    persistence_netmask: 255.255.255.0
    ops: false
    spec: -f 1
    real_servers:
      - {address: 198.51.100.21, port: 0, forwarding: dr, weight: 1, upper_threshold: 0, lower_threshold: 0}
commands:
  description: The C(ipvsadm -R) lines applied (in check mode, that would be applied).
  returned: always
  type: list
  elements: str
  sample: ["-A -f 1 -s wlc -p 300 -M 255.255.255.0", "-a -f 1 -r 198.51.100.21:0 -g -w 1"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
from ansible_collections.lvs.cluster.plugins.module_utils.ipvsadm import Ipvsadm, IpvsadmError
from ansible_collections.lvs.cluster.plugins.module_utils.cluster import SCHEDULERS, SCHEDULER_FLAGS

_MODEL_OPTIONS = ('vip', 'ports', 'protocol', 'fwmark', 'family', 'scheduler', 'scheduler_flags',
                  'persistence', 'persistence_netmask', 'ops', 'forwarding', 'weight',
                  'upper_threshold', 'lower_threshold', 'real_server_port', 'real_servers')


def argument_spec():
    return dict(
        service=dict(type='dict'),
        vip=dict(type='str'),
        ports=dict(type='list', elements='int', aliases=['port']),
        protocol=dict(type='str', choices=['tcp', 'udp', 'sctp']),
        fwmark=dict(type='int'),
        family=dict(type='int', choices=[4, 6]),
        scheduler=dict(type='str', choices=list(SCHEDULERS)),
        scheduler_flags=dict(type='list', elements='str', choices=list(SCHEDULER_FLAGS)),
        persistence=dict(type='int'),
        persistence_netmask=dict(type='str'),
        ops=dict(type='bool'),
        forwarding=dict(type='str', choices=['dr', 'tun', 'nat']),
        weight=dict(type='int'),
        upper_threshold=dict(type='int'),
        lower_threshold=dict(type='int'),
        real_server_port=dict(type='int'),
        real_servers=dict(type='list', elements='dict', options=dict(
            address=dict(type='str', required=True),
            port=dict(type='int'),
            forwarding=dict(type='str', choices=['dr', 'tun', 'nat']),
            weight=dict(type='int'),
            upper_threshold=dict(type='int'),
            lower_threshold=dict(type='int'),
            name=dict(type='str'),
        )),
        purge_real_servers=dict(type='bool', default=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )


def desired_service(params):
    """The VirtualService the parameters describe (raises IPVSModelError)."""
    if params.get('service') is not None:
        return ipvs.VirtualService.from_cluster(params['service'], 'service')
    spec = {}
    for name in _MODEL_OPTIONS:
        if params.get(name) is not None:
            spec[name] = params[name]
    if params.get('real_servers') is not None:
        spec['real_servers'] = [dict((k, v) for k, v in rs.items() if v is not None)
                                for rs in params['real_servers']]
    if spec.get('ports') is not None and spec.get('fwmark') is not None:
        spec.pop('ports')    # a firewall-mark service has no port of its own
    return ipvs.VirtualService.from_cluster(spec, 'ipvs_service')


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('service', 'vip'), ('service', 'ports'), ('service', 'fwmark')],
        required_one_of=[('service', 'vip', 'fwmark')],
        supports_check_mode=True,
    )
    params = module.params
    try:
        desired = desired_service(params)
    except ipvs.IPVSModelError as exc:
        module.fail_json(msg=str(exc))
    purge = params['purge_real_servers']
    try:
        adm = Ipvsadm(module)
        current = adm.save().get(desired.key)
        target = desired if params['state'] == 'present' else None
        lines = ipvs.plan_service(current, target, purge)
        after = ipvs.merged(current, target, purge)
        if lines and not module.check_mode:
            adm.restore(lines)
    except IpvsadmError as exc:
        module.fail_json(**exc.fail_kwargs())

    result = dict(changed=bool(lines), commands=lines,
                  service=None if after is None else after.to_dict())
    if module._diff:
        result['diff'] = dict(
            before=ipvs.render([current] if current else []),
            after=ipvs.render([after] if after else []),
            before_header='ipvsadm -S (%s)' % desired.label(),
            after_header='ipvsadm -S (%s)' % desired.label(),
        )
    module.exit_json(**result)


if __name__ == '__main__':
    main()
