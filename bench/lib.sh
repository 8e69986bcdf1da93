# bench/lib.sh: functions shared by the bench/ scripts. Sourced, not run:
#
#   BENCH_NAME=bench/caseload
#   . "$ROOT/bench/lib.sh"
#
# BENCH_NAME prefixes every message. Needs bash; Linux for /proc.

# --- messages -------------------------------------------------------------------

die() {
    echo "${BENCH_NAME:-bench}: $*" >&2
    exit 1
}

say() {
    echo "${BENCH_NAME:-bench}: $*" >&2
}

# positive_number NAME VALUE: fails unless VALUE is a whole number above 0.
positive_number() {
    [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive whole number, not '$2'"
}

# whole_number NAME VALUE: fails unless VALUE is a whole number (0 allowed).
whole_number() {
    [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be a whole number, not '$2'"
}

# --- tools ----------------------------------------------------------------------

# need_wrk: wrk on the PATH, installed with apt-get when running as root.
need_wrk() {
    if ! command -v wrk >/dev/null 2>&1; then
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
            say "installing wrk"
            DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2 \
                || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >&2; }
        fi
        command -v wrk >/dev/null 2>&1 || die "wrk is not installed (Debian/Ubuntu: apt-get install wrk)"
    fi
}

# need COMMAND...: each must be on the PATH.
need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "$c is not installed"
    done
}

# build_release PACKAGE...: `cargo build --release` of the packages in ROOT;
# sets TARGET_DIR (cargo's, so CARGO_TARGET_DIR is honoured).
build_release() {
    local args=() p
    for p in "$@"; do args+=(-p "$p"); done
    say "building release binaries"
    (cd "$ROOT" && cargo build --release "${args[@]}" >&2)
    TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps 2>/dev/null \
        | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    TARGET_DIR="${TARGET_DIR:-$ROOT/target}"
}

# --- servers --------------------------------------------------------------------

# free_port: a port nobody listens on now. The kernel picks one for a socket
# bound to port 0, which is closed again at once.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    die "no free port found"
}

# wait_for NAME PID LOG URL: until URL answers 200, or fail with the log.
wait_for() {
    local name="$1" pid="$2" log="$3" url="$4"
    for _ in $(seq 1 600); do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$log" >&2
            die "$name exited before it answered $url"
        fi
        if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then
            return
        fi
        sleep 0.1
    done
    cat "$log" >&2
    die "$name did not answer $url within 60 s"
}

# stop_process PID: SIGTERM, then wait for it (no-op if gone or empty).
stop_process() {
    local pid="$1"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}

# --- measuring --------------------------------------------------------------------

# to_ms VALUE: wrk's "38.52us" / "1.20ms" / "2.00s" / "1.50m" in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v; unit = v
        sub(/[a-z]+$/, "", n); sub(/^[0-9.]+/, "", unit)
        if (unit == "us") f = 0.001
        else if (unit == "ms") f = 1
        else if (unit == "s") f = 1000
        else if (unit == "m") f = 60000
        else if (unit == "h") f = 3600000
        else { print "bad-unit:" v; exit 1 }
        printf "%.3f", n * f
    }'
}

# to_bytes VALUE: wrk's "1.23MB" / "512.00KB" / "900B" in bytes. wrk rounds
# to two decimals, so this is the most the value can stand for (1.35GB is up
# to 1.355 GiB): a total over many pages must not look smaller than the pages.
to_bytes() {
    awk -v v="$1" 'BEGIN {
        n = v; unit = v
        sub(/[A-Za-z]+$/, "", n); sub(/^[0-9.]+/, "", unit)
        if (unit == "B") f = 1
        else if (unit == "KB") f = 1024
        else if (unit == "MB") f = 1024 * 1024
        else if (unit == "GB") f = 1024 * 1024 * 1024
        else if (unit == "TB") f = 1024 * 1024 * 1024 * 1024
        else { print "bad-unit:" v; exit 1 }
        if (unit != "B") n += 0.005
        printf "%.0f", n * f
    }'
}

