# shellcheck shell=bash
# Private MariaDB and PostgreSQL servers for the test suite, sourced by scripts/test and
# scripts/dev-servers. Everything lives under one directory ($SYRF_SERVERS_DIR) that these
# functions own: data, sockets, logs, pid files. The servers listen on 127.0.0.1 only (and on
# unix sockets inside that directory); they never touch the system's own instances or config.

# Debian packages that provide the binaries below.
SYRF_APT_PACKAGES=(mariadb-server mariadb-client postgresql postgresql-client)

log() { printf '[scripts] %s\n' "$*" >&2; }
die() { printf '[scripts] error: %s\n' "$*" >&2; exit 1; }

# The PostgreSQL server binaries (initdb, pg_ctl) are not on PATH on Debian; find the newest.
pg_bindir() {
    local d
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

have_server_binaries() {
    command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]] || return 1
    command -v mariadb-install-db >/dev/null 2>&1 || return 1
    command -v mariadb >/dev/null 2>&1 || return 1
    command -v mariadb-dump >/dev/null 2>&1 || return 1
    command -v psql >/dev/null 2>&1 || return 1
    command -v pg_dump >/dev/null 2>&1 || return 1
    pg_bindir >/dev/null || return 1
}

# Installs Debian packages ($3...) with apt-get unless the function named $2 says their binaries
# are all there (then apt is not touched); $1 names the binaries in messages. Shared by
# ensure_server_packages and scripts/lib/monitoring.sh. policy-rc.d exit 101 keeps the packages'
# own services from starting while they install (the tests run private ones).
ensure_apt_packages() {
    local what=$1 have=$2
    shift 2
    if "$have"; then
        log "$what present; skipping apt-get"
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "$what missing and not root: install $*"
    log "installing $* with apt-get"
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "$@" >/dev/null
    if [[ $created_policy -eq 1 ]]; then rm -f "$policy"; fi
    "$have" || die "apt-get finished but $what are still missing"
}

# Installs the server packages unless every binary is already there.
ensure_server_packages() {
    ensure_apt_packages "MariaDB and PostgreSQL binaries" have_server_binaries "${SYRF_APT_PACKAGES[@]}"
}

# Prints a free TCP port on 127.0.0.1, starting the search at $1.
free_port() {
    local port=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 1))
    done
    echo "$port"
}

