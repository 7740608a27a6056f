#!/usr/bin/env bash
# Installs rootful podman for the agent's podman runtime and builds the local image
# localhost/busybox:latest from Debian's busybox-static (no image registry is reachable here).
# Idempotent: a second run only checks. Needs root and Debian's package registry.
#   scripts/setup-podman.sh [image]      (default: localhost/busybox:latest)
# Configuration (/etc/containers/containers.conf): runc, cgroupfs (no systemd here), events in a
# file (no journald), container ulimits that fit this machine.
set -euo pipefail
image=${1:-localhost/busybox:latest}
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" != 0 ]; then echo "setup-podman: needs root (podman runs rootful for the agent)" >&2; exit 1; fi
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /bin/busybox ] || need+=(busybox-static)
[ -x /usr/libexec/podman/catatonit ] || need+=(catatonit)   # podman run --init
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-podman: installing ${need[*]} (apt-get)" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p /etc/containers
conf='[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
'
if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$(printf '%s' "$conf")" ]; then
  printf '%s' "$conf" > /etc/containers/containers.conf
fi
# Rebuild an image this script did not make (e.g. an older one without /www).
marker=edgeplane.dev/image=busybox-www-1
if podman image exists "$image" && [ "$(podman image inspect "$image" --format '{{index .Labels "edgeplane.dev/image"}}')" != "${marker#*=}" ]; then
  podman rmi -f "$image" >/dev/null
fi
if ! podman image exists "$image"; then
  echo "setup-podman: building $image from busybox-static" >&2
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/root" "$root/www"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for cmd in $("$root/bin/busybox" --list); do [ "$cmd" = busybox ] || ln -sf busybox "$root/bin/$cmd"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  echo '<h1>edgeplane busybox</h1>' > "$root/www/index.html"
  # WORKDIR /www: `httpd -f -p 8080` serves a page there.
  tar -C "$root" -c . | podman import -q --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' --change 'WORKDIR /www' \
    --change "LABEL $marker" - "$image" >/dev/null
fi
podman run --rm --init --network none "$image" echo "podman ready: $image"
