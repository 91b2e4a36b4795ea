#!/usr/bin/env bash
# `make images`: build the CPU services image with no Docker daemon.
#
#  1. A `debian:bookworm-slim`-compatible base made with debootstrap (minbase, docs and apt
#     lists removed) and tagged locally under that name, so the Dockerfile stays the standard
#     one that `docker build` uses.
#  2. `buildah bud --isolation chroot` of ./Dockerfile, with the host CA bundle as a build
#     secret (pip behind a TLS-inspecting proxy) and local wheels (the CPU torch build) in
#     images/wheels/.
#  3. The thin image (images/thin.Dockerfile): the services that load no model, without torch,
#     Ray, transformers or weights.
#  4. The backing image on top of the first (images/backing.Dockerfile): the local stack's
#     servers, for `forgeline containers up`.
#
# Needs root and the Debian packages buildah and debootstrap (`make images` installs them
# with apt when missing). A rebuild removes the images it replaced: each build left their whole size
# untagged before, and a few rebuilds filled a CI disk mid-build ("no space left on device").
# Variables: IMAGE, THIN_IMAGE, BACKING_IMAGE (tags), BUILD_DIR, DEBIAN_MIRROR, WHEELS_DIR,
# MIN_FREE_GB (the free space the build checks for first).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-ghcr.io/forgeline/forgeline:0.1.0}
THIN_IMAGE=${THIN_IMAGE:-ghcr.io/forgeline/forgeline-thin:0.1.0}
BACKING_IMAGE=${BACKING_IMAGE:-ghcr.io/forgeline/forgeline-backing:0.1.0}
BASE=docker.io/library/debian:bookworm-slim
BUILD_DIR=${BUILD_DIR:-build/images}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WHEELS_DIR=${WHEELS_DIR:-/opt/wheels}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
export BUILDAH_ISOLATION=chroot

step() { printf '==> %s\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "make images needs root (debootstrap and buildah's chroot isolation); run it with sudo" >&2
  exit 1
fi
if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  step "installing buildah and debootstrap (Debian packages)"
  apt-get update -q && apt-get install -y -q --no-install-recommends buildah debootstrap
fi

if buildah inspect --type image "$BASE" >/dev/null 2>&1; then
  step "base $BASE already built"
else
  step "debootstrap bookworm (minbase) into $BUILD_DIR/rootfs"
  rm -rf "$BUILD_DIR/rootfs" && mkdir -p "$BUILD_DIR"
  debootstrap --variant=minbase bookworm "$BUILD_DIR/rootfs" "$DEBIAN_MIRROR" > "$BUILD_DIR/debootstrap.log"
  # What debian:bookworm-slim leaves out: docs, man pages, locales, apt lists and caches.
  rm -rf "$BUILD_DIR"/rootfs/usr/share/{doc,man,info,locale}/* "$BUILD_DIR"/rootfs/var/lib/apt/lists/* \
         "$BUILD_DIR"/rootfs/var/cache/apt/*.bin "$BUILD_DIR"/rootfs/var/log/*.log
  tar -C "$BUILD_DIR/rootfs" --numeric-owner -cf "$BUILD_DIR/rootfs.tar" .
  step "importing it as $BASE"
  container=$(buildah from scratch)
  buildah add "$container" "$BUILD_DIR/rootfs.tar" / >/dev/null
  buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$container"
  buildah commit --rm --quiet "$container" "$BASE" >/dev/null
  rm -rf "$BUILD_DIR/rootfs" "$BUILD_DIR/rootfs.tar"
fi

build_args=()
if compgen -G "$WHEELS_DIR/torch-*+cpu-*.whl" >/dev/null; then
  cp -l "$WHEELS_DIR"/torch-*+cpu-*.whl images/wheels/ 2>/dev/null || cp "$WHEELS_DIR"/torch-*+cpu-*.whl images/wheels/
  # The local CPU wheel satisfies the pin; do not ask an index this machine may not reach.
  build_args+=(--build-arg TORCH_INDEX_URL=https://pypi.org/simple)
fi
secret_args=()
if [ -s "$CA_BUNDLE" ]; then secret_args+=(--secret "id=ca,src=$CA_BUNDLE"); fi

# A RUN step re-executes buildah from a sealed memfd copy of itself; the kernel refuses the seal
# with EBUSY while a page of the copy is still briefly referenced (seen once in CI: "Close_Fd
# sealing memfd copy: Device or resource busy"). That is transient, so only that error is retried.
# bud TAG WHAT ARGS...: one build, its output in $BUILD_DIR/bud.log.
bud() {
  local tag=$1 what=$2 attempt
  shift 2
  for attempt in 1 2 3; do
    step "buildah bud --isolation chroot -t $tag ($what; attempt $attempt of 3)"
    if buildah bud --isolation chroot --pull=false --layers=false "$@" "${secret_args[@]}" -t "$tag" . 2>&1 \
         | tee "$BUILD_DIR/bud.log"; then
      step "built $tag ($(buildah images --format '{{.Size}}' "$tag" 2>/dev/null || echo 'size unknown'))"
      return 0
    fi
    if [ "$attempt" = 3 ] || ! grep -q 'sealing memfd copy' "$BUILD_DIR/bud.log"; then
      echo "make images: buildah failed (its output is in $BUILD_DIR/bud.log)" >&2
      exit 1
    fi
    step "buildah hit the kernel's transient memfd seal refusal; building again"
  done
}

# Free space where containers/storage keeps layers: a build needs about MIN_FREE_GB there at
# its peak (the build stage's venv and the committed layers).
MIN_FREE_GB=${MIN_FREE_GB:-14}
graph_root=$(buildah info --format '{{.store.GraphRoot}}' 2>/dev/null || echo /var/lib/containers/storage)
mkdir -p "$graph_root"
free_gb=$(( $(df -Pk "$graph_root" | awk 'NR==2 {print $4}') / 1024 / 1024 ))
if [ "$free_gb" -lt "$MIN_FREE_GB" ]; then
  echo "make images: only ${free_gb} GB free under $graph_root; a build needs about ${MIN_FREE_GB} GB." >&2
  echo "  Untagged images from earlier builds: podman images --filter dangling=true (remove with podman image prune)." >&2
  exit 1
fi

# The images these tags name now, removed once the new ones are built (if nothing else uses them).
replaced=()
for tag in "$BACKING_IMAGE" "$THIN_IMAGE" "$IMAGE"; do
  id=$(buildah images --noheading --no-trunc --format '{{.ID}}' "$tag" 2>/dev/null || true)
  if [ -n "$id" ]; then replaced+=("${id#sha256:}"); fi
done

mkdir -p "$BUILD_DIR"
bud "$IMAGE" "pip installs the runtime set: a few minutes" "${build_args[@]}"
bud "$THIN_IMAGE" "the services that load no model" -f images/thin.Dockerfile
bud "$BACKING_IMAGE" "the backing servers for \`forgeline containers up\`" -f images/backing.Dockerfile --from "$IMAGE"

for id in "${replaced[@]}"; do
  # Still tagged means this build produced the same image; in use means a container holds it.
  if [ -z "$(buildah images --noheading --format '{{.Name}}' --filter "id=$id" 2>/dev/null | grep -v '<none>')" ]; then
    if buildah rmi "$id" >/dev/null 2>&1; then
      step "removed the replaced image ${id:0:12}"
    else
      step "kept the replaced image ${id:0:12} (in use)"
    fi
  fi
done
