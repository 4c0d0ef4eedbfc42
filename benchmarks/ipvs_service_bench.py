# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: lvs.cluster.ipvs_service against plain ipvsadm, on a real IPVS kernel.

Prints figures; it is not a test (nothing here fails on a slow machine).

For one service with N real servers (N = 10, 100, 1000 by default) it times, on the
target, the median of --repeat runs of:

* module converge: ipvs_service run the way Ansible runs it on a target (python3 with
  the module, ansible.module_utils and the collection's module_utils on its path, and
  an arguments file), no connection overhead, from an empty service;
* module no-op: the same call again (nothing to change);
* (a) per-process: ``ipvsadm -A`` then one ``ipvsadm -a`` process per real server;
* (b) raw restore: one ``ipvsadm -R`` fed the same lines.

Usage (from the repository, the lab up):
    python benchmarks/ipvs_service_bench.py [--host director1] [--sizes 10,100,1000] [--repeat 3]
    python benchmarks/ipvs_service_bench.py --uml       # in a private UML guest, no lab
    python benchmarks/ipvs_service_bench.py --local     # on a host that has IPVS itself

The benchmark service is 198.51.100.99:80 (module test range); its real servers are
NAT destinations 198.51.100.150-.189 x ports 8000.. (table entries only: no traffic).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
REMOTE_DIR = '/tmp/lvs-ipvs-bench'

# Runs on the target (python3 only): prints "name size seconds" lines.
RUNNER = r'''
import json, os, statistics, subprocess, sys, time
HERE = os.path.dirname(os.path.abspath(__file__))
VIP = "198.51.100.99:80"
sizes = [int(s) for s in sys.argv[1].split(",")]
repeat = int(sys.argv[2])

def members(n):
    return [{"address": "198.51.100.%d" % (150 + i // 25), "port": 8000 + i % 25} for i in range(n)]

def lines(n):
    out = ["-A -t %s -s wlc" % VIP]
    out += ["-a -t %s -r %s:%d -m -w 1" % (VIP, m["address"], m["port"]) for m in members(n)]
    return out

def clear():
    subprocess.run(["ipvsadm", "-D", "-t", VIP], capture_output=True)

def module(n):
    args = {"ANSIBLE_MODULE_ARGS": {"vip": "198.51.100.99", "ports": [80], "forwarding": "nat",
                                    "real_servers": members(n)}}
    path = os.path.join(HERE, "args-%d.json" % n)
    with open(path, "w") as f:
        json.dump(args, f)
    env = dict(os.environ, PYTHONPATH=HERE, LANG="C")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.lvs.cluster.plugins.modules.ipvs_service",
                           path], capture_output=True, text=True, env=env)
    took = time.perf_counter() - start
    result = json.loads(proc.stdout)
    if result.get("failed"):
        raise SystemExit("module failed: %s" % result.get("msg"))
    return took, result["changed"]

def per_process(n):
    start = time.perf_counter()
    for line in lines(n):
        subprocess.run(["ipvsadm"] + line.split(), check=True)
    return time.perf_counter() - start

def restore(n):
    data = "\n".join(lines(n)) + "\n"
    start = time.perf_counter()
    subprocess.run(["ipvsadm", "-R"], input=data, text=True, check=True)
    return time.perf_counter() - start

def count():
    out = subprocess.run(["ipvsadm", "-Sn"], capture_output=True, text=True, check=True).stdout
    return sum(1 for l in out.splitlines() if l.startswith("-a -t " + VIP + " "))

for n in sizes:
    conv, noop, perp, rest = [], [], [], []
    for _ in range(repeat):
        clear()
        took, changed = module(n)
        assert changed and count() == n, "converge did not build %d real servers" % n
        conv.append(took)
        took, changed = module(n)
        assert not changed, "no-op run changed something"
        noop.append(took)
        clear()
        perp.append(per_process(n))
        assert count() == n
        clear()
        rest.append(restore(n))
        assert count() == n
        clear()
    for name, values in (("converge", conv), ("noop", noop), ("per_process", perp), ("restore", rest)):
        print("%s %d %.4f" % (name, n, statistics.median(values)), flush=True)
'''


