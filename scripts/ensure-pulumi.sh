#!/usr/bin/env bash
# Make sure the Pulumi engine this project runs through is installed: the `pulumi` CLI, its nodejs
# language host, and the docker, random and tls resource plugins at exactly the versions of
# @pulumi/docker, @pulumi/random and @pulumi/tls in package.json.
#
# 1. A `pulumi` on PATH or in ~/.pulumi/bin that already has those plugins, the language host and the
#    nodejs dynamic provider (pulumi-resource-pulumi-nodejs) beside it: nothing to do.
# 2. Otherwise build what is missing from the Go modules pinned under tools/pulumi/ (go.mod + go.sum,
#    so no checksum-database lookups) and install it where the official installer puts it:
#    the binaries in ~/.pulumi/bin, the plugins with `pulumi plugin install resource NAME VERSION --file`.
#    - pulumi                   github.com/pulumi/pulumi/pkg/v3 (tools/pulumi/cli)
#    - pulumi-language-nodejs   github.com/pulumi/pulumi/sdk/v3 v3.68.0 (tools/pulumi/language-nodejs)
#    - pulumi-resource-*        the upstream Terraform provider + pulumi-terraform-bridge, through
#                               the thin main.go in tools/pulumi/provider-*
#    Built binaries are cached (see CACHE_ROOT), each keyed by its pinned sources and version, so a rebuild
#    only happens when those change. The Go build cache (several GB) is freed afterwards.
#
# Environment:
#   PULUMI_HOME      where plugins and ~/.pulumi/bin live (default ~/.pulumi), as for the real CLI
#   XDG_CACHE_HOME   the binary cache is $XDG_CACHE_HOME/consul-multi-dc/pulumi (default ~/.cache)
#   KEEP_GO_CACHE=1  do not free the Go build cache after building
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "${SCRIPT_DIR}")
TOOLS_DIR="${REPO_DIR}/tools/pulumi"
PULUMI_HOME="${PULUMI_HOME:-${HOME}/.pulumi}"
BIN_DIR="${PULUMI_HOME}/bin"
CACHE_ROOT="${XDG_CACHE_HOME:-${HOME}/.cache}/consul-multi-dc/pulumi"
PLUGINS=(docker random tls)

LIB_NAME=ensure-pulumi
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The exact version package.json pins for a dependency ("5.2.0"; a range would make the plugin
# version ambiguous, so it is refused).
pinned_version() {
  local v
  v=$(node -p "require('${REPO_DIR}/package.json').dependencies['$1'] || ''") ||
    die "cannot read ${REPO_DIR}/package.json with node."
  [[ "${v}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] ||
    die "package.json pins $1 as '${v}'; the plugin version must be exact (e.g. 5.2.0) so the engine and the SDK agree."
  echo "${v}"
}
declare -A WANT
for p in "${PLUGINS[@]}"; do WANT[${p}]=$(pinned_version "@pulumi/${p}"); done

# ---------------------------------------------------------------------------------------------
# 1. Already there?
# ---------------------------------------------------------------------------------------------
find_pulumi() {
  if command -v pulumi >/dev/null 2>&1; then command -v pulumi
  elif [[ -x "${BIN_DIR}/pulumi" ]]; then echo "${BIN_DIR}/pulumi"
  fi
}

# "docker 5.2.0" lines for the resource plugins this CLI has installed.
installed_plugins() {
  PULUMI_HOME="${PULUMI_HOME}" PULUMI_SKIP_UPDATE_CHECK=1 "$1" plugin ls --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const p of JSON.parse(s||"[]"))if(p.kind==="resource")console.log(p.name+" "+p.version)})'
}

missing_plugins() {
  local have p
  have=$(installed_plugins "$1" || true)
  for p in "${PLUGINS[@]}"; do
    grep -qx "${p} ${WANT[${p}]}" <<<"${have}" || echo "${p}"
  done
}

