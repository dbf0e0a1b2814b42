#!/usr/bin/env bash
# Fails when a module under engine/ includes a header of a module it may not
# depend on (docs/architecture.md, "Modules"). Dependencies point one way only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/engine"

declare -A allowed=(
  [core]=""
  [model]="core"
  [data]="model core"
  [ta]="model core"
  [script]="ta model core"
  [journal]="model core"
  [portfolio]="model core"
  [exec]="model core"
  [risk]="exec portfolio model core"
  [runner]="script ta exec risk portfolio journal model core"
  [backtest]="runner script ta exec risk portfolio journal data model core"
  [config]="model core"
  [venue]="model core"
  [telemetry]="model core"
  [live]="backtest runner script ta exec risk portfolio journal data venue config telemetry model core"
  [app]="*"
)

status=0
for dir in */; do
  mod=${dir%/}
  if [ -z "${allowed[$mod]+set}" ]; then
    echo "check_layers: engine/$mod is not in the dependency table (tests/lint/check_layers.sh)"
    status=1
    continue
  fi
  [ "${allowed[$mod]}" = "*" ] && continue
  while IFS=: read -r file dep; do
    [ "$dep" = "$mod" ] && continue
    case " ${allowed[$mod]} " in
      *" $dep "*) ;;
      *) echo "check_layers: $file includes engine/$dep/ but $mod may only use: ${allowed[$mod]:-nothing}"; status=1 ;;
    esac
  done < <(grep -rHoE '#include "engine/[a-z_]+/' "$mod" | sed -E 's|^([^:]+):#include "engine/([a-z_]+)/|\1:\2|')
done

# Third-party headers stay inside the module that wraps them.
check_vendor() {  # pattern, allowed module list
  local pattern=$1; shift
  while IFS= read -r file; do
    local mod=${file%%/*} ok=0
    for m in "$@"; do [ "$mod" = "$m" ] && ok=1; done
    if [ $ok -eq 0 ]; then echo "check_layers: $file includes $pattern (only: $*)"; status=1; fi
  done < <(grep -rlE "#include [<\"]($pattern)" . | sed 's|^\./||')
}
check_vendor 'lua\.hpp|lua\.h|lauxlib\.h|lualib\.h|luajit\.h' script
check_vendor 'CLI/' app
check_vendor 'toml\+\+/' config
check_vendor 'msgpack|lz4' journal
check_vendor 'boost/|openssl/ssl' venue telemetry app live
check_vendor 'simdjson' venue

[ $status -eq 0 ] && echo "check_layers: ok"
exit $status
