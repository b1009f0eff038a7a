# Sourced by bin/check and bin/demo: make .venv and install the project into it.
# Installs again only when pyproject.toml changes (or with other extras).

ensure_venv() {
    local extras="$1"   # "" or "[dev]"
    local stamp=".venv/.portico-installed"
    if [[ ! -x .venv/bin/python ]]; then
        local python="${PYTHON:-python3}"
        if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "Portico needs Python 3.11 or newer as '$python' (set PYTHON to choose one)." >&2
            exit 1
        fi
        "$python" -m venv .venv
    fi
    local want
    want="$(sha256sum pyproject.toml | cut -d' ' -f1) ${extras}"
    # A dev install also serves the demo, which needs no extras.
    if [[ -f "$stamp" ]] && { [[ "$(cat "$stamp")" == "$want" ]] \
        || [[ -z "$extras" && "$(cat "$stamp")" == "${want}[dev]" ]]; }; then
        return
    fi
    .venv/bin/python -m pip install -q -e ".${extras}"
    echo "$want" >"$stamp"
}
