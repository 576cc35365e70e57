#!/usr/bin/env bash
# Builds libsrt with bonding (socket groups) and its apps from Debian's own `srt` source package,
# for tmio's group tests. Debian's packaged libsrt is built without bonding, and only the test app
# srt-test-live (ENABLE_TESTING) speaks group URIs.
#
# Result, in ${TMIO_LIBSRT_BONDING_DIR:-/var/cache/tmio/libsrt-bonding}:
#   bin/srt-test-live, bin/srt-live-transmit, bin/srt-file-transmit, ... (RPATH: ../lib of this folder)
#   lib/libsrt.so*   include/srt/*.h   stamp (what was built, from which source version)
#
# What it does:
#   1. adds a deb-src entry for Debian bookworm (sources.list.d/tmio-debian-src.sources) when apt
#      knows no source for `srt`, and runs apt-get update;
#   2. installs the build tools it lacks: cmake, libssl-dev, tcl (tclsh), pkg-config,
#      build-essential, dpkg-dev;
#   3. `apt-get source srt=VERSION` in a temporary folder: the installed srt-tools' version when
#      Debian serves its source, else the newest version that downloads;
#   4. patches srt-test-live so that a group *caller* can send (as shipped it sets SRTO_SENDER on
#      the group, which libsrt refuses: "this option (21) is socket- or link-specific");
#   5. cmake -DENABLE_BONDING=ON -DENABLE_APPS=ON -DENABLE_TESTING=ON -DENABLE_ENCRYPTION=ON
#      (OpenSSL), the apps linked against the built library through RPATH, and installs into the
#      folder above.
# Nothing is downloaded but Debian's source package. Idempotent: when the stamp matches (same
# recipe, same installed Debian version) it returns at once. Needs root for apt (sudo -n is used
# when not root, as scripts/install-deps.sh does).
#
# Usage: scripts/build-libsrt-bonding.sh [--force]
set -euo pipefail

DEST=${TMIO_LIBSRT_BONDING_DIR:-/var/cache/tmio/libsrt-bonding}
# Bump when the build recipe below changes: a different recipe rebuilds.
RECIPE=1
BUILD_PACKAGES=(cmake libssl-dev tcl pkg-config build-essential dpkg-dev)
SOURCES_FILE=/etc/apt/sources.list.d/tmio-debian-src.sources
JOBS=${TMIO_LIBSRT_BUILD_JOBS:-2}

