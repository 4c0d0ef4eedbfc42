# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that expose the cluster model (module_utils/cluster.py) to roles and playbooks."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.lvs.cluster.plugins.module_utils.cluster import (
    ClusterModelError,
    expand_services,
    services_of_host,
)


def lvs_services(services, hostvars=None, groups=None):
    """Validate ``lvs_virtual_services`` and expand it (real servers resolved to addresses)."""
    try:
        return expand_services(services, hostvars, groups)
    except ClusterModelError as exc:
        raise AnsibleFilterError(str(exc)) from None


def lvs_services_of_host(services, host, hostvars=None, groups=None):
    """The expanded services for which inventory host *host* is a real server."""
    return services_of_host(lvs_services(services, hostvars, groups), host)


class FilterModule:
    """lvs.cluster cluster model filters."""

    def filters(self):
        return {
            'lvs_services': lvs_services,
            'lvs_services_of_host': lvs_services_of_host,
        }
