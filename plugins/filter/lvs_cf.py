# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for piranha's lvs.cf (module_utils/lvs_cf.py): import into the cluster model,
render from it. See docs/piranha.md.

- ``text | lvs.cluster.from_lvs_cf(hostvars)``: ``{lvs_virtual_services, director,
  director_hosts, warnings}``; with *hostvars*, real servers that are inventory hosts
  are written as ``{host: NAME}``.
- ``expanded | lvs.cluster.to_lvs_cf(settings)``: canonical lvs.cf text.
- ``expanded | lvs.cluster.lvs_cf_plan(settings, current_text)``: ``{text, serial_no,
  change, warnings}``, what the piranha backend writes (serial_no kept when nothing changed).
- ``text | lvs.cluster.lvs_cf_parse``: the parsed document (line numbers included).
- ``text | lvs.cluster.lvs_cf_ipvs_check(expanded)``: ``{same, lvsd, model}``, the IPVS
  table lvsd builds from lvs.cf against the one of the (migrated) model, as ipvsadm -S.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils.cluster import ClusterModelError
from ansible_collections.lvs.cluster.plugins.module_utils.lvs_cf import (
    LvsCfError,
    compare_tables,
    from_model,
    parse,
    parse_to_model,
    plan,
    render,
)


def _text(value, name):
    if value is None:
        return ''
    if isinstance(value, bytes):
        value = value.decode('utf-8')
    if not isinstance(value, str):
        raise AnsibleFilterError('%s: expected the text of an lvs.cf file, got %s' % (name, type(value).__name__))
    return value


def _plain(value):
    """Ansible's lazy containers and tagged strings -> plain dict/list/str for module_utils."""
    if isinstance(value, dict):
        return dict((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _hostvars(hostvars):
    if not hostvars:
        return None
    keep = ('real_server_address', 'ansible_host')
    result = {}
    for host in hostvars:
        vars_ = hostvars[host]
        result[str(host)] = dict((k, str(vars_[k])) for k in keep if k in vars_ and vars_[k] is not None)
    return result


def from_lvs_cf(text, hostvars=None):
    """lvs.cf text -> cluster model + director settings + warnings."""
    try:
        return parse_to_model(_text(text, 'from_lvs_cf'), _hostvars(hostvars))
    except (LvsCfError, ClusterModelError) as exc:
        raise AnsibleFilterError('from_lvs_cf: %s' % exc) from None


def to_lvs_cf(services, settings=None):
    """Expanded cluster model (lvs.cluster.lvs_services) -> canonical lvs.cf text."""
    try:
        doc, _warnings = from_model(_plain(services or []), _plain(settings or {}))
        return render(doc)
    except (LvsCfError, ClusterModelError) as exc:
        raise AnsibleFilterError('to_lvs_cf: %s' % exc) from None


def lvs_cf_plan(services, settings=None, current=None):
    """What the piranha backend writes, given the current file's text (or None)."""
    try:
        return plan(_plain(services or []), _plain(settings or {}), _text(current, 'lvs_cf_plan') or None)
    except (LvsCfError, ClusterModelError) as exc:
        raise AnsibleFilterError('lvs_cf_plan: %s' % exc) from None


def lvs_cf_ipvs_check(text, expanded):
    """Compare the IPVS table lvsd builds from lvs.cf *text* with that of the *expanded* model."""
    try:
        return compare_tables(parse(_text(text, 'lvs_cf_ipvs_check')), _plain(expanded or []))
    except (LvsCfError, ClusterModelError, ValueError) as exc:
        raise AnsibleFilterError('lvs_cf_ipvs_check: %s' % exc) from None


def lvs_cf_parse(text):
    """lvs.cf text -> parsed document; errors name the line."""
    try:
        return parse(_text(text, 'lvs_cf_parse'))
    except LvsCfError as exc:
        raise AnsibleFilterError('lvs_cf_parse: %s' % exc) from None


class FilterModule:
    """lvs.cluster piranha lvs.cf filters."""

    def filters(self):
        return {
            'from_lvs_cf': from_lvs_cf,
            'to_lvs_cf': to_lvs_cf,
            'lvs_cf_plan': lvs_cf_plan,
            'lvs_cf_parse': lvs_cf_parse,
            'lvs_cf_ipvs_check': lvs_cf_ipvs_check,
        }