say() { printf 'build-libsrt-bonding: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

SUDO=()
need_root() {
    if [[ $(id -u) -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo -n)
    else
        die "not root and sudo is not installed; as root, run: $1"
    fi
}

package_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

installed_srt_version() {
    dpkg-query -W -f='${Version}' srt-tools 2>/dev/null || true
}

stamp_text() {
    printf 'recipe=%s installed=%s\n' "$RECIPE" "$1"
}

FORCE=false
[[ ${1:-} == --force ]] && FORCE=true

command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 ||
    die "this script needs a Debian-like system (dpkg, apt-get)"

INSTALLED=$(installed_srt_version)
if [[ $FORCE == false && -x $DEST/bin/srt-test-live && -f $DEST/stamp ]] &&
    [[ $(head -n1 "$DEST/stamp") == "$(stamp_text "$INSTALLED")" ]]; then
    say "already built: $DEST ($(sed -n 2p "$DEST/stamp"))"
    exit 0
fi

START=$(date +%s)

# 1. A deb-src entry, when apt knows no source for srt.
if ! apt-cache showsrc srt 2>/dev/null | grep -c '^Package: srt$' >/dev/null; then
    need_root "add a deb-src entry for bookworm and apt-get update"
    say "adding $SOURCES_FILE (deb-src for bookworm) and running apt-get update"
    "${SUDO[@]}" tee "$SOURCES_FILE" >/dev/null <<'EOF'
# Added by tmio's scripts/build-libsrt-bonding.sh: Debian source packages (apt-get source srt).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null ||
        die "apt-get update failed"
    apt-cache showsrc srt 2>/dev/null | grep -c '^Package: srt$' >/dev/null ||
        die "apt still knows no source package srt after adding $SOURCES_FILE"
fi

# 2. Build tools.
missing=()
for package in "${BUILD_PACKAGES[@]}"; do
    package_installed "$package" || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    need_root "apt-get install -y --no-install-recommends ${missing[*]}"
    say "installing build tools: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
fi

# 3. The source: the installed version first, then the others apt lists, newest first. A version
#    can be listed yet not downloadable (bookworm-security listed 1.5.1-1+deb12u2 here while its
#    pool answered 404), so each is tried in turn.
SERVED=$(apt-cache showsrc srt | sed -n 's/^Version: //p' | sort -V -r -u)
[[ -n $SERVED ]] || die "apt-cache showsrc srt lists no version"
CANDIDATES=()
if [[ -n $INSTALLED ]] && grep -qxF "$INSTALLED" <<<"$SERVED"; then
    CANDIDATES+=("$INSTALLED")
fi
while read -r served; do
    [[ $served == "$INSTALLED" ]] || CANDIDATES+=("$served")
done <<<"$SERVED"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
VERSION=
for candidate in "${CANDIDATES[@]}"; do
    say "fetching Debian source srt=$candidate"
    if (cd "$WORK" && apt-get source -q "srt=$candidate" >"$WORK/apt-source.log" 2>&1); then
        VERSION=$candidate
        break
    fi
    say "srt=$candidate is listed but not served: $(grep -m1 '^E:' "$WORK/apt-source.log" || true)"
    find "$WORK" -mindepth 1 -delete
done
[[ -n $VERSION ]] || die "no listed srt source version could be downloaded (${CANDIDATES[*]})"
[[ $VERSION == "$INSTALLED" ]] ||
    say "building srt $VERSION; the installed srt-tools is ${INSTALLED:-absent}"
SRC=$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'srt-*' | head -n1)
[[ -n $SRC && -f $SRC/CMakeLists.txt ]] || die "no unpacked srt source in $WORK"

# 4. srt-test-live as a group caller. SrtTarget::ConfigurePre (testing/testmedia.cpp) sets
#    SRTO_SENDER on every socket it configures, the group socket of a group caller too, where
#    libsrt 1.5 refuses it ("this option (21) is socket- or link-specific") and srt-test-live
#    stops. The option only matters for HSv4 peers; skip it on a group socket (SRTGROUP_MASK).
MEDIA=$SRC/testing/testmedia.cpp
[[ -f $MEDIA ]] || die "$MEDIA not found"
SENDER_LINE='    result = srt_setsockopt(sock, 0, SRTO_SENDER, &yes, sizeof yes);'
PATCHED_LINE='    result = (sock \& SRTGROUP_MASK) ? 0 : srt_setsockopt(sock, 0, SRTO_SENDER, \&yes, sizeof yes); // tmio: not on a group socket'
[[ $(grep -cxF "$SENDER_LINE" "$MEDIA" || true) -eq 1 ]] ||
    die "the SRTO_SENDER line to skip is not exactly once in $MEDIA (source changed?)"
sed -i "s|^    result = srt_setsockopt(sock, 0, SRTO_SENDER, &yes, sizeof yes);\$|$PATCHED_LINE|" "$MEDIA"
grep -qF 'SRTGROUP_MASK) ? 0 : srt_setsockopt(sock, 0, SRTO_SENDER' "$MEDIA" ||
    die "patching the SRTO_SENDER line in $MEDIA failed"

# 5. Build and install.
need_dest_writable() {
    local parent
    parent=$(dirname "$DEST")
    if mkdir -p "$DEST" 2>/dev/null && [[ -w $DEST ]]; then
        return 0
    fi
    need_root "mkdir -p $DEST && chown $(id -u):$(id -g) $DEST"
    "${SUDO[@]}" mkdir -p "$DEST" && "${SUDO[@]}" chown "$(id -u):$(id -g)" "$DEST" ||
        die "cannot create $DEST (parent $parent)"
}
need_dest_writable
# The stamp is written last: a build that stops half-way leaves none, and the next run rebuilds.
rm -rf "${DEST:?}"/{bin,lib,include,share,stamp}

say "building (cmake, $JOBS jobs) into $DEST"
cmake -S "$SRC" -B "$WORK/build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$DEST" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_INSTALL_RPATH="$DEST/lib" \
    -DCMAKE_BUILD_WITH_INSTALL_RPATH=ON \
    -DENABLE_BONDING=ON -DENABLE_APPS=ON -DENABLE_TESTING=ON -DENABLE_ENCRYPTION=ON \
    -DUSE_ENCLIB=openssl -DENABLE_UNITTESTS=OFF -DENABLE_STATIC=OFF \
    >"$WORK/cmake.log" 2>&1 || die "cmake configure failed: $(tail -n5 "$WORK/cmake.log")"
nice cmake --build "$WORK/build" -j "$JOBS" >"$WORK/build.log" 2>&1 ||
    die "build failed: $(grep -m3 -i error "$WORK/build.log")"
cmake --install "$WORK/build" >"$WORK/install.log" 2>&1 ||
    die "cmake --install failed: $(tail -n3 "$WORK/install.log")"
# cmake does not install the test apps; they were built with the install RPATH.
mkdir -p "$DEST/bin"
for app in "$WORK"/build/srt-test-*; do
    if [[ -f $app && -x $app ]]; then cp "$app" "$DEST/bin/"; fi
done
[[ -x $DEST/bin/srt-test-live ]] || die "srt-test-live was not built"

# Check: the apps load the library just built (RPATH), and it was built with bonding.
LINKED=$(ldd "$DEST/bin/srt-test-live" | awk '/libsrt/ {print $3}')
[[ $LINKED == "$DEST"/lib/* ]] || die "srt-test-live loads '$LINKED', not the library in $DEST/lib"
grep -q 'ENABLE_BONDING:BOOL=ON' "$WORK/build/CMakeCache.txt" || die "bonding is not enabled in the build"

ELAPSED=$(($(date +%s) - START))
{
    stamp_text "$INSTALLED"
    printf 'source=srt %s built=%s seconds=%s\n' "$VERSION" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ELAPSED"
} >"$DEST/stamp"
say "built srt $VERSION with bonding in ${ELAPSED}s: $DEST/bin/srt-test-live"
