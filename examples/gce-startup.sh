#!/bin/bash
# Compute Engine startup script: installs a pinned gcp-aws-cred release and
# makes the AWS role of the VM's service account the default AWS profile on
# the VM. Startup scripts run as root at every boot; a binary already in place
# with the pinned SHA-256 is left alone.
#
# Pin a release first: set VERSION and the two SHA-256 values below from the
# release's checksums.txt, after verifying that file's signature
# (docs/verify.md). The VM then installs exactly those bytes or nothing.
#
#   gcloud compute instances create etl-1 \
#     --service-account=etl@my-project.iam.gserviceaccount.com --scopes=cloud-platform \
#     --metadata=aws-role-arn=arn:aws:iam::123456789012:role/aws-allow-gcp-access,aws-region=eu-west-1 \
#     --metadata-from-file=startup-script=examples/gce-startup.sh
#
# The role comes from the instance metadata attribute aws-role-arn, the AWS
# region from aws-region (default us-east-1): the profile's region and, with
# --region, the STS region too (AWS tools pass no profile setting to a
# credential process). The config goes to
# /etc/aws/config and AWS_CONFIG_FILE into /etc/environment, which login
# sessions read; a systemd service needs Environment=AWS_CONFIG_FILE=/etc/aws/config.
# The script logs to the serial console; `gcp-aws-cred doctor` there says
# whether the role's trust policy admits the VM, and what to change if not.
#
# Every setting can also come from the environment (the project's tests use
# that): GCP_AWS_CRED_VERSION, GCP_AWS_CRED_SHA256_LINUX_AMD64,
# GCP_AWS_CRED_SHA256_LINUX_ARM64, GCP_AWS_CRED_BASE_URL, GCP_AWS_CRED_ROOT (a
# directory to install under instead of /), GCE_METADATA_HOST.
set -euo pipefail

VERSION=${GCP_AWS_CRED_VERSION:-1.0.0}
SHA256_LINUX_AMD64=${GCP_AWS_CRED_SHA256_LINUX_AMD64:-0000000000000000000000000000000000000000000000000000000000000000}
SHA256_LINUX_ARM64=${GCP_AWS_CRED_SHA256_LINUX_ARM64:-0000000000000000000000000000000000000000000000000000000000000000}
BASE_URL=${GCP_AWS_CRED_BASE_URL:-https://github.com/gcp-aws-cred/gcp-aws-cred/releases/download}
ROOT=${GCP_AWS_CRED_ROOT:-}
METADATA=${GCE_METADATA_HOST:-metadata.google.internal}

bin=$ROOT/usr/local/bin/gcp-aws-cred
config=$ROOT/etc/aws/config

die() { echo "gcp-aws-cred startup: error: $*" >&2; exit 1; }

case $(uname -m) in
  x86_64) arch=amd64 want=$SHA256_LINUX_AMD64 ;;
  aarch64) arch=arm64 want=$SHA256_LINUX_ARM64 ;;
  *) die "no gcp-aws-cred release for $(uname -m)" ;;
esac
[[ $want =~ ^[0-9a-f]{64}$ && $want != 0000000000000000000000000000000000000000000000000000000000000000 ]] ||
  die "no SHA-256 pinned for linux/$arch: set SHA256_LINUX_${arch^^} to its line in the checksums.txt of v$VERSION"

# attribute NAME prints the instance metadata attribute, or nothing if unset.
attribute() {
  local out status
  out=$(curl -sS --max-time 5 --retry 5 --retry-connrefused -H 'Metadata-Flavor: Google' \
    -w '\n%{http_code}' "http://$METADATA/computeMetadata/v1/instance/attributes/$1") ||
    die "cannot reach the metadata server at $METADATA"
  status=${out##*$'\n'}
  case $status in
    200) printf '%s' "${out%$'\n'*}" ;;
    404) ;;
    *) die "the metadata server answered HTTP $status for attribute $1" ;;
  esac
}

role=$(attribute aws-role-arn)
[ -n "$role" ] || die "the instance has no metadata attribute aws-role-arn (gcloud compute instances add-metadata VM --metadata=aws-role-arn=arn:aws:iam::ACCOUNT:role/NAME)"
# The value goes into a config file: accept a role ARN and nothing else.
[[ $role =~ ^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$ ]] ||
  die "metadata attribute aws-role-arn is not an IAM role ARN: ${role//[^[:print:]]/?}"
region=$(attribute aws-region)
region=${region:-us-east-1}
[[ $region =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || die "metadata attribute aws-region is not an AWS region: ${region//[^[:print:]]/?}"

if [ -x "$bin" ] && echo "$want  $bin" | sha256sum --check --status; then
  echo "gcp-aws-cred v$VERSION already installed at $bin"
else
  name=gcp-aws-cred_${VERSION}_linux_$arch
  url=$BASE_URL/v$VERSION/$name
  mkdir -p "$(dirname "$bin")"
  tmp=$(mktemp "$bin.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  curl --proto '=https' --proto-redir '=https' --tlsv1.2 -fsSL --retry 5 --retry-connrefused -o "$tmp" "$url" ||
    die "cannot download $url"
  got=$(sha256sum "$tmp" | cut -d ' ' -f 1)
  [ "$got" = "$want" ] || die "$url has SHA-256 $got, not the pinned $want: not installed"
  chmod 0755 "$tmp"
  mv -f "$tmp" "$bin"
  echo "installed gcp-aws-cred v$VERSION at $bin"
fi

mkdir -p "$(dirname "$config")"
cat > "$config.new" <<EOF
# Written by the gcp-aws-cred startup script at every boot; edit the
# instance metadata (aws-role-arn, aws-region), not this file.
[default]
credential_process = $bin --role $role --region $region
region = $region
EOF
mv -f "$config.new" "$config"
touch "$ROOT/etc/environment"
grep -qx "AWS_CONFIG_FILE=$config" "$ROOT/etc/environment" ||
  echo "AWS_CONFIG_FILE=$config" >> "$ROOT/etc/environment"
echo "AWS profile default: $role in $region ($config)"

# Check the chain now, so the serial console says whether AWS calls will
# work. A failure is reported, not fatal: the VM is still useful, and the
# binary is in place for when the trust policy is fixed.
"$bin" --version | head -n 1
if ! "$bin" doctor --role "$role" --region "$region"; then
  echo "gcp-aws-cred startup: AWS calls will fail until the trust policy admits this VM (see above)" >&2
fi