# Runs a command as the given system user when we are root, else as ourselves.
as_user() {
    local user=$1
    shift
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

mariadbd_bin() { command -v mariadbd 2>/dev/null || echo /usr/sbin/mariadbd; }

start_mariadb() {
    local dir=$SYRF_SERVERS_DIR/mariadb
    local user
    user=$(id -un)
    if [[ $(id -u) -eq 0 ]]; then user=mysql; fi
    mkdir -p "$dir/data" "$dir/run"
    if [[ $(id -u) -eq 0 ]]; then chown -R "$user:" "$dir"; fi
    SYRF_TEST_MYSQL_PORT=$(free_port "${SYRF_TEST_MYSQL_PORT:-33306}")
    SYRF_TEST_MYSQL_SOCKET=$dir/run/mariadb.sock
    SYRF_TEST_MYSQL_USER=syrf
    SYRF_TEST_MYSQL_PASSWORD=syrf-test
    log "initialising MariaDB in $dir/data"
    mariadb-install-db --no-defaults --user="$user" --datadir="$dir/data" \
        --auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 ||
        { cat "$dir/install.log" >&2; die "mariadb-install-db failed"; }
    log "starting MariaDB on 127.0.0.1:$SYRF_TEST_MYSQL_PORT (socket $SYRF_TEST_MYSQL_SOCKET)"
    "$(mariadbd_bin)" --no-defaults --user="$user" --datadir="$dir/data" \
        --socket="$SYRF_TEST_MYSQL_SOCKET" --pid-file="$dir/run/mariadb.pid" \
        --bind-address=127.0.0.1 --port="$SYRF_TEST_MYSQL_PORT" --skip-networking=0 \
        --log-error="$dir/error.log" --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_unicode_ci --max-allowed-packet=256M \
        --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=0 --skip-log-bin \
        --sync-binlog=0 --innodb-doublewrite=0 --skip-name-resolve \
        >"$dir/stdout.log" 2>&1 &
    local i
    for i in $(seq 1 120); do
        if mariadb --no-defaults --socket="$SYRF_TEST_MYSQL_SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; then
            break
        fi
        if [[ $i -eq 120 ]]; then cat "$dir/error.log" >&2; die "MariaDB did not start"; fi
        sleep 0.5
    done
    # The tests connect as an ordinary user with a password, over the socket or loopback TCP.
    mariadb --no-defaults --socket="$SYRF_TEST_MYSQL_SOCKET" -uroot <<SQL
CREATE USER '$SYRF_TEST_MYSQL_USER'@'localhost' IDENTIFIED BY '$SYRF_TEST_MYSQL_PASSWORD';
CREATE USER '$SYRF_TEST_MYSQL_USER'@'127.0.0.1' IDENTIFIED BY '$SYRF_TEST_MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$SYRF_TEST_MYSQL_USER'@'localhost' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$SYRF_TEST_MYSQL_USER'@'127.0.0.1' WITH GRANT OPTION;
SQL
    export SYRF_TEST_MYSQL_SOCKET SYRF_TEST_MYSQL_PORT SYRF_TEST_MYSQL_USER SYRF_TEST_MYSQL_PASSWORD
    export SYRF_TEST_MYSQL_HOST=127.0.0.1
}

stop_mariadb() {
    local dir=$SYRF_SERVERS_DIR/mariadb pid
    [[ -f $dir/run/mariadb.pid ]] || return 0
    pid=$(cat "$dir/run/mariadb.pid")
    log "stopping MariaDB (pid $pid)"
    kill "$pid" 2>/dev/null || return 0
    local i
    for i in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.5
    done
    kill -9 "$pid" 2>/dev/null || true
}

start_postgres() {
    local dir=$SYRF_SERVERS_DIR/postgres bindir user
    bindir=$(pg_bindir) || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
    user=$(id -un)
    # PostgreSQL refuses to run as root: run it as the Debian package's postgres user.
    if [[ $(id -u) -eq 0 ]]; then user=postgres; fi
    mkdir -p "$dir/run"
    if [[ $(id -u) -eq 0 ]]; then chown -R "$user:" "$dir"; fi
    SYRF_TEST_PG_PORT=$(free_port "${SYRF_TEST_PG_PORT:-55432}")
    SYRF_TEST_PG_HOST=$dir/run
    # The superuser is called postgres, as on every real server: dumps name it as owner.
    SYRF_TEST_PG_USER=postgres
    log "initialising PostgreSQL ($bindir) in $dir/data"
    as_user "$user" "$bindir/initdb" -D "$dir/data" -U "$SYRF_TEST_PG_USER" --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    log "starting PostgreSQL on 127.0.0.1:$SYRF_TEST_PG_PORT (socket dir $SYRF_TEST_PG_HOST)"
    as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $SYRF_TEST_PG_PORT -k $SYRF_TEST_PG_HOST -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; die "PostgreSQL did not start"; }
    export SYRF_TEST_PG_HOST SYRF_TEST_PG_PORT SYRF_TEST_PG_USER
}

stop_postgres() {
    local dir=$SYRF_SERVERS_DIR/postgres bindir user
    [[ -f $dir/data/postmaster.pid ]] || return 0
    bindir=$(pg_bindir) || return 0
    user=$(id -un)
    if [[ $(id -u) -eq 0 ]]; then user=postgres; fi
    log "stopping PostgreSQL"
    as_user "$user" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# Writes the connection settings as shell exports (for `source`).
write_env_file() {
    cat >"$1" <<ENV
export SYRF_TEST_MYSQL_SOCKET='$SYRF_TEST_MYSQL_SOCKET'
export SYRF_TEST_MYSQL_HOST='$SYRF_TEST_MYSQL_HOST'
export SYRF_TEST_MYSQL_PORT='$SYRF_TEST_MYSQL_PORT'
export SYRF_TEST_MYSQL_USER='$SYRF_TEST_MYSQL_USER'
export SYRF_TEST_MYSQL_PASSWORD='$SYRF_TEST_MYSQL_PASSWORD'
export SYRF_TEST_PG_HOST='$SYRF_TEST_PG_HOST'
export SYRF_TEST_PG_PORT='$SYRF_TEST_PG_PORT'
export SYRF_TEST_PG_USER='$SYRF_TEST_PG_USER'
ENV
}

start_servers() {
    start_mariadb
    start_postgres
}

stop_servers() {
    stop_mariadb
    stop_postgres
}
