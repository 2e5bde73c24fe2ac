#!/usr/bin/env bash
# Print the path of a Python >= 3.12 interpreter, trying each candidate by running it.
# pyenv shims can exist on PATH yet fail, so every candidate is executed, not just found.
set -u
check='import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'
candidates=("${PYTHON:-}" python3.13 python3.12 python3 python)
if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root 2>/dev/null)
    for v in "$root"/versions/3.1[2-9]*/bin/python "$root"/versions/3.[2-9]*/bin/python; do
        candidates+=("$v")
    done
fi
for dir in "$HOME/.pyenv/versions" /usr/local/bin /usr/bin; do
    for v in "$dir"/3.1[2-9]*/bin/python "$dir"/python3.1[2-9]; do
        candidates+=("$v")
    done
done
for c in "${candidates[@]}"; do
    [ -n "$c" ] || continue
    path=$(command -v "$c" 2>/dev/null) || continue
    if "$path" -c "$check" >/dev/null 2>&1; then
        echo "$path"
        exit 0
    fi
done
echo "error: townsim needs Python >= 3.12 and none was found." >&2
echo "Install one (for example 'pyenv install 3.12' or your system's python3.12 package)," >&2
echo "or point PYTHON at it: make PYTHON=/path/to/python3.12 run" >&2
exit 1
