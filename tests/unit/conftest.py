# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the collection importable as ``ansible_collections.lvs.cluster`` for pytest.

``make collection`` links build/collections/ansible_collections/lvs/cluster to the
repository; this file makes the link if it is missing and installs Ansible's collection
loader on that path (as ansible-playbook does), so plain imports and FQCN plugin lookups
(``lvs.cluster.lvs_services`` in a template) both resolve to this checkout.
"""

from __future__ import annotations

import os

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
COLLECTIONS_ROOT = os.path.join(REPO, 'build', 'collections')
LINK = os.path.join(COLLECTIONS_ROOT, 'ansible_collections', 'lvs', 'cluster')


def _make_importable():
    if not os.path.exists(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(REPO, LINK)
    paths = [COLLECTIONS_ROOT] + [p for p in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep)
                                  if p and p != COLLECTIONS_ROOT]
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader(paths)


_make_importable()
