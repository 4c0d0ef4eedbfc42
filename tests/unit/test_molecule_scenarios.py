"""Every step of every molecule scenario's test_sequence has its playbook.

molecule (26.x) reports a ``side_effect FILE`` step as "Missing playbook" and carries on,
unless ``provisioner.playbooks.side_effect`` is set: a scenario can look green while its
side effects never ran. This test fails instead.
"""
from __future__ import annotations

import glob
import os
import re
import subprocess

import pytest
import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = os.path.join(TOP, '.config', 'molecule', 'config.yml')
SCENARIOS = sorted(glob.glob(os.path.join(TOP, 'molecule', '*', 'molecule.yml')))


def _load(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle) or {}


def test_scenarios_found():
    names = {os.path.basename(os.path.dirname(p)) for p in SCENARIOS}
    expected = {'real_server', 'apache_balancer', 'director', 'director_ipvsadm', 'ipvs_modules', 'lab'}
    assert expected <= names, sorted(expected - names)


def test_lab_scenario_converges_with_site_yml():
    """`molecule test -s lab` is the end-to-end test: its converge is the top-level site.yml."""
    here = os.path.join(TOP, 'molecule', 'lab')
    converge = _load(os.path.join(here, 'converge.yml'))
    imported = [os.path.normpath(os.path.join(here, play['ansible.builtin.import_playbook']))
                for play in converge if 'ansible.builtin.import_playbook' in play]
    assert imported == [os.path.join(TOP, 'site.yml')] and len(converge) == 1, converge


@pytest.mark.parametrize('path', SCENARIOS, ids=lambda p: os.path.basename(os.path.dirname(p)))
def test_every_side_effect_step_runs(path):
    here = os.path.dirname(path)
    config = _load(path)
    base = _load(BASE)
    sequence = (config.get('scenario') or {}).get('test_sequence') or base['scenario']['test_sequence']
    playbooks = {}
    for source in (base, config):  # molecule 26 reads them under provisioner: or ansible:
        for key in ('provisioner', 'ansible'):
            playbooks.update((source.get(key) or {}).get('playbooks') or {})
    problems = []
    for step in sequence:
        action, *args = step.split()
        if action != 'side_effect':
            continue
        default = playbooks.get('side_effect') or ('side_effect.yml' if os.path.exists(os.path.join(here, 'side_effect.yml')) else None)
        if default is None:
            problems.append('%r: provisioner.playbooks.side_effect is not set, molecule skips the step' % step)
        for name in args or [default]:
            if name and not os.path.exists(os.path.join(here, name)):
                problems.append('%r: %s does not exist' % (step, name))
    assert not problems, problems


def test_make_runs_molecule_from_a_clean_state():
    """Every `molecule test` of the Makefiles goes through scripts/molecule-test.sh.

    molecule's own state directory is named after the checkout's folder name only, so a
    killed run (or another clone called main) leaves "prepared: true" to the next one,
    which then skips prepare. The script gives each run an emptied state of its own.
    """
    direct = []
    for path in [os.path.join(TOP, 'Makefile')] + sorted(glob.glob(os.path.join(TOP, 'mk', '*.mk'))):
        with open(path, encoding='utf-8') as handle:
            for number, line in enumerate(handle, 1):
                if line.startswith('\t') and re.search(r'(^\t[\s@-]*|[;&|(]\s*)molecule\s+test\b', line):
                    direct.append('%s:%d: %s' % (os.path.relpath(path, TOP), number, line.strip()))
    assert not direct, direct


def test_molecule_test_script_refuses_an_unknown_scenario(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path))
    result = subprocess.run([os.path.join(TOP, 'scripts', 'molecule-test.sh'), 'no_such_scenario'],
                            capture_output=True, text=True, env=env, check=False, timeout=30)
    assert result.returncode == 2 and "no scenario 'no_such_scenario'" in result.stderr, result
    assert not os.path.exists(os.path.join(TOP, 'build', 'molecule', 'no_such_scenario'))
