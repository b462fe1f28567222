# shellcheck shell=bash
# Prometheus tools for the observability tests (crates/syrf-anonymize/tests/integration/ops_observe.rs and
# ops_monitoring.rs), sourced by scripts/test after scripts/lib/servers.sh (whose log, die,
# free_port and ensure_apt_packages it uses): Debian's `prometheus` package for promtool, and a
# private `prometheus-pushgateway` on a free loopback port, in $SYRF_SERVERS_DIR/pushgateway,
# exported as SYRF_TEST_PUSHGATEWAY_URL. The packages' own services are never started.

# curl: the preview restore Job's report script pushes with it (tested in ops_monitoring.rs).
SYRF_MONITORING_PACKAGES=(prometheus prometheus-pushgateway curl)

have_monitoring_binaries() {
    command -v promtool >/dev/null 2>&1 && command -v prometheus-pushgateway >/dev/null 2>&1 &&
        command -v curl >/dev/null 2>&1
}

# Installs the packages unless the binaries are already there (then apt is not touched), by
# servers.sh's ensure_apt_packages (which also keeps prometheus and node-exporter from starting).
ensure_monitoring_packages() {
    ensure_apt_packages "promtool, prometheus-pushgateway and curl" have_monitoring_binaries \
        "${SYRF_MONITORING_PACKAGES[@]}"
}

start_pushgateway() {
    local dir=$SYRF_SERVERS_DIR/pushgateway port i
    mkdir -p "$dir"
    port=$(free_port "${SYRF_TEST_PUSHGATEWAY_PORT:-49091}")
    log "starting prometheus-pushgateway on 127.0.0.1:$port"
    # No persistence file: the groups live in memory only and die with the process.
    prometheus-pushgateway --web.listen-address="127.0.0.1:$port" >"$dir/pushgateway.log" 2>&1 &
    echo $! >"$dir/pushgateway.pid"
    for i in $(seq 1 60); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            break
        fi
        if [[ $i -eq 60 ]]; then cat "$dir/pushgateway.log" >&2; die "prometheus-pushgateway did not start"; fi
        sleep 0.5
    done
    export SYRF_TEST_PUSHGATEWAY_URL=http://127.0.0.1:$port
}

stop_pushgateway() {
    local pidfile=$SYRF_SERVERS_DIR/pushgateway/pushgateway.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    log "stopping prometheus-pushgateway (pid $pid)"
    kill "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}
