#!/usr/bin/env bash
# Build a local Kubernetes control plane for certlab's kwok backend, from the Go module proxy.
#
#   scripts/build-control-plane.sh            # default version
#   K8S_VERSION=v1.34.4 scripts/build-control-plane.sh
#
# Produces, in ${CERTLAB_CP_CACHE:-$HOME/.cache/certlab/control-plane/<version>}/bin:
#   kube-apiserver kube-controller-manager kube-scheduler  (wrapper module around k8s.io/kubernetes)
#   kwok                                                   (sigs.k8s.io/kwok/cmd/kwok)
#   etcd                     (system or Debian etcd-server, else go.etcd.io/etcd; see CERTLAB_ETCD)
# Idempotent: binaries already present are skipped (FORCE=1 rebuilds everything).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.21}"
CACHE="${CERTLAB_CP_CACHE:-$HOME/.cache/certlab/control-plane/$K8S_VERSION}"
BIN="$CACHE/bin"
WORK="$CACHE/src"
FORCE="${FORCE:-0}"
export GOFLAGS="${GOFLAGS:--p=2} -buildvcs=false"
export CGO_ENABLED="${CGO_ENABLED:-0}"

say() { printf '[build-control-plane] %s\n' "$*"; }
have() { [[ "$FORCE" != 1 && -x "$BIN/$1" ]]; }

command -v go >/dev/null || { say "error: go is not installed (need Go >= 1.24)"; exit 1; }
mkdir -p "$BIN" "$WORK"
say "Kubernetes $K8S_VERSION, kwok $KWOK_VERSION; cache $CACHE"
start=$SECONDS

# --- kube-apiserver, kube-controller-manager, kube-scheduler -------------------------------
components=(kube-apiserver kube-controller-manager kube-scheduler)
missing=()
for c in "${components[@]}"; do have "$c" || missing+=("$c"); done
if ((${#missing[@]})); then
  mod="$WORK/k8s-wrapper"
  mkdir -p "$mod"
  say "downloading k8s.io/kubernetes@$K8S_VERSION go.mod"
  kmod="$(cd "$mod" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
          | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [[ -f "$kmod" ]] || { say "error: could not download k8s.io/kubernetes@$K8S_VERSION"; exit 1; }
  staging_version="v0.${K8S_VERSION#v1.}"
  # Staging modules are the ones k8s.io/kubernetes replaces with ./staging/src/... paths.
  mapfile -t staging < <(sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*#\1#p' "$kmod" | sort -u)
  ((${#staging[@]})) || { say "error: no staging modules found in $kmod"; exit 1; }
  goline="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$kmod" | head -1)"
  say "wrapper module: ${#staging[@]} staging modules replaced with $staging_version (go $goline)"
  {
    echo "module certlab.local/control-plane"
    echo
    echo "go $goline"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for s in "${staging[@]}"; do echo "	$s => $s $staging_version"; done
    echo ")"
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  (cd "$mod" && say "resolving dependencies (go mod tidy)" && go mod tidy -e >/dev/null 2>"$mod/tidy.log" \
     || { cat "$mod/tidy.log"; exit 1; })
  for c in "${missing[@]}"; do
    say "building $c (this takes several minutes)"
    t=$SECONDS
    (cd "$mod" && go build -trimpath -ldflags "-s -w \
        -X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
        -X k8s.io/component-base/version.gitMajor=1 \
        -X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)" \
        -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$BIN/$c.tmp" "$BIN/$c"
    say "built $c in $((SECONDS - t))s"
  done
else
  say "kube-apiserver, kube-controller-manager, kube-scheduler: already built"
fi

# --- kwok ----------------------------------------------------------------------------------
if have kwok; then
  say "kwok: already built"
else
  say "installing sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi

# --- etcd ----------------------------------------------------------------------------------
# CERTLAB_ETCD=auto (default: system etcd, else Debian's etcd-server via apt-get when root, else
# build), system, or build (go.etcd.io/etcd/server/v3 from the module proxy).
ETCD_SOURCE="${CERTLAB_ETCD:-auto}"
build_etcd() {
  say "building go.etcd.io/etcd/server/v3@$ETCD_VERSION from the module proxy"
  local emod="$WORK/etcd-wrapper"
  mkdir -p "$emod"
  printf 'module certlab.local/etcd\n\ngo 1.23\n' >"$emod/go.mod"
  (cd "$emod" && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
     && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3)
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}
if have etcd; then
  say "etcd: already present"
elif [[ "$ETCD_SOURCE" == build ]]; then
  build_etcd
elif [[ -x /usr/bin/etcd ]]; then
  say "using system etcd (/usr/bin/etcd)"
  ln -sf /usr/bin/etcd "$BIN/etcd"
elif [[ "$ETCD_SOURCE" == auto && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null \
     && { say "installing Debian's etcd-server (apt-get)"; \
          apt-get install -y -q etcd-server >/dev/null 2>&1; } && [[ -x /usr/bin/etcd ]]; then
  ln -sf /usr/bin/etcd "$BIN/etcd"
elif [[ "$ETCD_SOURCE" == system ]]; then
  say "error: CERTLAB_ETCD=system but /usr/bin/etcd is missing"; exit 1
else
  build_etcd
fi

echo "$K8S_VERSION" >"$CACHE/VERSION"
say "done in $((SECONDS - start))s:"
ls -l "$BIN" | sed 's/^/  /'
