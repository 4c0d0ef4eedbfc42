# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ipvsadm command, wrapped once for every module of lvs.cluster.

Every invocation goes through :class:`Ipvsadm`: the binary is looked up once
(a missing one fails naming the package), commands run with ``LANG=C`` so the
output is parseable, and the kernel's "no IPVS" answer becomes a clear message
instead of a traceback.  Reading is one ipvsadm process (``-S -n`` and
``-L -n --thresholds`` fed to ``ipvsadm -R``); writing is one ``ipvsadm -R`` batch
fed on stdin, whatever the number of entries.  A line ``ipvsadm -R`` refuses is
reported on stderr with exit status 0: any stderr output counts as a failure.
"""

from __future__ import annotations

from ansible_collections.lvs.cluster.plugins.module_utils import ipvs

PACKAGE = 'ipvsadm'
NO_IPVS_MESSAGE = 'IPVS is not available in this kernel (load ip_vs)'
# what ipvsadm says when the kernel has no IP_VS (and modprobe cannot help)
_NO_IPVS_MARKERS = ("Can't initialize ipvs", 'Protocol not available',
                    'Are you sure that IP Virtual Server is built')
_ENV = {'LANG': 'C', 'LC_ALL': 'C', 'LC_MESSAGES': 'C'}

# the read commands, declared once
# The table in ONE process: ipvsadm -R runs list commands too. -S alone does not
# print thresholds (-x/-y) in ipvsadm 1.31; -L --thresholds does (not forwarding).
_READ = ['-R']
_READ_INPUT = '-S -n\n-L -n --thresholds'
_LIST = ['-L', '-n']
_STATS = ['-L', '-n', '--stats', '--exact']
_RATE = ['-L', '-n', '--rate', '--exact']
_CONNECTIONS = ['-L', '-n', '-c']
_DAEMON = ['-L', '-n', '--daemon']
_RESTORE = ['-R']
_DIAGNOSE = ['-L', '-n', '--timeout']


class IpvsadmError(Exception):
    """ipvsadm failed; ``msg`` is meant for the user, ``rc``/``stderr`` are attached."""

    def __init__(self, msg, rc=None, stdout='', stderr='', cmd=None):
        super(IpvsadmError, self).__init__(msg)
        self.msg = msg
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.cmd = cmd

    def fail_kwargs(self):
        result = {'msg': self.msg}
        if self.rc is not None:
            result.update(rc=self.rc, stdout=self.stdout, stderr=self.stderr, cmd=self.cmd)
        return result


class Ipvsadm(object):
    """Runs ipvsadm for an AnsibleModule; one instance per module call."""

    def __init__(self, module, binary=None):
        self.module = module
        self.binary = binary or module.get_bin_path('ipvsadm')
        if not self.binary:
            raise IpvsadmError('ipvsadm was not found on the target: install the package %s' % PACKAGE)

    def _run(self, args, data=None):
        cmd = [self.binary] + list(args)
        try:
            rc, out, err = self.module.run_command(cmd, data=data, binary_data=False, environ_update=_ENV,
                                                   check_rc=False, handle_exceptions=False)
        except (OSError, IOError) as exc:
            if data is None:
                raise IpvsadmError('%s failed: %s' % (' '.join(cmd), exc), None, '', '', cmd)
            # ipvsadm exited before reading its stdin (EPIPE), e.g. when it cannot
            # talk to IPVS at all: ask it again without input to get its message
            self._run(_DIAGNOSE)
            raise IpvsadmError('%s failed: %s' % (' '.join(cmd), exc), None, '', '', cmd)
        if rc == 0 and data is not None and err.strip():
            # ipvsadm -R reports a refused line on stderr and goes on with rc 0
            # ("Service not defined"): the batch did not fully apply
            rc = 1
        if rc != 0:
            text = '%s\n%s' % (out, err)
            if any(marker in text for marker in _NO_IPVS_MARKERS):
                raise IpvsadmError(NO_IPVS_MESSAGE, rc, out, err, cmd)
            raise IpvsadmError('%s failed (rc=%d): %s' % (' '.join(cmd), rc, (err or out).strip()),
                               rc, out, err, cmd)
        return out

    # -- reads -----------------------------------------------------------------
    def save(self):
        """The whole table with thresholds: {key: VirtualService}.  One process."""
        out = self._run(_READ, data=_READ_INPUT)
        try:
            return ipvs.parse_read(out)
        except ipvs.IPVSParseError as exc:
            raise IpvsadmError('cannot read the ipvsadm output: %s' % exc, 0, out, '', _READ)

    def listing(self):
        return ipvs.parse_list(self._run(_LIST), None)

    def stats(self):
        return ipvs.parse_list(self._run(_STATS), ipvs.STATS_COLUMNS)

    def rates(self):
        return ipvs.parse_list(self._run(_RATE), ipvs.RATE_COLUMNS)

    def connections(self):
        return ipvs.parse_connections(self._run(_CONNECTIONS))

    def daemons(self):
        return ipvs.parse_daemon(self._run(_DAEMON))

    # -- writes ----------------------------------------------------------------
    def restore(self, lines):
        """Apply ipvsadm -R lines in one process.  No lines: no process."""
        if not lines:
            return
        # run_command appends the final newline (binary_data=False); a blank
        # line would be a command of its own to ipvsadm -R
        self._run(_RESTORE, data='\n'.join(lines))

    def start_daemon(self, state, interface, syncid):
        args = ['--start-daemon', state, '--mcast-interface', interface, '--syncid', str(syncid)]
        self._run(args)

    def stop_daemon(self, state):
        self._run(['--stop-daemon', state])
