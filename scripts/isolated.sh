#!/bin/bash
# Runs a command in its own PID, network, mount and cgroup namespaces, so that several test runs on
# this machine never see (or reap) each other's processes, ports or run cgroups.
#   usage: scripts/isolated.sh NAME command [args...]   (as root)
# Inside: PID 1 is the namespace's own, /proc shows only its processes, loopback is up, and the
# cgroup v2 mount shows only the group /sys/fs/cgroup/unified/dev-NAME.
# Known differences from a normal run: watch.test.ts (expects >10 processes on the machine) and the
# hardening test "after snapshot fails (/proc gone)" fail inside; both pass outside.
set -euo pipefail
name=$1; shift
cg=/sys/fs/cgroup/unified/dev-$name
mkdir -p "$cg"
echo $$ > "$cg/cgroup.procs"
status=0
unshare --pid --fork --mount-proc --net --cgroup bash -c 'umount -l /sys/fs/cgroup/unified && mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified && ip link set lo up && exec "$@"' _ "$@" || status=$?
# Out of the group, then the group (and any a test left in it, empty once the namespace is gone) removed.
echo $$ > /sys/fs/cgroup/unified/cgroup.procs
find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
exit $status
