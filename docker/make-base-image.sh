#!/usr/bin/env bash
# Build the base image `debian:bookworm-slim` locally (no registry available).
#
# The test harness has no container registry, so the base image named in our
# Dockerfiles is produced here with debootstrap (--variant=minbase, bookworm)
# and `docker import`ed under the same tag. Idempotent: if the tag already
# exists it does nothing.
#
# Env overrides:
#   DEBIAN_MIRROR  Debian mirror URL (default: first bookworm "debian" URI in
#                  the host's apt sources, else http://deb.debian.org/debian)
#   IMAGE_TAG      tag to create (default: debian:bookworm-slim)
#   SUITE          Debian suite (default: bookworm)
#   FORCE=1        rebuild even if the tag exists
#   WORKDIR_BASE   parent dir for the temporary rootfs (default: /tmp; needs
#                  ~250 MB, must not be mounted nodev)
#   SLIM=0         keep docs/man/locales (default 1: strip them and install the
#                  same dpkg path-excludes as the official *-slim images)
#   BAKE_CA_CERTS  opt-in, space-separated PEM files (e.g. a TLS-intercepting
#                  proxy's root CA) to trust inside the image: copied to
#                  /usr/local/share/ca-certificates/ and appended to
#                  /etc/ssl/certs/ca-certificates.crt, and ENV PIP_CERT /
#                  SSL_CERT_FILE / REQUESTS_CA_BUNDLE point at that bundle, so
#                  `pip install` in any Dockerfile FROM this image works with no
#                  build args. Leave unset to mirror the real image exactly.
set -euo pipefail

IMAGE_TAG="${IMAGE_TAG:-debian:bookworm-slim}"
SUITE="${SUITE:-bookworm}"
START=$(date +%s)

log() { printf '[make-base-image %3ss] %s\n' "$(( $(date +%s) - START ))" "$*" >&2; }

if [[ "${FORCE:-0}" != "1" ]] && docker image inspect "$IMAGE_TAG" >/dev/null 2>&1; then
  log "image $IMAGE_TAG already present (cached) - nothing to do"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "make-base-image.sh must run as root (debootstrap needs it)" >&2
  exit 1
fi

# --- Work out which Debian mirror the host's apt uses -----------------------
detect_mirror() {
  local f uri
  # deb822 .sources files: "URIs: <url> ..." (skip security / non-debian URIs)
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    while read -r uri; do
      case "$uri" in *security*) continue ;; esac
      case "$uri" in */debian|*/debian/) echo "${uri%/}"; return 0 ;; esac
    done < <(awk -F': *' 'tolower($1)=="uris" { n=split($2,a," "); for(i=1;i<=n;i++) print a[i] }' "$f")
  done
  # one-line format: "deb [opts] <url> <suite> <components>"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    uri=$(awk '$1=="deb" { for(i=2;i<=NF;i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' "$f" \
          | grep -v security | grep -E '/debian/?$' | head -n1 || true)
    if [[ -n "$uri" ]]; then echo "${uri%/}"; return 0; fi
  done
  echo "http://deb.debian.org/debian"
}
MIRROR="${DEBIAN_MIRROR:-$(detect_mirror)}"
# security mirror: same host, "-security" suffix for the standard layout
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-${MIRROR}-security}"
log "image tag:  $IMAGE_TAG"
log "mirror:     $MIRROR ($SUITE)"
log "security:   $SECURITY_MIRROR"

# --- debootstrap ------------------------------------------------------------
if ! command -v debootstrap >/dev/null 2>&1; then
  log "installing debootstrap via apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

mkdir -p "${WORKDIR_BASE:-/tmp}"
WORKDIR="$(mktemp -d "${WORKDIR_BASE:-/tmp}/make-base-image.XXXXXX")"
ROOTFS="$WORKDIR/rootfs"
cleanup() { rm -rf --one-file-system "$WORKDIR"; }
trap cleanup EXIT
mkdir -p "$ROOTFS"

KEYRING_ARGS=()
if [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]]; then
  KEYRING_ARGS=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
