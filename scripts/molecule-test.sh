#!/usr/bin/env bash
# molecule-test.sh SCENARIO: `molecule test -s SCENARIO` from a clean molecule state.
#
# molecule keeps a scenario's state (created, prepared, inventory) in
# ~/.ansible/tmp/molecule.<hash of the checkout's folder NAME>.<scenario>: two clones named
# alike (/work/main, /check/work/main) share it, and a run that was killed leaves
# "prepared: true" behind, so the next run skips prepare and fails for no reason of its
# own (seen: ipvs_modules' test VIP never bound). Here each run gets its own state under
# build/molecule/, emptied first.
set -euo pipefail
s="${1:?usage: molecule-test.sh SCENARIO}"
top="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -f "$top/molecule/$s/molecule.yml" ] || { echo "molecule-test: no scenario '$s' (molecule/$s/molecule.yml)" >&2; exit 2; }
export MOLECULE_EPHEMERAL_DIRECTORY="$top/build/molecule/$s"
rm -rf "$MOLECULE_EPHEMERAL_DIRECTORY"   # molecule creates it again
exec molecule test -s "$s"
