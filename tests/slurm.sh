#!/usr/bin/env bash
# A real one-node Slurm cluster for the cluster tests (sourced by tests/run.sh, like postgres.sh).
#
#   source tests/slurm.sh; start_slurm      # exports SURFCHEM_TEST_SLURM=1 and SLURM_CONF
#
# Installs Debian's slurm-wlm, munge and Open MPI (for the MPI test; mpi4py from PyPI) when missing
# (root only), writes a one-node configuration to a temporary directory (slurmctld and slurmd run
# as root, proctrack/linuxproc, task/none, select/cons_tres, one 2-CPU node named `hostname -s`,
# free ports), starts munged (unless one runs), slurmctld and slurmd, and exports
# SURFCHEM_TEST_SLURM=1 once `sinfo` shows the node idle. The daemons it started are stopped when
# the sourcing shell exits (stop_slurm). Where apt or root is missing it prints why and leaves
# SURFCHEM_TEST_SLURM unset; SURFCHEM_TEST_SLURM_SKIP then holds the reason the tests print.
SURFCHEM_SLURM_PIDS=()

_slurm_skip() {
  export SURFCHEM_TEST_SLURM_SKIP="$1"
  unset SURFCHEM_TEST_SLURM
  echo "slurm: $1: cluster tests will be skipped" >&2
  return 0
}

_free_port() {
  "${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_slurm() {
  unset SURFCHEM_TEST_SLURM SURFCHEM_TEST_SLURM_SKIP
  local PY=${PYTHON:-python3}
  [ "$(id -u)" = 0 ] || { _slurm_skip "not root (slurmctld/slurmd must run as root here)"; return 0; }
  if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
     || ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
    command -v apt-get >/dev/null || { _slurm_skip "no apt-get to install slurm-wlm and munge"; return 0; }
    local t0=$SECONDS
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        slurm-wlm munge openmpi-bin libopenmpi-dev >/dev/null; } \
      || { _slurm_skip "apt-get install slurm-wlm munge openmpi-bin libopenmpi-dev failed"; return 0; }
    echo "slurm: installed slurm-wlm munge openmpi in $((SECONDS - t0)) s" >&2
  fi
  "$PY" -c "import mpi4py" 2>/dev/null \
    || "$PY" -m pip install --disable-pip-version-check -q mpi4py >/dev/null 2>&1 \
    || echo "slurm: pip install mpi4py failed: the MPI test will be skipped" >&2

  local t0=$SECONDS host dir ctld_port d_port
  host=$(hostname -s)
  dir=$(mktemp -d /tmp/surfchem-slurm.XXXXXX)
  mkdir -p "$dir/state" "$dir/spool"
  ctld_port=$(_free_port)
  d_port=$(_free_port)
  [ "$d_port" = "$ctld_port" ] && d_port=$((ctld_port + 1))
  cat > "$dir/slurm.conf" <<EOF
ClusterName=surfchemtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF="$dir/slurm.conf"
  export SURFCHEM_SLURM_DIR="$dir"

  # munge: reuse a running daemon, else start one as the munge user
  if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null
    [ -s /etc/munge/munge.key ] || { mungekey --create >/dev/null 2>&1 || create-munge-key -f >/dev/null 2>&1; }
    chown munge:munge /etc/munge/munge.key 2>/dev/null
    chmod 0400 /etc/munge/munge.key 2>/dev/null
    rm -f /run/munge/surfchem-munged.pid
    runuser -u munge -- munged --pid-file=/run/munge/surfchem-munged.pid \
      || { _slurm_skip "munged did not start"; return 0; }
    for _ in $(seq 1 20); do [ -s /run/munge/surfchem-munged.pid ] && break; sleep 0.2; done
    SURFCHEM_SLURM_PIDS+=("$(cat /run/munge/surfchem-munged.pid 2>/dev/null)")
  fi
  slurmctld -i -f "$SLURM_CONF" || { _slurm_skip "slurmctld did not start (see $dir/slurmctld.log)"; return 0; }
  slurmd -f "$SLURM_CONF" -N "$host" || { _slurm_skip "slurmd did not start (see $dir/slurmd.log)"; return 0; }
  for f in slurmctld.pid slurmd.pid; do
    for _ in $(seq 1 20); do [ -s "$dir/$f" ] && break; sleep 0.2; done
    SURFCHEM_SLURM_PIDS+=("$(cat "$dir/$f" 2>/dev/null)")
  done
  trap stop_slurm EXIT
  local state=""
  for _ in $(seq 1 60); do
    state=$(sinfo -h -N -n "$host" -o %t 2>/dev/null | head -n 1)
    [ "$state" = idle ] && break
    sleep 0.5
  done
  if [ "$state" != idle ]; then
    _slurm_skip "node $host not idle after 30 s (state '${state:-none}', logs in $dir)"
    return 0
  fi
  export SURFCHEM_TEST_SLURM=1
  echo "slurm: one-node cluster ($host, 2 CPUs) up in $((SECONDS - t0)) s, SLURM_CONF=$SLURM_CONF" >&2
}

stop_slurm() {
  local pid
  # cancel what the tests left behind, then stop only the daemons started here
  [ -n "${SLURM_CONF:-}" ] && scancel --quiet --user="$(id -un)" 2>/dev/null
  for pid in "${SURFCHEM_SLURM_PIDS[@]}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  for pid in "${SURFCHEM_SLURM_PIDS[@]}"; do
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
  SURFCHEM_SLURM_PIDS=()
  # the temporary configuration, state and logs (kept with SURFCHEM_KEEP_SLURM_DIR=1)
  case "${SURFCHEM_SLURM_DIR:-}" in
    /tmp/surfchem-slurm.*) [ -n "${SURFCHEM_KEEP_SLURM_DIR:-}" ] || rm -rf "$SURFCHEM_SLURM_DIR" ;;
  esac
  unset SURFCHEM_TEST_SLURM
}
