# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role's defaults/main.yml and the options of its meta/argument_specs.yml main
entry point must describe the same variables with the same default values.

Roles are discovered under roles/ when the tests are collected: a new role is checked
without touching this file. Drift (a variable added to one file only, a default changed
in one place) fails here, not at a user's site.
"""

from __future__ import annotations

import os

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROLES_DIR = os.path.join(REPO, 'roles')
ROLES = sorted(d for d in os.listdir(ROLES_DIR)
               if os.path.isdir(os.path.join(ROLES_DIR, d)) and not d.startswith('.')) if os.path.isdir(ROLES_DIR) else []

# The argument spec `type` of an option and the Python types its default may have.
TYPES = {
    'str': (str,),
    'path': (str,),
    'raw': (object,),
    'int': (int,),
    'float': (int, float),
    'bool': (bool,),
    'list': (list,),
    'dict': (dict,),
}


def _load(role, *parts):
    path = os.path.join(ROLES_DIR, role, *parts)
    if not os.path.exists(path):
        return path, None
    with open(path, encoding='utf-8') as handle:
        return path, yaml.safe_load(handle)


def _defaults(role):
    data = None
    for name in ('main.yml', 'main.yaml', 'main'):
        path, data = _load(role, 'defaults', name)
        if data is not None or os.path.exists(path):
            break
    return data or {}


def _main_options(role):
    path, spec = _load(role, 'meta', 'argument_specs.yml')
    if spec is None:
        path, spec = _load(role, 'meta', 'argument_specs.yaml')
    assert spec is not None, 'role %s has no meta/argument_specs.yml' % role
    entry = (spec.get('argument_specs') or {}).get('main')
    assert entry is not None, '%s: no argument_specs.main entry point' % path
    return entry.get('options') or {}


def test_roles_are_found():
    assert ROLES, 'no role under %s' % ROLES_DIR


@pytest.mark.parametrize('role', ROLES)
def test_defaults_and_argument_specs_list_the_same_variables(role):
    defaults = set(_defaults(role))
    options = set(_main_options(role))
    assert sorted(defaults - options) == [], 'in defaults/main.yml but not in meta/argument_specs.yml'
    assert sorted(options - defaults) == [], 'in meta/argument_specs.yml but not in defaults/main.yml'


@pytest.mark.parametrize('role', ROLES)
def test_defaults_equal_spec_defaults(role):
    defaults = _defaults(role)
    drift = {}
    for name, option in _main_options(role).items():
        if isinstance(option, dict) and 'default' in option and name in defaults:
            if option['default'] != defaults[name]:
                drift[name] = {'defaults/main.yml': defaults[name], 'argument_specs': option['default']}
    assert drift == {}


@pytest.mark.parametrize('role', ROLES)
def test_options_are_documented_and_typed(role):
    problems = []
    for name, option in _main_options(role).items():
        if not isinstance(option, dict):
            problems.append('%s: not a mapping' % name)
            continue
        if not option.get('description'):
            problems.append('%s: no description' % name)
        kind = option.get('type', 'str')
        if kind not in TYPES:
            problems.append('%s: unknown type %r' % (name, kind))
            continue
        default = option.get('default')
        if default is not None and not isinstance(default, TYPES[kind]):
            problems.append('%s: default %r is not of type %s' % (name, default, kind))
        if kind in ('int', 'float') and isinstance(default, bool):
            problems.append('%s: default %r is a bool, not %s' % (name, default, kind))
        choices = option.get('choices')
        if choices and default is not None and default not in choices:
            problems.append('%s: default %r not in choices %r' % (name, default, choices))
    assert problems == []


@pytest.mark.parametrize('role', ROLES)
def test_public_variables_carry_the_role_prefix(role):
    bad = [name for name in _defaults(role) if not name.startswith(role + '_')]
    assert bad == [], 'defaults of role %s must start with %s_' % (role, role)
