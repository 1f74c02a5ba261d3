#!/usr/bin/env bash
# setup.sh — the newcomer's first command (see README.md): on Debian 12 (or
# Ubuntu) it installs the build dependencies with apt-get, builds dql
# (./autogen.sh, ./configure, make -j2) and runs the demo pipeline
# examples/demo.dql on the bundled data in examples/data/, printing its
# result. Run it again at any time: every step is idempotent, and apt-get is
# skipped when every package is already installed.
#
# Usage: ./setup.sh [--no-deps] [--no-demo] [CONFIGURE-ARGS...]
#   --no-deps   do not touch packages (you installed them yourself)
#   --no-demo   build only
#   other arguments go to ./configure (e.g. --enable-asan)
# Then run the tests with: make -j2 check
set -euo pipefail
cd "$(dirname "$0")"

# The build dependencies. Keep this list the same as PACKAGES in .ci/run
# (the CI job), which installs them the same way.
PACKAGES=(
    build-essential autoconf automake libtool pkg-config bison
    liblua5.4-dev libedit-dev libsqlite3-dev sqlite3 libpsl-dev zlib1g-dev
    libidn2-dev libldns-dev libmaxminddb-dev libpcap-dev libmaxmind-db-writer-perl
    clang libclang-rt-14-dev tmux mawk python3
    libssl-dev libmagic-dev libarchive-dev libyara-dev libclamav-dev file parallel
    nsd unbound dnsperf adns-tools ldnsutils
    tshark dnsjit dnscap python3-dnspython
    libpq-dev postgresql
    slurm-wlm munge
)

deps=1
demo=1
configure_args=()
for a in "$@"; do
    case $a in
        --no-deps) deps=0 ;;
        --no-demo) demo=0 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) configure_args+=("$a") ;;
    esac
done

step() { printf '\n=== %s\n' "$*"; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

# install_deps: apt-get update + install of the missing packages, as root
# or through sudo; nothing at all when every package is installed.
install_deps() {
    step "dependencies"
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "no apt-get here: install the equivalents of these yourself, then rerun with --no-deps:"
        echo "  ${PACKAGES[*]}"
        return 0
    fi
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
            missing+=("$p")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        echo "all ${#PACKAGES[@]} packages are installed"
        return 0
    fi
    echo "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install as root: apt-get install ${missing[*]}"
        sudo=(sudo)
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null \
        || die "apt-get install failed"
}

if [ $deps -eq 1 ]; then install_deps; fi

step "build: ./autogen.sh && ./configure && make -j2"
./autogen.sh || die "autogen.sh failed"
./configure "${configure_args[@]}" || die "configure failed (see config.log)"
make -j2 || die "make failed"

if [ $demo -eq 1 ]; then
    step "demo: cd examples && ../dql --mode table demo.dql"
    # The demo's workspace is examples/dql.db; the script stores table
    # 'flagged' there with OVERWRITE, so reruns work.
    (cd examples && ../dql --mode table demo.dql) || die "the demo failed"
    echo
    echo "dql is built: ./dql starts the shell; examples/ has more scripts."
    echo "The flagged names are in table 'flagged' of examples/dql.db:"
    echo "  sqlite3 examples/dql.db 'SELECT * FROM flagged LIMIT 5'"
    echo "Run the tests with: make -j2 check"
fi