fi

log "debootstrap --variant=minbase $SUITE -> $ROOTFS (takes a minute or two)"
T0=$(date +%s)
debootstrap --variant=minbase "${KEYRING_ARGS[@]}" "$SUITE" "$ROOTFS" "$MIRROR" \
  > "$WORKDIR/debootstrap.log" 2>&1 || { tail -n 40 "$WORKDIR/debootstrap.log" >&2; exit 1; }
log "debootstrap finished in $(( $(date +%s) - T0 ))s"

# --- configure the rootfs like the official slim image ----------------------
cat > "$ROOTFS/etc/apt/sources.list" <<SRC
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
SRC
# same tweaks the official debian docker images ship
cat > "$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CONF
echo 'APT::Install-Recommends "false";' > "$ROOTFS/etc/apt/apt.conf.d/docker-no-recommends"
echo 'Acquire::GzipIndexes "true";' > "$ROOTFS/etc/apt/apt.conf.d/docker-gzip-indexes"
# policy-rc.d: never start services during package installs in a container
printf '#!/bin/sh\nexit 101\n' > "$ROOTFS/usr/sbin/policy-rc.d"
chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
if [[ "${SLIM:-1}" == "1" ]]; then
  log "slimming (dpkg path-excludes for doc/man/locale, like official -slim)"
  cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF
  find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
  find "$ROOTFS/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
  rm -rf "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/groff/* "$ROOTFS"/usr/share/info/* \
         "$ROOTFS"/usr/share/lintian/* "$ROOTFS"/usr/share/linda/*
  find "$ROOTFS/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
fi

CA_CHANGES=()
if [[ -n "${BAKE_CA_CERTS:-}" ]]; then
  mkdir -p "$ROOTFS/usr/local/share/ca-certificates" "$ROOTFS/etc/ssl/certs"
  BUNDLE="$ROOTFS/etc/ssl/certs/ca-certificates.crt"
  # start from the host's system bundle (public roots) if there is one
  if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then cp /etc/ssl/certs/ca-certificates.crt "$BUNDLE"; fi
  for ca in $BAKE_CA_CERTS; do
    log "baking CA certificate $ca into the image"
    cp "$ca" "$ROOTFS/usr/local/share/ca-certificates/$(basename "${ca%.*}").crt"
    grep -qF "$(sed -n 2p "$ca")" "$BUNDLE" 2>/dev/null || cat "$ca" >> "$BUNDLE"
  done
  CA_CHANGES=(--change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt'
              --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt'
              --change 'ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt')
fi

# resolv.conf / hostname are provided by docker at runtime
: > "$ROOTFS/etc/resolv.conf"
echo localhost > "$ROOTFS/etc/hostname"

log "cleaning apt lists / caches / logs in rootfs"
rm -rf "$ROOTFS"/var/lib/apt/lists/* \
       "$ROOTFS"/var/cache/apt/archives/*.deb \
       "$ROOTFS"/var/cache/apt/archives/partial/* \
       "$ROOTFS"/var/cache/apt/*.bin \
       "$ROOTFS"/var/log/apt/* "$ROOTFS"/var/log/dpkg.log \
       "$ROOTFS"/var/log/bootstrap.log \
       "$ROOTFS"/tmp/* "$ROOTFS"/var/tmp/*
mkdir -p "$ROOTFS/var/lib/apt/lists/partial"

log "docker import -> $IMAGE_TAG"
T0=$(date +%s)
tar --numeric-owner --xattrs -C "$ROOTFS" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  ${CA_CHANGES[@]+"${CA_CHANGES[@]}"} \
  --message "debootstrap --variant=minbase $SUITE from $MIRROR (wiredesk make-base-image.sh)" \
  - "$IMAGE_TAG" >/dev/null
log "docker import finished in $(( $(date +%s) - T0 ))s"

SIZE=$(docker image inspect -f '{{.Size}}' "$IMAGE_TAG")
log "done: $IMAGE_TAG ($(( SIZE / 1024 / 1024 )) MB) total $(( $(date +%s) - START ))s"
