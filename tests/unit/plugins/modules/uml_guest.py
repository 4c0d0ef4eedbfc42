# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throw-away user-mode-linux guest with real IPVS, for the modules' own tests.

One UML kernel process (Debian's user-mode-linux 6.1: IP_VS=m, iptables-legacy), root
on hostfs over a private overlay of the shared Debian rootfs (never written), no
network device at all (nothing can leave it), running one shell job as init and
halting.  The job sees ``/work`` (a host directory) for input and output.

Used by test_ipvs_modules_uml.py and benchmarks/ipvs_service_bench.py --uml; the lab
(lab/lab.sh) is the multi-host equivalent.  Needs root (overlay mount), gcc (the
xstate shim), /usr/bin/linux.uml and the rootfs of scripts/build-rootfs.sh.

Two host quirks are handled here (see /work/shared/notes/uml-avx512-glibc.md):
lab/uml-xstate-shim.c is preloaded (UML 6.1 dies on AVX-512 hosts without it), and
glibc in the guest is told not to use AVX-512 (UML does not keep that register state
for guest processes: python3 and modprobe fail on corrupted memory otherwise).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
UML = '/usr/bin/linux.uml'
UML_MODULES = '/usr/lib/uml/modules'
SHIM_SRC = os.path.join(TOP, 'lab', 'uml-xstate-shim.c')
CACHE = os.environ.get('CACHE_DIR', os.path.join(TOP, '.cache'))
NO_AVX512 = 'glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD,-AVX512ER,-AVX512PF'
MODULES = ('ipv6 ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_sh ip_vs_mh ip_vs_sed ip_vs_nq '
           'ip_tables iptable_mangle ip6_tables ip6table_mangle xt_mark xt_MARK xt_multiport xt_tcpudp')

INIT = '''#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export GLIBC_TUNABLES=%(tunables)s LANG=C
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /lib/modules /work
mount -t hostfs -o ro,%(modules)s none /lib/modules
mount -t hostfs -o %(work)s none /work
for m in %(kmods)s; do modprobe -q "$m" || echo "guest: module $m not loaded" >&2; done
sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 2>/dev/null
ip link set lo up
sh /work/job.sh > /work/job.out 2>&1
echo "$?" > /work/job.rc
halt -f
'''


class GuestUnavailable(Exception):
    """A prerequisite is missing; the message says which."""


def rootfs():
    """The newest complete shared rootfs (scripts/build-rootfs.sh builds it; not done here)."""
    if os.geteuid() != 0:
        raise GuestUnavailable('needs root (overlay mount)')
    for tool in (UML, shutil.which('gcc') or '/nonexistent/gcc'):
        if not os.path.exists(tool):
            raise GuestUnavailable('%s is missing' % tool)
    base = os.path.join(CACHE, 'rootfs')
    trees = [os.path.join(base, n) for n in (os.listdir(base) if os.path.isdir(base) else [])
             if os.path.exists(os.path.join(base, n, '.complete'))]
    if not trees:
        raise GuestUnavailable('the rootfs is not built: run scripts/build-rootfs.sh')
    return max(trees, key=lambda t: os.path.getmtime(os.path.join(t, '.complete')))


def shim():
    """Build (once, cached by content) the LD_PRELOAD shim from lab/uml-xstate-shim.c."""
    with open(SHIM_SRC, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    target = os.path.join(CACHE, 'modules', 'uml-xstate-shim-%s.so' % digest)
    if not os.path.exists(target):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        tmp = target + '.%d.tmp' % os.getpid()
        subprocess.run(['gcc', '-O2', '-Wall', '-shared', '-fPIC', '-o', tmp, SHIM_SRC, '-ldl'],
                       check=True, capture_output=True, timeout=120)
        os.rename(tmp, target)
    return target


def run_job(script, work, mem_mb=512, timeout=600):
    """Boot a guest, run *script* (sh) in it with *work* as /work; return (rc, output)."""
    base = rootfs()
    preload = shim()
    tmp = tempfile.mkdtemp(prefix='lvs-modules-uml.')
    merged = os.path.join(tmp, 'root')
    try:
        for sub in ('upper', 'overlay-work', 'root'):
            os.makedirs(os.path.join(tmp, sub))
        subprocess.run(['mount', '-t', 'overlay', 'overlay', '-o', 'lowerdir=%s,upperdir=%s,workdir=%s' % (
            base, os.path.join(tmp, 'upper'), os.path.join(tmp, 'overlay-work')), merged],
            check=True, capture_output=True, timeout=60)
        try:
            with open(os.path.join(merged, 'lvs-modules-init'), 'w') as handle:
                handle.write(INIT % {'tunables': NO_AVX512, 'modules': UML_MODULES, 'work': work,
                                     'kmods': MODULES})
            os.chmod(os.path.join(merged, 'lvs-modules-init'), 0o755)
            with open(os.path.join(work, 'job.sh'), 'w') as handle:
                handle.write(script)
            for name in ('job.out', 'job.rc'):
                if os.path.exists(os.path.join(work, name)):
                    os.unlink(os.path.join(work, name))
            env = dict(os.environ, LD_PRELOAD=preload, TMPDIR='/dev/shm' if os.access('/dev/shm', os.W_OK) else tmp)
            umid = 'lvsmod%d' % os.getpid()
            console = subprocess.run(
                [UML, 'umid=' + umid, 'uml_dir=' + tmp, 'mem=%dM' % mem_mb, 'root=/dev/root',
                 'rootfstype=hostfs', 'rootflags=' + merged, 'rw', 'init=/lvs-modules-init',
                 'con0=fd:0,fd:1', 'con=null', 'ssl=null', 'quiet'],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, timeout=timeout,
                check=False, start_new_session=True)
        finally:
            subprocess.run(['umount', merged], check=False, capture_output=True, timeout=60)
        try:
            with open(os.path.join(work, 'job.rc')) as handle:
                rc = int(handle.read().strip())
            with open(os.path.join(work, 'job.out')) as handle:
                out = handle.read()
        except (IOError, OSError, ValueError):
            raise AssertionError('the guest did not finish its job; console:\n%s%s'
                                 % (console.stdout[-3000:], console.stderr[-2000:]))
        return rc, out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
