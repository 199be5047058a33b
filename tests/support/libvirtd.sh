# shellcheck shell=bash
# Moved to scripts/lib/libvirtd.sh (the demo uses it too); kept for the tests that source it here.
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/libvirtd.sh"
