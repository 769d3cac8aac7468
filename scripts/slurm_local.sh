#!/usr/bin/env bash
# A one-node SLURM cluster on this machine for the SLURM tests (tests/test_slurm.py): munged, MariaDB + slurmdbd
# (job accounting: submitit learns a job's end, a cancelled one's included, from `sacct`), slurmctld, slurmd.
#   bash scripts/slurm_local.sh start    # installs slurm-wlm slurmdbd munge mariadb-server if missing, starts,
#                                        # waits for an idle node
#   bash scripts/slurm_local.sh status   # exit 0 when the node answers idle/mixed/allocated and sacct answers
#   bash scripts/slurm_local.sh stop
# Everything it writes (munge key, slurm.conf, slurmdbd.conf, the database, state, logs, pid files) lives in
# $EVALKIT_SLURM_STATE (default /tmp/evalkit-slurm); /etc/slurm/slurm.conf becomes a link to its slurm.conf so
# sbatch/squeue find it, unless another slurm.conf is there already (then it refuses: this is not a tool for a real cluster). No cgroup
# plugins (proctrack/linuxproc, task/none): a container can run it. Idempotent: start on a running cluster checks it.
set -euo pipefail

STATE=${EVALKIT_SLURM_STATE:-/tmp/evalkit-slurm}
CONF=$STATE/slurm.conf
ETC=/etc/slurm/slurm.conf
MARK="# written by evalkit scripts/slurm_local.sh"
SOCKET=/run/munge/munge.socket.2
NODE=$(hostname -s)
DB_PORT=${EVALKIT_SLURM_DB_PORT:-3307}
DB_SOCKET=$STATE/mysql/mysqld.sock
export SLURM_CONF=$CONF   # slurmdbd reads slurmdbd.conf beside it

die() { echo "slurm_local.sh: $*" >&2; exit 1; }

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1 || true; }

# the node takes jobs and the accounting database answers (submitit polls sacct for job states)
up() {
  case "$(node_state)" in idle|mixed|allocated) ;; *) return 1 ;; esac
  sacct -n -X --starttime=now >/dev/null 2>&1
}

install() {
  local p missing=0
  for p in slurmctld slurmd slurmdbd munged mariadbd; do command -v $p >/dev/null || missing=1; done
  [ $missing = 0 ] && return
  command -v apt-get >/dev/null || die "SLURM daemons missing and no apt-get to install them"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm slurmdbd munge mariadb-server \
    >/dev/null) || die "apt-get install slurm-wlm slurmdbd munge mariadb-server failed"
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
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
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
  cat > "$STATE/slurmdbd.conf" <<EOF
$MARK
DbdHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCKET
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=evalkit
StorageLoc=slurm_acct_db
EOF
  chmod 600 "$STATE/slurmdbd.conf"
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
  if up; then
    echo "slurm_local.sh: already up (node $NODE $(node_state))"; return
  fi
  write_config
  if ! [ -S "$SOCKET" ] || ! munge -n -S "$SOCKET" >/dev/null 2>&1; then
    rm -f "$SOCKET"
    runuser -u munge -- munged --key-file="$STATE/munge/munge.key" --log-file="$STATE/munge/munged.log" \
      --pid-file="$STATE/munge/munged.pid" --seed-file="$STATE/munge/munged.seed" --socket="$SOCKET" \
      || die "munged did not start (see $STATE/munge/munged.log)"
  fi
  start_accounting
  pgrep -F "$STATE/slurmctld.pid" >/dev/null 2>&1 || slurmctld -f "$CONF" \
    || die "slurmctld did not start (see $STATE/slurmctld.log)"
  pgrep -F "$STATE/slurmd.pid" >/dev/null 2>&1 || slurmd -f "$CONF" || die "slurmd did not start (see $STATE/slurmd.log)"
  for _ in $(seq 60); do
    up && { echo "slurm_local.sh: up (node $NODE $(node_state), $(nproc) CPUs, state in $STATE)"; return; }
    case "$(node_state)" in
      down*|drain*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  die "node $NODE is not idle after 60 s (sinfo: $(node_state)); see $STATE/slurmctld.log and $STATE/slurmd.log"
}

db() { mariadb --socket="$DB_SOCKET" -u root "$@"; }

# MariaDB on 127.0.0.1:$DB_PORT with its data in $STATE/mysql, then slurmdbd, then this cluster registered in it.
start_accounting() {
  if ! db -e 'select 1' >/dev/null 2>&1; then
    if [ ! -d "$STATE/mysql/mysql" ]; then
      mkdir -p "$STATE/mysql" && chown mysql:mysql "$STATE/mysql"
      mariadb-install-db --user=mysql --datadir="$STATE/mysql" --skip-test-db >"$STATE/mysql-install.log" 2>&1 \
        || die "mariadb-install-db failed (see $STATE/mysql-install.log)"
    fi
    setsid mariadbd --user=mysql --datadir="$STATE/mysql" --socket="$DB_SOCKET" --pid-file="$STATE/mysql/mysqld.pid" \
      --bind-address=127.0.0.1 --port="$DB_PORT" --log-error="$STATE/mysql/mysqld.log" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 60); do db -e 'select 1' >/dev/null 2>&1 && break; sleep 0.5; done
    db -e 'select 1' >/dev/null 2>&1 || die "MariaDB did not start (see $STATE/mysql/mysqld.log)"
  fi
  db -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'evalkit';
         GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || die "could not create the slurm database user"
  if ! pgrep -F "$STATE/slurmdbd.pid" >/dev/null 2>&1; then
    slurmdbd || die "slurmdbd did not start (see $STATE/slurmdbd.log)"
  fi
  for _ in $(seq 30); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.5; done
  sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx evalkit \
    || sacctmgr -i add cluster evalkit >/dev/null || die "sacctmgr add cluster failed (see $STATE/slurmdbd.log)"
}

stop() {
  local f
  for f in slurmd slurmctld slurmdbd mysql/mysqld munge/munged; do
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
  if up; then
    echo "slurm_local.sh: up (node $NODE $s)"
  else
    echo "slurm_local.sh: not up (sinfo: ${s:-no answer}; sacct: $(sacct -n -X --starttime=now 2>&1 | head -1 || true))"
    return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) die "usage: $0 start|stop|status" ;;
esac
