#!/bin/sh
# After install or upgrade: systemd rereads the unit. The service is not
# enabled or started by the package; on upgrade a running one restarts on the
# new binary (try-restart leaves a stopped one stopped).
set -e
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload || true
  systemctl try-restart gcp-aws-cred.service || true
fi
exit 0
