#!/usr/bin/env bash
# `make image`: build deploy/Dockerfile where Docker Hub is out of reach, from a base made here:
# Debian bookworm from Debian's mirror (debootstrap) imported into Docker, plus a CPython 3.11
# virtualenv first on the PATH (what python:3.11-slim-bookworm gives the Dockerfile). Opt-in,
# not part of `make test`: needs root, debootstrap, and dockerd (Debian's docker.io; started
# here privately when no daemon answers, vfs storage, no bridge: builds use the host network).
# The host's CA bundle goes into the base so pip trusts what the host trusts (a proxy's CA).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${IMAGE_WORK:-$PWD/.image-work}"
base=sigsvc-local/python:3.11-slim-bookworm
mkdir -p "$work"

daemon_pid=
if ! docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || { echo "no Docker daemon and no dockerd (apt-get install docker.io)" >&2; exit 2; }
    export DOCKER_HOST="unix://$work/docker.sock"
    dockerd --data-root "$work/docker" --exec-root "$work/exec" -H "$DOCKER_HOST" \
        --pidfile "$work/dockerd.pid" --iptables=false --ip6tables=false --bridge=none \
        --storage-driver=vfs >"$work/dockerd.log" 2>&1 &
    daemon_pid=$!
    stop() {
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
        umount "$work/exec/netns/default" 2>/dev/null || true  # dockerd leaves it mounted
    }
    trap stop EXIT
    for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
fi

if ! docker image inspect "$base" >/dev/null 2>&1; then
    if ! docker image inspect sigsvc-local/debian:bookworm >/dev/null 2>&1; then
        echo "== debootstrap bookworm (Debian's mirror)"
        rm -rf "$work/rootfs"
        debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
            bookworm "$work/rootfs" http://deb.debian.org/debian
        tar -C "$work/rootfs" -c . | docker import - sigsvc-local/debian:bookworm
        rm -rf "$work/rootfs"
    fi
    echo "== $base"
    mkdir -p "$work/base"
    cp /etc/ssl/certs/ca-certificates.crt "$work/base/"
    cat >"$work/base/Dockerfile" <<'DOCKERFILE'
FROM sigsvc-local/debian:bookworm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN python3 -m venv /usr/local/python
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 PIP_CERT=/etc/ssl/certs/ca-certificates.crt
DOCKERFILE
    docker build --network host -t "$base" "$work/base"
fi

echo "== sigsvc:local from deploy/Dockerfile"
docker build --network host --build-arg BASE="$base" -f deploy/Dockerfile -t sigsvc:local .
echo "== smoke: the image's sigsvc answers and serve fails fast naming its first missing setting"
docker run --rm --network none sigsvc:local --help >/dev/null
if out=$(docker run --rm --network none sigsvc:local serve 2>&1); then
    echo "serve started without configuration" >&2; exit 1
fi
grep -q DATABASE_URL <<<"$out" || { echo "unexpected: $out" >&2; exit 1; }
echo "== image sigsvc:local built"
