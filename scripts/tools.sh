#!/usr/bin/env bash
# Make sure .tools/bin holds the dev/test tools that do not come from apt or Maven:
#   temporal             Temporal CLI (its `server start-dev` is our dev/CI Temporal)
#   llm-d-inference-sim  the OpenAI-compatible inference simulator llm-d tests with
# Both are built from source with `go install` (there are no Debian packages).
#
# Usage: scripts/tools.sh [temporal] [llm-d-inference-sim]   (default: both)
#
# Builds are slow (minutes, cold), so finished binaries are also kept in a per-user
# cache (BGW_TOOLS_CACHE, default ~/.cache/batch-gateway/tools) keyed by version:
# a fresh clone on a machine that built them once just links them in.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Later temporal CLI tags carry a `replace` directive and cannot be go-installed.
TEMPORAL_CLI_VERSIONS=("${BGW_TEMPORAL_CLI_VERSION:-v1.5.1}" v1.4.1 v1.3.0)
SIM_VERSION="${BGW_SIM_VERSION:-v0.10.2}"
CACHE="${BGW_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/batch-gateway/tools}"

export GOFLAGS="-buildvcs=false"
# Strip debug info: the temporal binary is ~250 MB with it.
LDFLAGS="-s -w"

find_go() {
  local go
  if go=$(command -v go 2>/dev/null) || { [[ -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go; }; then
    echo "$go"
  else
    die "Go is needed to build the dev tools (Go >= 1.22; https://go.dev/dl, or a distro package)"
  fi
}

# install_into NAME SRC: move a freshly built binary into .tools/bin and the cache.
install_into() {
  local name=$1 src=$2 key=$3
  mkdir -p "$BGW_TOOLS_BIN" "$CACHE"
  mv -f "$src" "$BGW_TOOLS_BIN/$name"
  echo "$key" >"$BGW_TOOLS_BIN/.$name.version"
  # Hard link when on the same file system (no extra space), else copy.
  ln -f "$BGW_TOOLS_BIN/$name" "$CACHE/$key.tmp" 2>/dev/null || cp -f "$BGW_TOOLS_BIN/$name" "$CACHE/$key.tmp"
  mv -f "$CACHE/$key.tmp" "$CACHE/$key"
}

# ensure NAME KEY BUILD_FUNCTION: nothing if .tools/bin/NAME is the wanted
# version, else take it from the cache, else build it.
ensure() {
  local name=$1 key=$2 build=$3 have=""
  [[ -f $BGW_TOOLS_BIN/.$name.version ]] && have=$(<"$BGW_TOOLS_BIN/.$name.version")
  if [[ -x $BGW_TOOLS_BIN/$name && ($have == "$key" || -z $have) ]]; then
    log "$name: present ($BGW_TOOLS_BIN/$name${have:+, $have})"
    return 0
  fi
  if [[ -x $CACHE/$key ]]; then
    log "$name: linking $key from $CACHE"
    mkdir -p "$BGW_TOOLS_BIN"
    ln -f "$CACHE/$key" "$BGW_TOOLS_BIN/$name" 2>/dev/null || cp -f "$CACHE/$key" "$BGW_TOOLS_BIN/$name"
    echo "$key" >"$BGW_TOOLS_BIN/.$name.version"
    return 0
  fi
  local start=$SECONDS
  "$build" "$key"
  log "$name: built in $((SECONDS - start))s -> $BGW_TOOLS_BIN/$name"
}

build_temporal() {
  local key=$1 go gobin v
  go=$(find_go)
  gobin=$(mktemp -d)
  for v in "${TEMPORAL_CLI_VERSIONS[@]}"; do
    log "temporal: go install github.com/temporalio/cli/cmd/temporal@$v (takes minutes when cold)"
    if GOBIN=$gobin "$go" install -ldflags="$LDFLAGS" "github.com/temporalio/cli/cmd/temporal@$v"; then
      install_into temporal "$gobin/temporal" "$key"
      rm -rf "$gobin"
      return 0
    fi
    log "temporal: $v failed to build, trying the next version"
  done
  rm -rf "$gobin"
  die "could not build the Temporal CLI (tried ${TEMPORAL_CLI_VERSIONS[*]})"
}

build_sim() {
  local key=$1 go dir
  go=$(find_go)
  # `go install ...@version` fails for this module (the proxy refuses its
  # version list), so build it from a throwaway module that requires it.
  dir=$(mktemp -d)
  cat >"$dir/go.mod" <<EOF
module simbuild

go 1.24

require github.com/llm-d/llm-d-inference-sim $SIM_VERSION
EOF
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package simbuild

import _ "github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim"
EOF
  log "llm-d-inference-sim: building $SIM_VERSION in $dir (takes minutes when cold)"
  if ! (cd "$dir" && "$go" mod tidy &&
    GOBIN="$dir/bin" "$go" install -ldflags="$LDFLAGS" github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim); then
    rm -rf "$dir"
    die "could not build llm-d-inference-sim $SIM_VERSION"
  fi
  install_into llm-d-inference-sim "$dir/bin/llm-d-inference-sim" "$key"
  rm -rf "$dir"
}

main() {
  local want=("$@") t
  ((${#want[@]})) || want=(temporal llm-d-inference-sim)
  for t in "${want[@]}"; do
    case $t in
      temporal) ensure temporal "temporal-${TEMPORAL_CLI_VERSIONS[0]}" build_temporal ;;
      llm-d-inference-sim | sim) ensure llm-d-inference-sim "llm-d-inference-sim-$SIM_VERSION" build_sim ;;
      *) die "unknown tool '$t' (temporal, llm-d-inference-sim)" ;;
    esac
  done
}

main "$@"
