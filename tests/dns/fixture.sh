# fixture.sh — DNS servers on loopback for the RESOLVE tests and benchmark,
# sourced by tests/cli/resolve*.sh and bench/resolve.sh. Nothing here sends
# a packet anywhere but 127.0.0.1 and ::1, to servers started here.
#
#   dns_need PROG...         exit 77 (automake: SKIP) with a message when one is missing
#   dns_port                 prints a free loopback port (UDP and TCP)
#   nsd_start DIR ZONEFILE ZONE [V6]
#                            NSD serving ZONE from DIR/ZONEFILE on 127.0.0.1:$NSD_PORT
#                            (and [::1] when V6 is 1); rate limiting off; waits until it answers;
#                            NSD_MORE_ZONES="zone file ..." adds zones (files in DIR)
#   unbound_start DIR UPPORT ZONE
#                            Unbound on 127.0.0.1:$UNBOUND_PORT, recursive, with ZONE
#                            stubbed to 127.0.0.1:UPPORT
#   fake_start MODE [ADDR]   tests/dns/fakedns.py MODE on ADDR: sets FAKE_PORT
#   dns_stop_all             stops every server started here (call it from an EXIT trap)
#
# Environment: SRCDIR (the source tree).
DNS_PIDS=
DNS_DIR_FIX=${SRCDIR:-.}/tests/dns

dns_need() {
    for _p in "$@"; do
        if ! command -v "$_p" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$_p" ]; then
            echo "SKIP: $_p is not installed (Debian package: $(case $_p in nsd) echo nsd;; unbound) echo unbound;; python3) echo python3;; *) echo "$_p";; esac)); CI installs it"
            exit 77
        fi
    done
}

dns_bin() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; else echo "/usr/sbin/$1"; fi
}

dns_port() {
    python3 -c '
import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); p = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        t.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p); break'
}

# dns_wait ADDR PORT NAME: until the server answers (about 10 s at most).
dns_wait() {
    _i=0
    while [ $_i -lt 100 ]; do
        python3 "$DNS_DIR_FIX/fakedns.py" probe "$1" "$2" "$3" && return 0
        _i=$((_i + 1))
        sleep 0.1
    done
    echo "fixture: the server on $1 port $2 does not answer" >&2
    return 1
}

nsd_start() {
    _d=$1 _zf=$2 _zone=$3 _v6=${4:-0}
    NSD_PORT=$(dns_port)
    {
        echo "server:"
        echo "  ip-address: 127.0.0.1@$NSD_PORT"
        [ "$_v6" = 1 ] && echo "  ip-address: ::1@$NSD_PORT"
        echo "  port: $NSD_PORT"
        echo "  username: \"\""
        echo "  chroot: \"\""
        echo "  zonesdir: \"$_d\""
        echo "  database: \"\""
        echo "  zonelistfile: \"$_d/zone.list\""
        echo "  xfrdfile: \"$_d/xfrd.state\""
        echo "  xfrdir: \"$_d\""
        echo "  pidfile: \"$_d/nsd.pid\""
        echo "  logfile: \"$_d/nsd.log\""
        echo "  server-count: 1"
        echo "  tcp-count: 500"
        echo "  verbosity: 0"
        echo "  rrl-ratelimit: 0"
        echo "  rrl-whitelist-ratelimit: 0"
        echo "  reuseport: no"
        echo "remote-control:"
        echo "  control-enable: no"
        echo "zone:"
        echo "  name: \"$_zone\""
        echo "  zonefile: \"$_d/$_zf\""
        # more zones: NSD_MORE_ZONES="zone file zone file ..."
        set -- ${NSD_MORE_ZONES:-}
        while [ $# -ge 2 ]; do
            echo "zone:"
            echo "  name: \"$1\""
            echo "  zonefile: \"$_d/$2\""
            shift 2
        done
    } > "$_d/nsd.conf"
    "$(dns_bin nsd)" -d -c "$_d/nsd.conf" >"$_d/nsd.out" 2>&1 &
    NSD_PID=$!
    DNS_PIDS="$DNS_PIDS $NSD_PID"
    dns_wait 127.0.0.1 "$NSD_PORT" "$_zone" || { cat "$_d/nsd.out" "$_d/nsd.log" >&2 2>/dev/null; return 1; }
}

unbound_start() {
    _d=$1 _up=$2 _zone=$3
    UNBOUND_PORT=$(dns_port)
    cat > "$_d/unbound.conf" <<UBEOF
server:
  interface: 127.0.0.1
  port: $UNBOUND_PORT
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$_d"
  pidfile: "$_d/unbound.pid"
  logfile: ""
  use-syslog: no
  verbosity: 0
  do-daemonize: no
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  local-zone: "$_zone" nodefault
  domain-insecure: "$_zone"
  module-config: "iterator"
  num-threads: 1
  harden-referral-path: no
  qname-minimisation: no
  root-hints: ""
remote-control:
  control-enable: no
stub-zone:
  name: "$_zone"
  stub-addr: 127.0.0.1@$_up
UBEOF
    "$(dns_bin unbound)" -d -c "$_d/unbound.conf" >"$_d/unbound.out" 2>&1 &
    UNBOUND_PID=$!
    DNS_PIDS="$DNS_PIDS $UNBOUND_PID"
    dns_wait 127.0.0.1 "$UNBOUND_PORT" "$_zone" || { cat "$_d/unbound.out" >&2; return 1; }
}

fake_start() {
    _pf=$(mktemp "${TMPDIR:-/tmp}/dql-fake.XXXXXX")
    rm -f "$_pf"
    python3 "$DNS_DIR_FIX/fakedns.py" "$1" "$_pf" "${2:-127.0.0.1}" &
    FAKE_PID=$!
    DNS_PIDS="$DNS_PIDS $FAKE_PID"
    _i=0
    while [ ! -s "$_pf" ] && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
    FAKE_PORT=$(cat "$_pf" 2>/dev/null)
    rm -f "$_pf"
    [ -n "$FAKE_PORT" ]
}

dns_stop_all() {
    for _p in $DNS_PIDS; do kill "$_p" 2>/dev/null; done
    for _p in $DNS_PIDS; do wait "$_p" 2>/dev/null; done
    DNS_PIDS=
}