# A program the CLI runs that sits next to it (or on PATH): the nodejs language host, and the nodejs
# dynamic provider, which runs the stack's dynamic resources (components/resources/failover-query.ts).
beside_cli() { [[ -x "$(dirname "${PULUMI}")/$1" ]] || command -v "$1" >/dev/null; }

PULUMI=$(find_pulumi || true)
if [[ -n "${PULUMI}" ]]; then
  MISSING=$(missing_plugins "${PULUMI}")
  if [[ -z "${MISSING}" ]] && beside_cli pulumi-language-nodejs && beside_cli pulumi-resource-pulumi-nodejs; then
    say "${PULUMI} ($("${PULUMI}" version 2>/dev/null)) has docker ${WANT[docker]}, random ${WANT[random]} and tls ${WANT[tls]}."
    exit 0
  fi
fi

# ---------------------------------------------------------------------------------------------
# 2. Build what is missing
# ---------------------------------------------------------------------------------------------
find_go || die "the Pulumi CLI and its plugins are not installed, and Go is needed to build them: install Go 1.25 or later (https://go.dev/dl/), or install Pulumi (https://www.pulumi.com/docs/install/) and run 'pulumi plugin install resource docker ${WANT[docker]}' (and random ${WANT[random]}, tls ${WANT[tls]})."

# Pinned builds: the committed go.sum is the whole truth, and a parent go.work must not interfere.
export GOWORK=off GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 GOTOOLCHAIN=local

mkdir -p "${CACHE_ROOT}"
exec 9>"${CACHE_ROOT}/.lock"
flock 9
GO_VERSION=$("${GO}" version)

# A binary's cache key covers everything that decides its bytes: its pinned module (go.mod, go.sum,
# sources), the version stamped into it, and Go itself.
cache_key() {
  (cd "$1" && { find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) | LC_ALL=C sort | xargs sha256sum
    echo "$2 ${GO_VERSION}"; } | sha256sum | cut -c1-16)
}

now() { date +%s; }
STEP=0
TOTAL=0
BUILT=0
declare -A BUILT_AT

# build NAME MODULE_DIR PACKAGE LDFLAGS: one binary into the cache, with a progress line.
build() {
  local name=$1 dir=$2 pkg=$3 ldflags=$4 t0 out log
  out="${CACHE_ROOT}/${name}-$(cache_key "${dir}" "${ldflags}")"
  log="${out}.log"
  STEP=$((STEP + 1))
  BUILT_AT[${name}]=${out}
  if [[ -x "${out}" ]]; then
    say "[${STEP}/${TOTAL}] ${name}: cached"
    return 0
  fi
  t0=$(now)
  say "[${STEP}/${TOTAL}] ${name}: building from ${dir#"${REPO_DIR}/"} (log: ${log})..."
  if ! (cd "${dir}" && "${GO}" build -trimpath -ldflags "-s -w ${ldflags}" -o "${out}.tmp" "${pkg}") >"${log}" 2>&1; then
    tail -n 25 "${log}" >&2
    die "building ${name} failed (above, and ${log}). Check that the Go module proxy ($("${GO}" env GOPROXY)) answers and that Go is at least the 'go' line of ${dir#"${REPO_DIR}/"}/go.mod."
  fi
  mv -f "${out}.tmp" "${out}"
  BUILT=$((BUILT + 1))
  say "[${STEP}/${TOTAL}] ${name}: built in $(($(now) - t0))s ($(du -h "${out}" | cut -f1))"
}

module_version() { (cd "$1" && "${GO}" list -m -f '{{.Version}}' "$2"); }
VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

