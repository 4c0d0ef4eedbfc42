# -*- coding: utf-8 -*-
# Copyright: lvs.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for ansible-test's pip bootstrap script (get-pip.py) on machines that reach
PyPI but not ci-files.testing.ansible.com.

ansible-test runs each sanity test in its own venv, made ``--without-pip``, and installs
pip into it by running ``~/.ansible/test/cache/get_pip_<version>.py <pip options>
pip==<version> ... --no-setuptools --no-wheel``. This script does the same job with the
standard library's ``ensurepip`` and then lets that pip install the requested packages
(pip itself at the pinned version included) from the configured index.
mk/sanity.mk copies it into place when the real script is not cached.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY = ('--no-setuptools', '--no-wheel', '--no-pip')


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
    # ensurepip points PIP_CONFIG_FILE at /dev/null in os.environ: keep the caller's
    # environment (and so the machine's pip.conf: index, proxy CA) for the real install.
    env = dict(os.environ)
    ensurepip.bootstrap(upgrade=False, default_pip=True)
    return subprocess.call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args, env=env)


if __name__ == '__main__':
    sys.exit(main())
