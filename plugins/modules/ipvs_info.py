#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: ipvs_info
short_description: Read the IPVS table with counters, rates, connections and sync daemons
version_added: 0.1.0
description:
  - Returns every IPVS virtual service with its real servers in the same form as
    M(lvs.cluster.ipvs_service) returns, plus the kernel's counters (C(ipvsadm -Ln --stats)),
    rates (C(--rate)), active and inactive connection counts, optionally the connection
    table (C(ipvsadm -Lnc)) and the sync daemons.
  - Meant for assertions in playbooks and tests, and for reports.
author:
  - lvs.cluster maintainers (@lvs-cluster)
requirements:
  - ipvsadm (the C(ipvsadm) package) on the target
  - a kernel with IPVS (C(ip_vs) module)
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Nothing changes.
options:
  stats:
    description: Include the counters and rates of services and real servers.
    type: bool
    default: true
  connections:
    description: Include the connection table (can be large on a busy director).
    type: bool
    default: false
  daemon:
    description: Include the state of the connection sync daemons.
    type: bool
    default: true
notes:
  - Runs C(ipvsadm -Sn) and C(ipvsadm -Ln), plus C(--stats --exact) and C(--rate --exact) with
    O(stats), C(-Lnc) with O(connections) and C(--daemon) with O(daemon).
seealso:
  - module: lvs.cluster.ipvs_service
'''

EXAMPLES = r'''
- name: Read the table
  lvs.cluster.ipvs_info:
  register: ipvs

- name: The www service has two real servers with weight
  ansible.builtin.assert:
    that:
      - ipvs.services | selectattr('fwmark', 'equalto', 1) | list | length == 1
      - (ipvs.services | selectattr('fwmark', 'equalto', 1) | first).real_servers
        | selectattr('weight', 'gt', 0) | list | length == 2

- name: Who is connected where
  lvs.cluster.ipvs_info:
    connections: true
  register: ipvs_conns
'''

RETURN = r'''
services:
  description:
    - The virtual services, sorted; each as M(lvs.cluster.ipvs_service) returns it plus
      C(stats) and C(rate) (with O(stats)), and for each real server C(active_connections),
      C(inactive_connections), C(stats) and C(rate).
    - C(stats) holds C(conns), C(inpkts), C(outpkts), C(inbytes), C(outbytes) (totals since the
      service was created); C(rate) holds C(cps), C(inpps), C(outpps), C(inbps), C(outbps).
  returned: always
  type: list
  elements: dict
  sample:
    - kind: address
      family: 4
      protocol: tcp
      address: 198.51.100.80
      port: 80
      fwmark: null
      scheduler: wlc
      scheduler_flags: []
      persistence: 0
      persistence_netmask: null
      ops: false
      spec: -t 198.51.100.80:80
      stats: {conns: 20, inpkts: 120, outpkts: 0, inbytes: 9000, outbytes: 0}
      rate: {cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0}
      real_servers:
        - address: 198.51.100.21
          port: 80
          forwarding: dr
          weight: 1
          upper_threshold: 0
          lower_threshold: 0
          active_connections: 0
          inactive_connections: 10
          stats: {conns: 10, inpkts: 60, outpkts: 0, inbytes: 4500, outbytes: 0}
          rate: {cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0}
connections:
  description: The connection table (with O(connections)).
  returned: when O(connections=true)
  type: list
  elements: dict
  sample:
    - {protocol: tcp, expire: "14:58", state: ESTABLISHED, source: "198.51.100.61:40000",
       virtual: "198.51.100.100:80", destination: "198.51.100.21:80"}
daemons:
  description: The running sync daemons by role, with their interface and syncid.
  returned: when O(daemon=true)
  type: dict
  sample: {master: {interface: eth0, syncid: 5}}
rules:
  description: The table in C(ipvsadm -S) syntax (what C(ipvsadm -R) reads back).
  returned: always
  type: str
  sample: "-A -f 1 -s wlc -p 300\n-a -f 1 -r 198.51.100.21:0 -g -w 1\n"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs
from ansible_collections.lvs.cluster.plugins.module_utils.ipvsadm import Ipvsadm, IpvsadmError


def collect(adm, stats=True, connections=False, daemon=True):
    table = adm.save()
    listing = adm.listing()
    counters = adm.stats() if stats else {}
    rates = adm.rates() if stats else {}
    services = []
    for svc in sorted(table.values(), key=lambda s: ipvs._svc_sort_key(s.key)):
        item = svc.to_dict()
        if stats:
            item['stats'] = counters.get(svc.key, {}).get('values', {})
            item['rate'] = rates.get(svc.key, {}).get('values', {})
        for rs in item['real_servers']:
            rkey = (ipvs.parse_address('address', rs['address']), rs['port'])
            seen = listing.get(svc.key, {}).get('real_servers', {}).get(rkey, {})
            rs['active_connections'] = seen.get('active_connections', 0)
            rs['inactive_connections'] = seen.get('inactive_connections', 0)
            if stats:
                rs['stats'] = counters.get(svc.key, {}).get('real_servers', {}).get(rkey, {})
                rs['rate'] = rates.get(svc.key, {}).get('real_servers', {}).get(rkey, {})
        services.append(item)
    result = dict(services=services, rules=ipvs.render(table.values()))
    if connections:
        result['connections'] = adm.connections()
    if daemon:
        result['daemons'] = adm.daemons()
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stats=dict(type='bool', default=True),
            connections=dict(type='bool', default=False),
            daemon=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    try:
        adm = Ipvsadm(module)
        result = collect(adm, module.params['stats'], module.params['connections'], module.params['daemon'])
    except IpvsadmError as exc:
        module.fail_json(**exc.fail_kwargs())
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
