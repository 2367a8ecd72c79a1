# shellcheck shell=bash
# Sourced by the scripts that act on a running stack: reads its outputs with the pulumi CLI.
# Needs STACK (an array: empty, or --stack NAME) and a `die` function (scripts/lib.sh); defines OUTPUTS, `field`
# and `list`.
# The project's pulumi (scripts/pulumi.sh): the stack `npm start` made, or the one on your own backend.
PULUMI="$(dirname "${BASH_SOURCE[0]}")/pulumi.sh"

# Secrets are shown only into this script's variables, never printed.
OUTPUTS=$(bash "${PULUMI}" stack output "${STACK[@]}" --show-secrets --json 2>/dev/null) ||
  die "cannot read the stack outputs; run 'pulumi up' first (or pass --stack)."
# One output by dotted path (containers.dc1.servers.0), as text.
field() { node -e 'const o=JSON.parse(process.argv[1]); const v=process.argv[2].split(".").reduce((a,k)=>a?.[k],o); if(v===undefined)process.exit(1); console.log(typeof v==="string"?v:JSON.stringify(v))' "${OUTPUTS}" "$1"; }
# A list output, its items separated by spaces.
list() { field "$1" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).join(" ")))'; }
