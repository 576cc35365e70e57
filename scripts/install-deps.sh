#!/usr/bin/env bash
# Installs everything tmio's tests need, and nothing by hand: Debian packages and cargo tools.
#
# Idempotent: what is already installed is left alone (apt is not even called then), so it can run
# before every test run (`cargo xtask test` does). Installing needs root: it uses sudo when not
# root; without either it prints the exact command to run and fails.
#
# It also builds libsrt with bonding into a cache folder (scripts/build-libsrt-bonding.sh, once;
# about two minutes on 2 cores), for the socket-group tests.
#
# It also makes sure no nginx system service is left listening on ports 80/1935: the tests start
# their own nginx, with their own config, on loopback ports.
set -euo pipefail

APT_PACKAGES=(srt-tools ffmpeg nginx libnginx-mod-rtmp iproute2 nftables ethtool gcc g++ valgrind socat)
# The commands the tests call, and the package each comes from (checked after installing).
REQUIRED_COMMANDS=(
    "srt-live-transmit:srt-tools"
    "srt-file-transmit:srt-tools"
    "ffmpeg:ffmpeg"
    "ffprobe:ffmpeg"
    "nginx:nginx"
    "ip:iproute2"
    "nft:nftables"
    "ethtool:ethtool"
    "cc:gcc"
    "c++:g++"
    "valgrind:valgrind"
    "srt-tunnel:srt-tools"
    "socat:socat"
)

say() { printf 'install-deps: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Runs a command as root: directly when root, else through non-interactive sudo.
SUDO=()
NGINX_JUST_INSTALLED=false
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

install_apt_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        die "this script needs a Debian-like system (dpkg, apt-get); install by hand: ${APT_PACKAGES[*]}"
    fi
    local missing=()
    local package
    for package in "${APT_PACKAGES[@]}"; do
        package_installed "$package" || missing+=("$package")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "Debian packages already installed: ${APT_PACKAGES[*]}"
        return 0
    fi
    local install_command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing[*]}"
    need_root "$install_command"
    say "installing: ${missing[*]}"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        die "apt-get update failed; run: $install_command"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" ||
        die "apt-get install failed; run: $install_command"
    for package in "${missing[@]}"; do
        package_installed "$package" || die "package $package is still not installed after apt-get install"
        # Installing nginx (or its rtmp module) starts or restarts the system service.
        [[ $package == nginx || $package == libnginx-mod-rtmp ]] && NGINX_JUST_INSTALLED=true
    done
    return 0
}

# True when the process in /run/nginx.pid (the system service's pid file) exists.
system_nginx_running() {
    local pid
    pid=$(cat /run/nginx.pid 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ && -d /proc/$pid ]]
}

# The nginx package starts a system service listening on port 80 (and 1935 once an rtmp block
# is configured). Stop it so the tests' own nginx instances get their ports.
stop_system_nginx() {
    local running=false
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        if systemctl is-active --quiet nginx 2>/dev/null || systemctl is-enabled --quiet nginx 2>/dev/null; then
            need_root "systemctl disable --now nginx"
            say "stopping and disabling the nginx system service"
            "${SUDO[@]}" systemctl disable --now nginx || true
        fi
        return 0
    fi
    # No systemd (containers): the init script tracks the service by /run/nginx.pid.
    if system_nginx_running; then
        running=true
    fi
    if [[ $running == true || $NGINX_JUST_INSTALLED == true ]]; then
        if command -v service >/dev/null 2>&1; then
            need_root "service nginx stop"
            say "stopping the nginx system service"
            "${SUDO[@]}" service nginx stop || true
        fi
    fi
    if system_nginx_running; then
        die "the nginx system service (pid $(cat /run/nginx.pid)) is still running; stop it: service nginx stop"
    fi
}

install_cargo_tools() {
    command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
    if cargo fuzz --version >/dev/null 2>&1; then
        say "cargo-fuzz already installed: $(cargo fuzz --version)"
    else
        say "installing cargo-fuzz"
        cargo install cargo-fuzz --locked || die "cargo install cargo-fuzz --locked failed"
        cargo fuzz --version >/dev/null 2>&1 || die "cargo fuzz still does not run after installing it"
    fi
}

check_commands() {
    local entry command package missing=()
    for entry in "${REQUIRED_COMMANDS[@]}"; do
        command=${entry%%:*}
        package=${entry#*:}
        # Some of these live in /usr/sbin, which a non-root PATH may lack.
        if ! command -v "$command" >/dev/null 2>&1 && [[ ! -x /usr/sbin/$command && ! -x /sbin/$command ]]; then
            missing+=("$command (package $package)")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] || die "still missing: ${missing[*]}"
}

# libsrt with bonding (socket groups) for the group tests, built once from Debian's source package
# into a cache folder; a no-op when already built (see scripts/build-libsrt-bonding.sh).
build_libsrt_bonding() {
    "$(dirname "${BASH_SOURCE[0]}")/build-libsrt-bonding.sh" ||
        die "scripts/build-libsrt-bonding.sh failed"
}

main() {
    install_apt_packages
    stop_system_nginx
    install_cargo_tools
    check_commands
    build_libsrt_bonding
    say "all test dependencies present"
}

main "$@"