NEED_CLI=1
[[ -n "${PULUMI}" ]] && NEED_CLI=0
NEED_LANG=1
[[ -n "${PULUMI}" ]] && beside_cli pulumi-language-nodejs && NEED_LANG=0
NEED_DYNAMIC=1
[[ -n "${PULUMI}" ]] && beside_cli pulumi-resource-pulumi-nodejs && NEED_DYNAMIC=0
TOTAL=$((NEED_CLI + NEED_LANG + ${#PLUGINS[@]}))

if ((NEED_CLI)); then
  v=$(module_version "${TOOLS_DIR}/cli" github.com/pulumi/pulumi/pkg/v3)
  build pulumi "${TOOLS_DIR}/cli" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "-X ${VERSION_VAR}=${v}"
fi
if ((NEED_LANG)); then
  v=$(module_version "${TOOLS_DIR}/language-nodejs" github.com/pulumi/pulumi/sdk/v3)
  build pulumi-language-nodejs "${TOOLS_DIR}/language-nodejs" github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "-X ${VERSION_VAR}=${v}"
fi
for p in "${PLUGINS[@]}"; do
  build "pulumi-resource-${p}" "${TOOLS_DIR}/provider-${p}" . "-X main.version=${WANT[${p}]}"
  got=$("${BUILT_AT[pulumi-resource-${p}]}" -version 2>&1 | tail -n1)
  [[ "${got}" == "${WANT[${p}]}" ]] ||
    die "pulumi-resource-${p} reports version '${got}', but package.json pins @pulumi/${p} ${WANT[${p}]}; delete ${BUILT_AT[pulumi-resource-${p}]} and re-run."
done

if ((BUILT > 0)) && [[ -z "${KEEP_GO_CACHE:-}" ]]; then
  say "freeing the Go build cache ($(du -sh "$("${GO}" env GOCACHE)" 2>/dev/null | cut -f1)); the binaries stay cached in ${CACHE_ROOT}."
  "${GO}" clean -cache
fi

# ---------------------------------------------------------------------------------------------
# Install, where the official installer puts things
# ---------------------------------------------------------------------------------------------
mkdir -p "${BIN_DIR}"
if ((NEED_CLI)); then
  install -m 0755 "${BUILT_AT[pulumi]}" "${BIN_DIR}/pulumi"
  PULUMI="${BIN_DIR}/pulumi"
fi
# The CLI looks for its language hosts next to itself first.
if ((NEED_LANG)); then
  install -m 0755 "${BUILT_AT[pulumi-language-nodejs]}" "$(dirname "${PULUMI}")/pulumi-language-nodejs"
fi

# The dynamic provider is a small script the nodejs SDK module ships beside the language host's sources.
if ((NEED_DYNAMIC)); then
  sdk_dir=$(cd "${TOOLS_DIR}/language-nodejs" && GOFLAGS=-mod=mod "${GO}" mod download -json github.com/pulumi/pulumi/sdk/v3 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -f "${sdk_dir}/nodejs/dist/pulumi-resource-pulumi-nodejs" ]] ||
    die "the nodejs SDK module (${sdk_dir:-not downloaded}) has no nodejs/dist/pulumi-resource-pulumi-nodejs to install."
  install -m 0755 "${sdk_dir}/nodejs/dist/pulumi-resource-pulumi-nodejs" "$(dirname "${PULUMI}")/pulumi-resource-pulumi-nodejs"
fi

for p in "${PLUGINS[@]}"; do
  PULUMI_HOME="${PULUMI_HOME}" PULUMI_SKIP_UPDATE_CHECK=1 \
    "${PULUMI}" plugin install resource "${p}" "${WANT[${p}]}" --file "${BUILT_AT[pulumi-resource-${p}]}" --reinstall >/dev/null 2>&1 ||
    die "'pulumi plugin install resource ${p} ${WANT[${p}]} --file ${BUILT_AT[pulumi-resource-${p}]}' failed."
done

MISSING=$(missing_plugins "${PULUMI}")
[[ -z "${MISSING}" ]] || die "after installing, 'pulumi plugin ls' still lacks: ${MISSING//$'\n'/ } at the package.json versions."
say "installed $("${PULUMI}" version) in $(dirname "${PULUMI}") with docker ${WANT[docker]}, random ${WANT[random]}, tls ${WANT[tls]}."
[[ "$(command -v pulumi || true)" == "${PULUMI}" ]] || say "add $(dirname "${PULUMI}") to your PATH to run 'pulumi' yourself; the tests find it there."
