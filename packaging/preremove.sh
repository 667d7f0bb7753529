#!/bin/sh
# Before removal (not before an upgrade): stop and disable the units, so
# nothing runs a deleted binary. dpkg passes "remove" or "upgrade"; rpm the
# number of versions left after this one goes, 0 on removal; apk (Alpine
# runs no systemd) the version.
set -e
case "${1:-remove}" in
  remove | 0) ;;
  *) exit 0 ;;
esac
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now gcp-aws-cred.socket gcp-aws-cred.service >/dev/null 2>&1 || true
fi
exit 0
