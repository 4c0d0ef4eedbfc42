"""The lab's host network carries its owner, and a second checkout is told whose it is.

There is one lab network per machine (br-lvslab, 198.51.100.0/25). A lab-up from another
clone of the repository (a CI run in /tmp, a second working tree) must not start, must not
touch the other lab's network, and must say which lab owns it and how to take it down.
Each test runs lab/lab.sh in a private network namespace (``unshare --net``), so the
bridges, taps and iptables chains it creates never reach this machine's own network or a
lab that is up on it.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(TOP, 'lab', 'lab.sh')

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('unshare') or not shutil.which('iptables'),
                                reason='needs root, unshare and iptables (make deps)')


def _in_netns(script, lab_dir):
    """Run a bash script in a fresh network namespace with lab.sh's functions loaded."""
    env = dict(os.environ, LAB_DIR=str(lab_dir), LAB=LAB)
    return subprocess.run(['unshare', '--net', 'bash', '-c', 'set -eu; source "$LAB"; ip link set lo up; ' + script],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_net_up_writes_the_owner_and_net_down_removes_everything(tmp_path):
    result = _in_netns('''
        mkdir -p "$LAB_DIR"
        net_up 2
        echo "owner=$(net_owner)"
        for i in br-lvslab lvslab-0 lvslab-1; do
          echo "$i alias=$(ip -j link show "$i" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["ifalias"])')"
        done
        net_down
        cmd_check_clean
    ''', tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert f'owner={tmp_path}' in out
    for link in ('br-lvslab', 'lvslab-0', 'lvslab-1'):
        assert f'{link} alias=lvslab lab_dir={tmp_path}' in out
    assert 'clean: no lab process' in result.stderr


def test_up_refuses_another_checkouts_network_and_names_it(tmp_path):
    other = tmp_path / 'other'
    mine = tmp_path / 'mine'
    # The other lab's network is up (as net_up leaves it); this checkout then runs up,
    # down and check-clean.
    result = _in_netns(f'''
        LAB_DIR={other}; OWNER_TAG="$OWNER_PREFIX{other}"; mkdir -p "$LAB_DIR"; net_up 1
        set +e
        LAB_DIR={mine} "$LAB" up 1; echo "up rc=$?"
        LAB_DIR={mine} "$LAB" down; echo "down rc=$?"
        LAB_DIR={mine} "$LAB" check-clean; echo "check-clean rc=$?"
        echo "owner after=$(net_owner)"
        iptables -w -S LVSLAB-FWD >/dev/null && echo "chain kept"
    ''', tmp_path)
    out, err = result.stdout.splitlines(), result.stderr
    assert 'up rc=1' in out, (out, err)
    assert (f'interface br-lvslab belongs to the lab of another checkout ({other})' in err
            and f'LAB_DIR={other} {LAB} down' in err), err
    # Nothing of the other lab was removed by this checkout's up or down ...
    assert f'owner after={other}' in out and 'chain kept' in out, (out, err)
    # ... and check-clean fails, naming the owner instead of calling it ours.
    assert 'down rc=1' in out and 'check-clean rc=1' in out, out
    assert 'left behind: interface br-lvslab' in err
    assert f'belongs to the lab of another checkout ({other}), not to {mine}' in err, err
