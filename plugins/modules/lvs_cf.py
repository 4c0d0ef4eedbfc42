#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: lvs_cf
short_description: Write piranha's lvs.cf from the cluster model
version_added: 0.1.0
description:
  - Renders the virtual services of the cluster model as piranha's C(lvs.cf) (read by
    C(pulse), C(lvsd) and C(nanny)) and writes it atomically when it differs from the file
    in place.
  - The file in place is parsed and compared with the rendered one ignoring C(serial_no) and
    formatting; only when something else differs is the file replaced, with
    C(serial_no) one more than before. Running twice changes nothing the second time.
  - The rendered text is checked with the lvs.cf grammar before it replaces the old file;
    a model lvs.cf cannot express (IPv6, SCTP, schedulers piranha lacks, mixed forwarding)
    fails naming the field, and the file is left alone.
  - Reports whether only virtual servers changed (C(change=services), pulse can reload) or
    the global section too (C(change=globals), pulse must restart).
author:
  - lvs.cluster maintainers (@lvs-cluster)
attributes:
  check_mode:
    support: full
    description: Computes the new file and the change without writing.
  diff_mode:
    support: full
    description: Shows the old and the new file.
options:
  path:
    description: The lvs.cf to manage.
    type: path
    default: /etc/sysconfig/ha/lvs.cf
  services:
    description:
      - The expanded cluster model, as returned by the filter C(lvs.cluster.lvs_services).
    type: list
    elements: dict
    required: true
  settings:
    description:
      - V(primary) and V(backup) (required), V(vip_interface), V(vip_netmask) (dotted or a
        prefix length), V(lvs_timeouts) (V(tcp), V(tcpfin), V(udp)) and any other global
        lvs.cf key (V(heartbeat_port), V(keepalive), V(syncdaemon)...).
      - Checked by the lvs.cf grammar; a key lvs.cf does not know is an error.
    type: dict
    default: {}
  backup:
    description: Keep a timestamped copy of the file it replaces.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.files
notes:
  - Piranha was last shipped with RHEL/CentOS 6. The module itself runs anywhere Ansible's
    target Python does; docs/piranha.md says what has and has not been tested.
seealso:
  - module: lvs.cluster.ipvs_service
'''

EXAMPLES = r'''
- name: Write lvs.cf from the cluster model
  lvs.cluster.lvs_cf:
    services: "{{ lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups) }}"
    settings:
      primary: 198.51.100.11
      backup: 198.51.100.12
      vip_interface: eth0
      keepalive: 2
    owner: root
    group: root
    mode: '0644'
  register: lvs_cf

- name: Reload pulse when only virtual servers changed
  ansible.builtin.service:
    name: pulse
    state: reloaded
  when: lvs_cf.change == 'services'
'''

RETURN = r'''
serial_no:
  description: The serial_no of the file after the call.
  returned: always
  type: int
  sample: 42
change:
  description: V(none), V(services) (only virtual servers differ) or V(globals) (the global section differs, or there was no valid file).
  returned: always
  type: str
  sample: services
lvs_cf_warnings:
  description: What the model says that lvs.cf cannot (each also emitted as a warning).
  returned: always
  type: list
  elements: str
  sample: ["lvs_virtual_services[www].quorum 2 has no lvs.cf equivalent: not rendered"]
backup_file:
  description: The copy of the replaced file, with O(backup=true).
  returned: changed and backup requested
  type: str
  sample: /etc/sysconfig/ha/lvs.cf.12345.2026-11-25@12:00:00~
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

from ansible_collections.lvs.cluster.plugins.module_utils.lvs_cf import LvsCfError, plan

_EXPANDED_KEYS = ('name', 'vip', 'family', 'protocol', 'ports', 'fwmark', 'scheduler', 'forwarding',
                  'real_servers', 'health_check', 'sorry_server')


def _read(path):
    if not os.path.exists(path):
        return None
    with open(path, 'rb') as handle:
        return to_text(handle.read(), errors='surrogate_or_strict')


def _write(module, path, text):
    directory = os.path.dirname(path) or '.'
    fd, tmp = tempfile.mkstemp(prefix='.lvs.cf.', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(to_bytes(text))
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', default='/etc/sysconfig/ha/lvs.cf'),
            services=dict(type='list', elements='dict', required=True),
            settings=dict(type='dict', default={}),
            backup=dict(type='bool', default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params['path']
    services = module.params['services']
    for index, service in enumerate(services):
        missing = [key for key in _EXPANDED_KEYS if key not in service]
        if missing:
            module.fail_json(msg='services[%d]: %s missing: pass the expanded model, '
                                 'lvs_virtual_services | lvs.cluster.lvs_services(hostvars, groups)'
                                 % (index, ', '.join(missing)))
    if not os.path.isdir(os.path.dirname(path) or '.'):
        module.fail_json(msg='path: %s: the directory %s does not exist (is piranha installed?)'
                             % (path, os.path.dirname(path)))
    try:
        current = _read(path)
    except (IOError, OSError, UnicodeError) as exc:
        module.fail_json(msg='path: cannot read %s: %s' % (path, to_native(exc)))
    try:
        result = plan(services, module.params['settings'], current)
    except LvsCfError as exc:
        module.fail_json(msg=to_native(exc), errors=[list(e) for e in exc.errors])

    for warning in result['warnings']:
        module.warn(warning)
    changed = result['change'] != 'none'
    response = dict(changed=changed, serial_no=result['serial_no'], change=result['change'],
                    lvs_cf_warnings=result['warnings'], path=path)
    if module._diff:
        response['diff'] = dict(before=current or '', after=result['text'],
                                before_header=path, after_header=path)
    if changed and not module.check_mode:
        if module.params['backup'] and current is not None:
            response['backup_file'] = module.backup_local(path)
        _write(module, path, result['text'])
    file_args = module.load_file_common_arguments(module.params)
    if not module.check_mode or os.path.exists(path):
        response['changed'] = module.set_fs_attributes_if_different(file_args, response['changed'])
    module.exit_json(**response)


if __name__ == '__main__':
    main()