# wrk_measure FILE URL THREADS CONNECTIONS SECONDS [WRK ARGUMENT...]: runs
# `wrk --latency`, keeps its output in FILE, fails on any non-2xx/3xx
# response or socket error, and prints "req/s p50_ms p99_ms bytes/request"
# (bytes read per response, headers included: a caller can tell a redirect,
# which wrk counts as a success, from the page it expects).
wrk_measure() {
    local file="$1" url="$2" threads="$3" conns="$4" seconds="$5"
    shift 5
    wrk --latency -t"$threads" -c"$conns" -d"${seconds}s" "$@" "$url" >"$file" 2>&1 \
        || { cat "$file" >&2; die "wrk failed for $url"; }
    if grep -qE 'Non-2xx or 3xx responses|Socket errors' "$file"; then
        cat "$file" >&2
        die "wrk saw errors for $url (see above); figures would be meaningless"
    fi
    local rps p50 p99 requests bytes_read
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$file")"
    p50="$(awk '$1 == "50%" { print $2 }' "$file")"
    p99="$(awk '$1 == "99%" { print $2 }' "$file")"
    # "  12345 requests in 10.00s, 1.23MB read"
    requests="$(awk '/ requests in / { print $1 }' "$file")"
    bytes_read="$(awk '/ requests in / { print ($NF == "read" ? $(NF - 1) : "") }' "$file")"
    [[ -n "$rps" && -n "$p50" && -n "$p99" && -n "$requests" && -n "$bytes_read" && "$requests" -gt 0 ]] \
        || { cat "$file" >&2; die "cannot parse wrk output for $url"; }
    printf '%s %s %s %s\n' "$rps" "$(to_ms "$p50")" "$(to_ms "$p99")" "$(($(to_bytes "$bytes_read") / requests))"
}

# median FILE FIELD KEY...: the median of field FIELD over the lines of FILE
# whose first fields equal KEY... (one key per leading field).
median() {
    local file="$1" field="$2"
    shift 2
    awk -v f="$field" -v keys="$*" '
        BEGIN { n = split(keys, k, " ") }
        { for (i = 1; i <= n; i++) if ($i != k[i]) next; print $f }
    ' "$file" \
        | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- the report -------------------------------------------------------------------

# commit_id: the commit measured, marked when the tree has other changes
# (BENCHMARKS.md itself does not count: the scripts rewrite it). Taken
# before the build, since the tree may change while a benchmark runs.
commit_id() {
    local commit
    commit="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    if [[ "$commit" != unknown ]] && [[ -n "$(cd "$ROOT" && git status --porcelain -- . ':!BENCHMARKS.md' 2>/dev/null)" ]]; then
        commit="$commit (with uncommitted changes)"
    fi
    echo "$commit"
}

cpu_model() {
    local model
    model="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)"
    echo "${model:-unknown}"
}

load_average() {
    cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown
}

rustc_version() {
    (cd "$ROOT" && rustc --version 2>/dev/null) || echo unknown
}

# `wrk -v` prints its version, then exits with status 1.
wrk_version() {
    (wrk -v 2>&1 || true) | awk 'NR == 1 { print $2 }'
}

# replace_section REPORT HEADING SECTION_FILE: puts SECTION_FILE (which
# starts with the line HEADING, "## …") in place of the section HEADING of
# REPORT, from that heading to the next "## " heading or the end of the
# file, or appends it; nothing else in the file changes. A missing REPORT
# is started with the common introduction.
replace_section() {
    local report="$1" heading="$2" section="$3" tmp
    if [[ ! -f "$report" ]]; then
        cat >"$report" <<'EOF'
# Benchmarks

Load benchmarks of CBT Assistant Pro. Each section below is written by one
benchmark script, names the command that produced it, and is measured on
the machine it describes; figures from different sections or different
machines are not comparable.
EOF
    fi
    tmp="$(mktemp "${TMPDIR:-/tmp}/cbt-benchmarks.XXXXXX")"
    awk -v heading="$heading" -v section="$section" '
        function emit(line) {
            while ((getline line < section) > 0) print line
            close(section)
            done = 1
        }
        /^## / {
            if (skipping) { skipping = 0; print "" }
            if ($0 == heading) { emit(); skipping = 1; next }
        }
        !skipping { print }
        END {
            if (!done) { print ""; emit() }
        }
    ' "$report" >"$tmp"
    # Written in place, so that the file keeps its mode and links.
    cat "$tmp" >"$report"
    rm -f "$tmp"
}
