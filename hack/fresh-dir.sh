#!/bin/sh
# fresh-dir.sh DIR: unmounts whatever a store left mounted under DIR, then
# removes it, so a benchmark starts each run from a cold store.
awk -v d="$1" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r umount -l
rm -rf "$1"
