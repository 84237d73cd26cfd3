#!/usr/bin/env bash
# Install surfchem and everything it uses (ML potentials, xTB, GPAW, RDKit, Parsl, ...) into the
# active Python (python3 on PATH, or $PYTHON). Idempotent: a second run is a fast no-op.
#
#   ./install.sh            install (apt-get for GPAW's C libraries when run as root)
#
# Facts this script encodes (see README "Installation"):
# - GPAW builds from PyPI only with CC=g++ and needs libxc, OpenBLAS and FFTW headers.
# - Plain `pip install torch` pulls the CUDA build (+4 GB); we try the CPU build first.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
here=$(pwd)

have() { "$PY" - "$@" <<'PYEOF'
import importlib.util, sys
sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 1)
PYEOF
}

stamp_file=.install-stamp
want="$(cat pyproject.toml install.sh | sha256sum | cut -c1-16) $("$PY" -c 'import sys; print(sys.prefix)')"
installed_here=$(cd / && "$PY" -c "import surfchem, os; print(os.path.dirname(os.path.dirname(os.path.abspath(surfchem.__file__))))" 2>/dev/null || true)
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ] && [ "$installed_here" = "$here" ] \
   && have gpaw tblite chgnet sevenn dftd3 rdkit parsl torch numba phconvert; then
  echo "surfchem: already installed (delete $stamp_file to force)"
  exit 0
fi

# 1. C libraries for GPAW (Debian/Ubuntu)
missing=()
for pkg in libxc-dev libopenblas-dev libfftw3-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "surfchem: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "surfchem: GPAW needs: sudo apt-get install ${missing[*]} (then rerun ./install.sh)" >&2
    exit 1
  fi
fi

pipi() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

# 2. PyTorch, CPU build when the index offers it
have torch || pipi "torch==2.13.0+cpu" || pipi torch
# 3. GPAW (its C sources need a C++ compiler driver here)
have gpaw || CC=g++ pipi gpaw
# 4. surfchem itself with both halves (the `all` extra: photons + science) and the dev tools
pipi -e ".[all,dev]"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
echo "$want" > "$stamp_file"
echo "surfchem: installed into $("$PY" -c 'import sys; print(sys.prefix)')"