def payload():
    """A tar.gz of what AnsiballZ ships: ansible.module_utils + the collection's plugins."""
    import ansible
    ansible_dir = os.path.dirname(ansible.__file__)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        tar.add(os.path.join(ansible_dir, 'module_utils'), 'ansible/module_utils',
                filter=lambda t: None if '__pycache__' in t.name else t)
        base = 'ansible_collections/lvs/cluster/plugins'
        for sub in ('modules', 'module_utils'):
            tar.add(os.path.join(TOP, 'plugins', sub), '%s/%s' % (base, sub),
                    filter=lambda t: None if '__pycache__' in t.name else t)
        # like AnsiballZ: empty package files (ansible/__init__.py is the controller's)
        for pkg in ('ansible', 'ansible_collections', 'ansible_collections/lvs', 'ansible_collections/lvs/cluster',
                    base):
            info = tarfile.TarInfo(pkg + '/__init__.py')
            tar.addfile(info, io.BytesIO(b''))
        data = RUNNER.encode()
        info = tarfile.TarInfo('runner.py')
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def run_remote(host, sizes, repeat):
    ssh = [os.path.join(TOP, 'lab', 'lab.sh'), 'ssh', host]
    subprocess.run(ssh + ['rm -rf %s && mkdir -p %s && tar -C %s -xzf -' % (REMOTE_DIR, REMOTE_DIR, REMOTE_DIR)],
                   input=payload(), check=True, timeout=300)
    proc = subprocess.run(ssh + ['python3 %s/runner.py %s %d; rc=$?; rm -rf %s; exit $rc'
                                 % (REMOTE_DIR, sizes, repeat, REMOTE_DIR)],
                          capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise SystemExit('benchmark failed on %s:\n%s%s' % (host, proc.stdout, proc.stderr))
    return proc.stdout


def run_local(sizes, repeat):
    tmp = tempfile.mkdtemp(prefix='lvs-ipvs-bench.')
    try:
        with tarfile.open(fileobj=io.BytesIO(payload()), mode='r:gz') as tar:
            tar.extractall(tmp)
        proc = subprocess.run([sys.executable, os.path.join(tmp, 'runner.py'), sizes, str(repeat)],
                              capture_output=True, text=True, timeout=3600, check=False)
        if proc.returncode != 0:
            raise SystemExit('benchmark failed:\n%s%s' % (proc.stdout, proc.stderr))
        return proc.stdout
    finally:
        shutil.rmtree(tmp)


def run_uml(sizes, repeat):
    """In a private user-mode-linux guest (tests/unit/plugins/modules/uml_guest.py)."""
    sys.path.insert(0, os.path.join(TOP, 'tests', 'unit', 'plugins', 'modules'))
    from uml_guest import run_job
    work = tempfile.mkdtemp(prefix='lvs-ipvs-bench.')
    try:
        with tarfile.open(fileobj=io.BytesIO(payload()), mode='r:gz') as tar:
            tar.extractall(work)
        rc, out = run_job('python3 /work/runner.py %s %d\n' % (sizes, repeat), work, timeout=3600)
        if rc != 0:
            raise SystemExit('benchmark failed in the guest:\n%s' % out)
        return out
    finally:
        shutil.rmtree(work)


def report(text, where):
    figures = {}
    for line in text.splitlines():
        name, size, seconds = line.split()
        figures[(name, int(size))] = float(seconds)
    sizes = sorted(set(s for _n, s in figures))
    print('ipvs_service benchmark on %s (median seconds)' % where)
    print('| real servers | module converge | module no-op | (a) one ipvsadm per entry | (b) one ipvsadm -R '
          '| (a) / converge | converge / (b) |')
    print('|---:|---:|---:|---:|---:|---:|---:|')
    for n in sizes:
        conv, noop = figures[('converge', n)], figures[('noop', n)]
        perp, rest = figures[('per_process', n)], figures[('restore', n)]
        row = (n, conv, noop, perp, rest, perp / conv, conv / rest)
        print('| %d | %.3f | %.3f | %.3f | %.3f | %.1fx | %.1fx |' % row)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        growth = figures[('converge', large)] / figures[('converge', small)]
        speedup = figures[('per_process', large)] / figures[('converge', large)]
        print('module converge grows %.2fx from %d to %d real servers (goal <= 3x): %s'
              % (growth, small, large, 'met' if growth <= 3 else 'NOT met'))
        print('at %d real servers the module is %.1fx faster than one ipvsadm per entry (goal >= 10x): %s'
              % (large, speedup, 'met' if speedup >= 10 else 'NOT met'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--host', default='director1', help='lab host to run on (lab/lab.sh ssh)')
    parser.add_argument('--local', action='store_true', help='run here (this kernel must have IPVS)')
    parser.add_argument('--uml', action='store_true',
                        help='run in a private user-mode-linux guest (no lab needed; root)')
    parser.add_argument('--sizes', default='10,100,1000')
    parser.add_argument('--repeat', type=int, default=3)
    opts = parser.parse_args()
    if opts.local:
        report(run_local(opts.sizes, opts.repeat), 'this host')
    elif opts.uml:
        report(run_uml(opts.sizes, opts.repeat), 'a private UML guest (1 CPU)')
    else:
        report(run_remote(opts.host, opts.sizes, opts.repeat), 'lab host %s' % opts.host)


if __name__ == '__main__':
    main()
