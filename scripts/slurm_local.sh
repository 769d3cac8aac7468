#!/usr/bin/env bash
# A one-node SLURM cluster on this machine for the SLURM tests (tests/test_slurm.py): munged, slurmctld, slurmd.
#   bash scripts/slurm_local.sh start    # installs slurm-wlm + munge if missing, starts, waits for an idle node
#   bash scripts/slurm_local.sh status   # exit 0 when the node answers idle/mixed/allocated
#   bash scripts/slurm_local.sh stop
# Everything it writes (munge key, slurm.conf, state, logs, pid files) lives in $EVALKIT_SLURM_STATE (default
# /tmp/evalkit-slurm); /etc/slurm/slurm.conf becomes a link to its slurm.conf so sbatch/squeue find it, unless
# another slurm.conf is there already (then it refuses: this is not a tool for a real cluster). No cgroup
# plugins (proctrack/linuxproc, task/none): a container can run it. Idempotent: start on a running cluster checks it.
set -euo pipefail

STATE=${EVALKIT_SLURM_STATE:-/tmp/evalkit-slurm}
CONF=$STATE/slurm.conf
ETC=/etc/slurm/slurm.conf
MARK="# written by evalkit scripts/slurm_local.sh"
SOCKET=/run/munge/munge.socket.2
NODE=$(hostname -s)

die() { echo "slurm_local.sh: $*" >&2; exit 1; }

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1; }

install() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null && return
  command -v apt-get >/dev/null || die "slurmctld/slurmd/munged missing and no apt-get to install slurm-wlm munge"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null) \
    || die "apt-get install slurm-wlm munge failed"
}

write_config() {
  mkdir -p "$STATE/ctld" "$STATE/spool" "$STATE/munge" /run/munge
  # this machine's cores and memory (slurmd's own reading; a little memory left to the system)
  local cpus mem
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
  cat > "$CONF" <<EOF
$MARK
ClusterName=evalkit
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
  if [ -L "$ETC" ] || [ ! -e "$ETC" ]; then
    mkdir -p /etc/slurm && ln -sfn "$CONF" "$ETC"
  elif ! grep -qF "$MARK" "$ETC"; then
    die "$ETC exists and is not ours: refusing to replace a real cluster's configuration"
  fi
  if [ ! -s "$STATE/munge/munge.key" ]; then
    dd if=/dev/urandom of="$STATE/munge/munge.key" bs=1024 count=1 status=none
  fi
  chown -R munge:munge "$STATE/munge" /run/munge
  chmod 700 "$STATE/munge"
  chmod 755 /run/munge
  chmod 600 "$STATE/munge/munge.key"
}

start() {
  install
  if [ "$(node_state)" = idle ] || [ "$(node_state)" = mixed ] || [ "$(node_state)" = allocated ]; then
    echo "slurm_local.sh: already up (node $NODE $(node_state))"; return
  fi
  write_config
  if ! [ -S "$SOCKET" ] || ! munge -n -S "$SOCKET" >/dev/null 2>&1; then
    rm -f "$SOCKET"
    runuser -u munge -- munged --key-file="$STATE/munge/munge.key" --log-file="$STATE/munge/munged.log" \
      --pid-file="$STATE/munge/munged.pid" --seed-file="$STATE/munge/munged.seed" --socket="$SOCKET" \
      || die "munged did not start (see $STATE/munge/munged.log)"
  fi
  pgrep -F "$STATE/slurmctld.pid" >/dev/null 2>&1 || slurmctld -f "$CONF" || die "slurmctld did not start (see $STATE/slurmctld.log)"
  pgrep -F "$STATE/slurmd.pid" >/dev/null 2>&1 || slurmd -f "$CONF" || die "slurmd did not start (see $STATE/slurmd.log)"
  for _ in $(seq 60); do
    case "$(node_state)" in
      idle|mixed|allocated) echo "slurm_local.sh: up (node $NODE $(node_state), $(nproc) CPUs, state in $STATE)"; return ;;
      down*|drain*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  die "node $NODE is not idle after 60 s (sinfo: $(node_state)); see $STATE/slurmctld.log and $STATE/slurmd.log"
}

stop() {
  local f
  for f in slurmd slurmctld munge/munged; do
    if [ -f "$STATE/$f.pid" ]; then
      kill "$(cat "$STATE/$f.pid")" 2>/dev/null || true
      rm -f "$STATE/$f.pid"
    fi
  done
  echo "slurm_local.sh: stopped"
}

status() {
  local s
  s=$(node_state)
  case "$s" in
    idle|mixed|allocated) echo "slurm_local.sh: up (node $NODE $s)" ;;
    *) echo "slurm_local.sh: not up (sinfo: ${s:-no answer})"; return 1 ;;
  esac
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
