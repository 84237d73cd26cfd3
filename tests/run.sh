#!/usr/bin/env bash
# The test suite, exactly as README and CI run it: install (idempotent), the import contracts, then pytest.
# Extra arguments go to pytest (e.g. `bash tests/run.sh -m slow`, `bash tests/run.sh -m cluster`).
set -uo pipefail
cd "$(dirname "$0")/.."
./install.sh || exit 1
PY=${PYTHON:-python3}
# the architecture: layers without cycles (pyproject.toml [tool.importlinter]); a broken contract fails the run
LINT=$(dirname "$(command -v "$PY")")/lint-imports
[ -x "$LINT" ] || LINT=lint-imports
"$LINT" --no-cache || { echo "tests/run.sh: import contracts broken (see above)" >&2; exit 1; }
# a real local PostgreSQL server for the campaign database test
source tests/postgres.sh
start_postgres || echo "tests/run.sh: could not start PostgreSQL" >&2
# a real one-node Slurm cluster (and Open MPI) for the cluster tests; stopped when this script exits
source tests/slurm.sh
start_slurm || echo "tests/run.sh: could not start Slurm" >&2
"$PY" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "tests/run.sh: pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$rc"
