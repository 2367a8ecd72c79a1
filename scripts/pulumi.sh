#!/usr/bin/env bash
# The project's pulumi: the CLI on your PATH, else the one scripts/ensure-pulumi.sh installed in
# ~/.pulumi/bin. Unless you chose a backend yourself (PULUMI_BACKEND_URL), a stack `npm start` made
# lives in the project's own backend: a file backend in .pulumi-local/ (gitignored), with a secrets
# passphrase made once in a file only you can read. Nothing asks for a login or a passphrase.
#
#   npm run pulumi -- stack output uiUrls       any pulumi command, on that backend
#   PROJECT_BACKEND=1 scripts/pulumi.sh …      use (and make) the project's backend even before it exists
#
# Pulumi writes a passphrase's salt into the stack's settings file, and Pulumi.dev.yaml is committed.
# So the commands that read a stack's config (up, preview, refresh, destroy) get a copy made for them,
# .pulumi-local/Pulumi.<stack>.yaml: Pulumi.<stack>.yaml with the salt added. Edit Pulumi.dev.yaml as
# before; the copy follows it on every run.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "${SCRIPT_DIR}")
LOCAL_DIR="${REPO_DIR}/.pulumi-local"

LIB_NAME=pulumi
. "${SCRIPT_DIR}/lib.sh"

PULUMI=$(command -v pulumi || true)
[[ -n "${PULUMI}" ]] || PULUMI="${PULUMI_HOME:-${HOME}/.pulumi}/bin/pulumi"
[[ -x "${PULUMI}" ]] || die "no pulumi CLI on PATH or in ~/.pulumi/bin; run npm run prereqs (scripts/ensure-pulumi.sh)."
export PULUMI_SKIP_UPDATE_CHECK=1
# Offline, a missing plugin must fail at once, not start a download.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

# Your own backend wins; else the project's, once `npm start` made it (or when asked to make it).
if [[ -n "${PULUMI_BACKEND_URL:-}" || ( "${PROJECT_BACKEND:-0}" != 1 && ! -d "${LOCAL_DIR}/backend" ) ]]; then
  exec "${PULUMI}" "$@"
fi

mkdir -p "${LOCAL_DIR}/backend"
chmod 700 "${LOCAL_DIR}"
export PULUMI_BACKEND_URL="file://${LOCAL_DIR}/backend"
if [[ ! -s "${LOCAL_DIR}/passphrase" ]]; then
  (umask 077 && head -c 32 /dev/urandom | base64 | tr -d "\n" >"${LOCAL_DIR}/passphrase.tmp" && mv "${LOCAL_DIR}/passphrase.tmp" "${LOCAL_DIR}/passphrase")
fi
export PULUMI_CONFIG_PASSPHRASE_FILE="${LOCAL_DIR}/passphrase"
unset PULUMI_CONFIG_PASSPHRASE

# The stack a command names (--stack NAME, -s NAME), else dev.
stack=dev
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --stack | -s) stack=${args[i + 1]:-dev} ;;
    --stack=*) stack=${args[i]#--stack=} ;;
  esac
done

# A new stack is made where its salt cannot land in the committed settings file: in an empty directory
# that holds only the project file. The salt is kept beside the passphrase it belongs to.
salt_file="${LOCAL_DIR}/${stack}.encryptionsalt"
if [[ ! -s "${salt_file}" ]]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "${scratch}"' EXIT
  cp "${REPO_DIR}/Pulumi.yaml" "${scratch}/"
  made=$(cd "${scratch}" && "${PULUMI}" stack init "${stack}" --secrets-provider passphrase 2>&1) ||
    die "could not create the stack ${stack} in ${LOCAL_DIR}/backend: ${made}"
  sed -n 's/^encryptionsalt: *//p' "${scratch}/Pulumi.${stack}.yaml" >"${salt_file}"
  [[ -s "${salt_file}" ]] || die "pulumi stack init wrote no encryptionsalt for ${stack}."
  (cd "${REPO_DIR}" && "${PULUMI}" stack select "${stack}" >/dev/null)
fi

case "${1:-}" in
  up | update | preview | pre | refresh | destroy | down)
    settings="${REPO_DIR}/Pulumi.${stack}.yaml"
    copy="${LOCAL_DIR}/Pulumi.${stack}.yaml"
    [[ -f "${settings}" ]] || die "${settings} is missing: the stack ${stack} has no settings file."
    # A settings file that has a salt already (you ran `pulumi config set --secret` on this backend) is used as it is.
    if grep -q '^encryptionsalt:' "${settings}"; then
      cp "${settings}" "${copy}"
    else
      { cat "${settings}"; printf 'encryptionsalt: %s\n' "$(cat "${salt_file}")"; } >"${copy}"
    fi
    cd "${REPO_DIR}"
    exec "${PULUMI}" "$@" --stack "${stack}" --config-file "${copy}"
    ;;
esac
cd "${REPO_DIR}"
exec "${PULUMI}" "$@"
