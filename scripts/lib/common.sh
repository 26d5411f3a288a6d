#!/usr/bin/env bash
# Shared shell functions for Tessera's scripts. Source it; don't run it.
# The scripts set `set -euo pipefail` too; these helpers are written for that mode.
set -euo pipefail

# The repository root: this file lives in <root>/scripts/lib.
TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# The prefix on progress lines (services, test, quickstart), so interleaved output says
# which script spoke.
TESSERA_SCRIPT="$(basename "$0")"

# Progress goes to stderr so a script's stdout stays usable for real output (status, JSON).
info() { printf '[%s] %s\n' "$TESSERA_SCRIPT" "$*" >&2; }
warn() { printf '[%s] warning: %s\n' "$TESSERA_SCRIPT" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$TESSERA_SCRIPT" "$*" >&2; exit 1; }

# Seconds since the epoch, with a fraction, for phase timings.
now() { date +%s.%N; }
# Seconds elapsed since a `now` value, to one decimal.
since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }

# Prints the last lines of a log (or says it is missing), to explain a failed start.
log_tail() {
    local file=$1 lines=${2:-40}
    if [[ -r $file ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" >&2 || true
        printf -- '----- end of %s -----\n' "$file" >&2
    else
        printf -- '(no log at %s)\n' "$file" >&2
    fi
}

# wait_for SECONDS COMMAND...: polls COMMAND (quietly) until it succeeds or time runs out.
# Bounded waits everywhere: a service that never comes up must fail the script, not hang CI.
wait_for() {
    local timeout=$1; shift
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# True if PID names a live process. A zombie (exited, not yet reaped: daemons are
# reparented to an init that may reap late) counts as gone.
pid_alive() {
    local stat
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }   # the field after "(comm) " is the state
    [[ ${stat:0:1} != Z ]]
}

# Reads a pid file; prints nothing if it is missing or not a number.
read_pid() {
    local pid=""
    if [[ -r $1 ]]; then read -r pid <"$1" || true; fi
    if [[ $pid =~ ^[0-9]+$ ]]; then printf '%s\n' "$pid"; fi
}

# True if PID is alive and its command line contains WORD (guards against pid reuse
# after a reboot or a crash left a stale pid file).
pid_runs() {
    local pid=$1 word=$2 cmdline
    pid_alive "$pid" || return 1
    # Read into a variable: `tr | grep -q` under pipefail can fail on SIGPIPE.
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ $cmdline == *"$word"* ]]
}

# stop_pid PID SECONDS: TERM, wait up to SECONDS, then KILL. Returns once the pid is gone.
stop_pid() {
    local pid=$1 timeout=${2:-10}
    pid_alive "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for "$timeout" eval "! pid_alive $pid"; then
        warn "pid $pid ignored SIGTERM for ${timeout}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_for 5 eval "! pid_alive $pid" || true
    fi
}

# start_detached PIDFILE LOGFILE COMMAND...: runs COMMAND in the background in its own
# session (so Ctrl-C in the terminal or the end of this script doesn't take it down), with
# stdin closed and output in LOGFILE. The child writes its own pid before exec-ing, so the
# pid file is right whether or not setsid had to fork.
start_detached() {
    local pidfile=$1 logfile=$2; shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner bash
    nohup setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$logfile" 2>&1 </dev/null &
    wait_for 5 test -s "$pidfile" || die "could not start $1 (no pid file $pidfile)"
}

# True if something accepts TCP connections on HOST PORT.
tcp_open() { timeout 2 bash -c ">/dev/tcp/$1/$2" 2>/dev/null; }

# Runs a command as root: directly when we are root, else through sudo (CI runners such
# as GitHub's have passwordless sudo).
as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root to run: $* (run as root or install sudo)"
    fi
}

# The Debian packages the project needs to build and to run its development services.
# postgresql-15 is the server itself (the `postgresql` metapackage only points at it);
# redis-server brings redis-cli; libpq-dev and postgresql-client come along with it.
TESSERA_PACKAGES=(redis-server postgresql-15 librdkafka-dev libhiredis-dev libpq-dev pkg-config curl)

# Installs whichever of TESSERA_PACKAGES are missing; touches apt only if something is.
ensure_packages() {
    local missing=() pkg
    for pkg in "${TESSERA_PACKAGES[@]}"; do
        [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == "install ok installed" ]] || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    info "installing missing packages: ${missing[*]}"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

# The build configuration (debug or release) used for the tessera binary.
tessera_build_config() {
    local config=${TESSERA_BUILD_CONFIG:-debug}
    [[ $config == debug || $config == release ]] || die "TESSERA_BUILD_CONFIG must be debug or release, not '$config'"
    printf '%s\n' "$config"
}

# The tessera binary: $TESSERA_BIN, else the one SwiftPM builds for the configuration.
tessera_bin() { printf '%s\n' "${TESSERA_BIN:-$TESSERA_ROOT/.build/$(tessera_build_config)/tessera}"; }

# Builds the tessera product unless the binary is already there (or TESSERA_BIN points
# at one we must not rebuild).
ensure_tessera_bin() {
    local bin
    bin=$(tessera_bin)
    [[ -x $bin ]] && return 0
    [[ -n ${TESSERA_BIN:-} ]] && die "TESSERA_BIN=$TESSERA_BIN is not an executable"
    info "building tessera ($(tessera_build_config)); the first build takes a few minutes"
    (cd "$TESSERA_ROOT" && swift build -c "$(tessera_build_config)" --product tessera)
    [[ -x $bin ]] || die "swift build finished but $bin is missing"
}
