#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for tests of sweeps run through Slurm job arrays.
# Debian 12 (bookworm), as root, no systemd needed: the daemons are started directly, with every
# state, spool, pid and log file under one folder DIR.
#
# Usage: scripts/slurm-cluster.sh start|stop|status|env|check [DIR]
#   start   install the packages if missing (apt-get: slurmctld slurmd slurm-client munge; the
#           client tools sbatch squeue scancel sinfo scontrol sacct come with slurm-client), create
#           the munge key if missing, start munged (unless one already answers), write
#           DIR/slurm.conf, start slurmctld and slurmd (daemonised, logs in DIR/log), wait until
#           the node is idle and its slurmd registered, then print `export SLURM_CONF=...` on
#           stdout (progress goes to stderr), so `eval "$(scripts/slurm-cluster.sh start)"` works.
#           A cluster already running from DIR is left alone (the export line is printed again).
#           On failure: exit 1 with the tails of the logs, and nothing left running.
#   stop    cancel the cluster's jobs, then stop slurmd, slurmctld and munged (only a munged this
#           script started), through the pid files in DIR/run. Job records stay in DIR/state.
#   status  daemons alive or not, then `sinfo` and `squeue` (exit 0 only if all answer).
#   env     print the export line only.
#   check   submit jobs to the running cluster and check the states Slurm reports: an array
#           whose tasks write files, one with --mem/--time/--partition/--cpus-per-task and a task
#           that exits 1 (FAILED), scancel (CANCELLED), --time=1 (TIMEOUT), the completion log.
#           Takes ~90 s (the time limit); exits 1 if any state differs.
# DIR defaults to $SLURM_CLUSTER_DIR, else /tmp/systolic-slurm. Keep it short: slurmd puts Unix
# sockets under DIR/spool and a socket path cannot exceed 107 bytes. One cluster per machine at
# a time (the ports are fixed by SLURM_CLUSTER_PORT). scripts/slurm-cluster.md has the findings.
#
# Knobs (environment variables, read by `start`; a running cluster keeps its config):
#   SLURM_CLUSTER_CPUS       CPUs of the node (default: what `slurmd -C` finds)
#   SLURM_CLUSTER_MEM        RealMemory of the node in MB (default: what `slurmd -C` finds)
#   SLURM_CLUSTER_DEF_MEM    DefMemPerCPU in MB, the memory of a job that gives no --mem
#                            (default RealMemory/CPUs; 0 leaves it unset, see below)
#   SLURM_CLUSTER_MAX_ARRAY  MaxArraySize (default 10001: task ids 0..10000; Slurm's own is 1001)
#   SLURM_CLUSTER_MIN_JOB_AGE  MinJobAge, seconds a finished job stays visible to squeue/scontrol
#                            (default 3600; Slurm's own is 300)
#   SLURM_CLUSTER_PORT       SlurmctldPort; SlurmdPort is the next one (default 6817)
#   SLURM_CLUSTER_SCHED_PARAMS  SchedulerParameters (default batch_sched_delay=0,bf_interval=1)
#   SLURM_CLUSTER_WAIT       seconds to wait for the idle node (default 60)
#
# What the config chooses, and why (checked on Debian 12, slurm-wlm 22.05.8, munge 0.5.15):
# - SlurmUser/SlurmdUser root, ProctrackType=proctrack/linuxproc, TaskPlugin=task/none,
#   JobAcctGatherType=jobacct_gather/none: no cgroup, no systemd, works in containers.
# - SelectType=select/cons_tres with CR_Core_Memory (cons_tres's default, made explicit): cores
#   and memory are both consumed. RealMemory must be given (Slurm's default is 1 MB, and sbatch
#   refuses any larger --mem: "Requested node configuration is not available"), and DefMemPerCPU
#   must be set: without it a job that gives no --mem gets the whole node's memory, so array
#   tasks run one at a time (the others PENDING, reason Resources).
# - SlurmdParameters=config_overrides: the node is what slurm.conf says, so SLURM_CLUSTER_CPUS may
#   exceed the real core count without the node being drained.
# - SchedulerParameters: batch_sched_delay=0 (Slurm's default 3 s delays the start of batch jobs
#   after every event) and bf_interval=1; an 8-task array of `true` takes ~2 s instead of ~9 s.
# - No slurmdbd (it needs a MySQL/MariaDB server), so AccountingStorageType=accounting_storage/none
#   and plain `sacct` has no data ("Slurm accounting storage is disabled"); 22.05 has no file
#   accounting plugin. JobCompType=jobcomp/filetxt writes one line per finished job to
#   DIR/jobcomp.txt, with ArrayJobId, ArrayTaskId, JobState and ExitCode; `sacct -c` reads it but
#   does not know the array fields (it lists the raw job ids). Finished array tasks: within
#   MinJobAge, `squeue -t all -r -j JOB -o '%K %T'` and `scontrol show job JOB`; for good, grep
#   DIR/jobcomp.txt (tasks cancelled before they started share one line without ArrayTaskId).
set -euo pipefail

cmd="${1:-}"
dir="${2:-${SLURM_CLUSTER_DIR:-/tmp/systolic-slurm}}"
case "$cmd" in
  start|stop|status|env|check) ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d'  | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 start|stop|status|env|check [DIR]  (see --help)" >&2; exit 2 ;;
esac
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

log() { echo "slurm-cluster: $*" >&2; }

# Tails of every log this script knows of, for failures.
dump_logs() {
  local f
  for f in "$dir"/log/*; do
    [[ -f "$f" && -s "$f" ]] || continue
    echo "---- tail $f" >&2
    tail -n 25 "$f" >&2
  done
}
die() { log "error: $*"; dump_logs; exit 1; }
# A failed start stops what it started, so no half cluster is left behind.
die_start() { log "error: $*"; dump_logs; do_stop >/dev/null 2>&1 || true; exit 1; }

# pid of a daemon from its pid file in DIR/run, if that process is alive and is the daemon.
alive() {
  local name="$1" pidfile="$dir/run/$1.pid" pid
  [[ -s "$pidfile" ]] || return 1
  pid="$(tr -dc 0-9 <"$pidfile")"
  [[ -n "$pid" && -r "/proc/$pid/comm" ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$name"* ]] || return 1
  # A daemon killed but not yet reaped (a zombie) is not alive.
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  echo "$pid"
}

munge_ok() { command -v munge >/dev/null && munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
node_state() { sinfo -h -N -n "$node" -o %T 2>/dev/null | head -n1 || true; }
# Seconds since the epoch at which the node's slurmd last registered with slurmctld (a restarted
# slurmctld recovers the node as idle from its state files before slurmd has registered).
slurmd_registered() {
  local t
  t="$(scontrol -o show node "$node" 2>/dev/null | grep -o 'SlurmdStartTime=[^ ]*' | cut -d= -f2)" || true
  [[ -n "$t" && "$t" != None ]] && date -d "$t" +%s 2>/dev/null || echo 0
}

node="$(hostname -s)"

stop_daemon() {
  local name="$1" pid i
  pid="$(alive "$name")" || { rm -f "$dir/run/$name.pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    [[ -d "/proc/$pid" ]] || break
    sleep 0.1
  done
  if [[ -d "/proc/$pid" ]]; then
    log "$name ($pid) did not stop on TERM within 10 s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/run/$name.pid"
  log "stopped $name ($pid)"
}

do_stop() {
  local ids i
  if alive slurmctld >/dev/null && [[ -f "$conf" ]]; then
    # Jobs left running would outlive slurmd (slurmstepd is its own daemon): cancel them first.
    ids="$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')" || ids=""
    if [[ -n "${ids// /}" ]]; then
      log "cancelling jobs: $ids"
      # shellcheck disable=SC2086
      scancel $ids 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do
        [[ -z "$(squeue -h -o %A 2>/dev/null)" ]] && break
        sleep 0.1
      done
    fi
  fi
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
}

install_packages() {
  local missing=0 t
  for t in sbatch squeue sacct scancel sinfo scontrol slurmctld slurmd munged munge unmunge; do
    command -v "$t" >/dev/null || missing=1
  done
  ((missing)) || return 0
  [[ $(id -u) -eq 0 ]] || die "slurm/munge not installed, and installing needs root"
  log "installing slurmctld slurmd slurm-client munge (apt-get)"
  local pkgs=(slurmctld slurmd slurm-client munge)
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$dir/log"
  if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$dir/log/apt.log" 2>&1; then
    apt-get update -qq >>"$dir/log/apt.log" 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >>"$dir/log/apt.log" 2>&1 \
      || die "apt-get install ${pkgs[*]} failed (log $dir/log/apt.log)"
  fi
}

start_munge() {
  if munge_ok; then
    log "munged already answers, using it"
    return 0
  fi
  local key=/etc/munge/munge.key i
  if [[ ! -s "$key" ]]; then
    log "creating the munge key $key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile="$key" --force
    else
      dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
    fi
    chmod 0400 "$key"
    id munge >/dev/null 2>&1 && chown munge:munge "$key" /etc/munge
  fi
  # The socket stays at munge's default (/run/munge/munge.socket.2), where Slurm's auth plugin
  # and the munge/unmunge clients look for it. munged refuses to run as root without --force.
  mkdir -p /run/munge "$dir/munge"
  chmod 0755 /run/munge
  munged --force --key-file="$key" --log-file="$dir/log/munged.log" \
    --pid-file="$dir/run/munged.pid" --seed-file="$dir/munge/munged.seed" \
    2>>"$dir/log/munged.stderr" || die_start "munged did not start"
  for ((i = 0; i < 50; i++)); do
    munge_ok && { log "started munged ($(alive munged || echo '?'))"; return 0; }
    sleep 0.1
  done
  die_start "munged started but munge -n | unmunge fails"
}

write_conf() {
  local hw cpus topo mem defmem port
  hw="$(slurmd -C 2>/dev/null | head -n1)"
  field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$hw"; }
  # The node as slurmd -C finds it (sockets, cores, threads), unless SLURM_CLUSTER_CPUS says.
  if [[ -n "${SLURM_CLUSTER_CPUS:-}" ]]; then
    cpus="$SLURM_CLUSTER_CPUS"
    topo=""
  else
    cpus="$(field CPUs)"
    topo="$(grep -oE '(Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore)=[0-9]+' <<<"$hw" | tr '\n' ' ')"
  fi
  [[ -n "$cpus" ]] || cpus="$(nproc)"
  mem="${SLURM_CLUSTER_MEM:-$(field RealMemory)}"
  [[ -n "$mem" ]] || mem="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
  defmem="${SLURM_CLUSTER_DEF_MEM:-$((mem / cpus))}"
  port="${SLURM_CLUSTER_PORT:-6817}"
  {
    echo "# Written by scripts/slurm-cluster.sh: a single-node cluster, everything under $dir."
    echo "ClusterName=systolic"
    echo "SlurmctldHost=$node(127.0.0.1)"
    echo "SlurmctldPort=$port"
    echo "SlurmdPort=$((port + 1))"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "CredType=cred/munge"
    echo "MpiDefault=none"
    echo "MailProg=/bin/true"
    echo "StateSaveLocation=$dir/state"
    echo "SlurmdSpoolDir=$dir/spool"
    echo "SlurmctldPidFile=$dir/run/slurmctld.pid"
    echo "SlurmdPidFile=$dir/run/slurmd.pid"
    echo "SlurmctldLogFile=$dir/log/slurmctld.log"
    echo "SlurmdLogFile=$dir/log/slurmd.log"
    echo "SlurmctldDebug=info"
    echo "SlurmdDebug=info"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobCompType=jobcomp/filetxt"
    echo "JobCompLoc=$dir/jobcomp.txt"
    echo "SchedulerType=sched/backfill"
    echo "SchedulerParameters=${SLURM_CLUSTER_SCHED_PARAMS:-batch_sched_delay=0,bf_interval=1}"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core_Memory"
    echo "SlurmdParameters=config_overrides"
    echo "ReturnToService=2"
    echo "MinJobAge=${SLURM_CLUSTER_MIN_JOB_AGE:-3600}"
    echo "MaxArraySize=${SLURM_CLUSTER_MAX_ARRAY:-10001}"
    echo "MaxJobCount=100000"
    ((defmem > 0)) && echo "DefMemPerCPU=$defmem"
    echo "NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus ${topo}RealMemory=$mem State=UNKNOWN"
    echo "PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP"
  } >"$conf.new"
  mv "$conf.new" "$conf"
}

do_start() {
  local t0 t1 i state
  t0=$(date +%s.%N)
  # `scontrol show slurmd` asks the local slurmd itself (the node state in slurmctld lags).
  if alive slurmctld >/dev/null && alive slurmd >/dev/null && munge_ok \
    && scontrol show slurmd >/dev/null 2>&1; then
    state="$(node_state)"
    case "$state" in
      idle*|mixed*|allocated*)
        log "already running from $dir (node $node $state)"
        echo "export SLURM_CONF=$conf"
        return 0 ;;
    esac
    log "daemons alive but node state is '${state:-none}': restarting"
  fi
  do_stop 2>/dev/null || true
  mkdir -p "$dir/state" "$dir/spool" "$dir/run" "$dir/log/previous"
  # This start's logs only (the previous ones are kept in log/previous).
  find "$dir/log" -maxdepth 1 -type f -exec mv -f {} "$dir/log/previous/" \;
  install_packages
  start_munge
  write_conf
  t1=$(date +%s.%N)
  local t1s=${t1%.*}
  log "starting slurmctld"
  slurmctld -f "$conf" 2>>"$dir/log/slurmctld.stderr" || die_start "slurmctld failed to start"
  log "starting slurmd"
  slurmd -f "$conf" 2>>"$dir/log/slurmd.stderr" || die_start "slurmd failed to start"
  local wait_s="${SLURM_CLUSTER_WAIT:-60}" ready=0
  for ((i = 0; i < wait_s * 5; i++)); do
    state="$(node_state)"
    case "$state" in
      idle) if (($(slurmd_registered) >= t1s)); then ready=1; break; fi ;;
      # A node down from an earlier run (e.g. after a kill) comes back on registration; a
      # drained one needs telling.
      drain*|down*)
        if ((i % 25 == 24)); then scontrol update NodeName="$node" State=RESUME 2>/dev/null || true; fi ;;
    esac
    alive slurmctld >/dev/null || die_start "slurmctld exited"
    alive slurmd >/dev/null || die_start "slurmd exited"
    sleep 0.2
  done
  ((ready)) || die_start "node $node not idle and registered after ${wait_s} s (state '${state:-none}')"
  log "node $node idle $(since "$t1") s after starting slurmctld ($(since "$t0") s in all)"
  echo "export SLURM_CONF=$conf"
}

do_status() {
  local name pid rc=0
  for name in munged slurmctld slurmd; do
    if pid="$(alive "$name")"; then echo "$name: running ($pid)"
    elif [[ $name == munged ]] && munge_ok; then echo "munged: running (not started by this script)"
    else echo "$name: not running"; rc=1
    fi
  done
  echo "export SLURM_CONF=$conf"
  if ((rc == 0)); then
    sinfo || rc=1
    squeue || rc=1
  fi
  return $rc
}

# ---- check: submits jobs to the running cluster and checks the states Slurm reports for them.
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# "TASK=STATE" per task of array job $1, sorted, from slurmctld's memory (MinJobAge).
task_states() { squeue -h -t all -r -j "$1" -o '%K=%T' 2>/dev/null | sort -t= -k1,1n | tr '\n' ' ' | sed 's/ $//'; }
# "TASK=STATE:EXIT" per task of array job $1 from the job completion log (tasks that started).
comp_states() {
  grep " ArrayJobId=$1 " "$dir/jobcomp.txt" 2>/dev/null \
    | sed -n 's/.* JobState=\([A-Z_]*\) .* ArrayTaskId=\([0-9]*\) .* ExitCode=\([0-9:]*\).*/\2=\1:\3/p' \
    | sort -t= -k1,1n | tr '\n' ' ' | sed 's/ $//'
}
# Waits (at most $2 s) until job $1 has left squeue's active states; returns 1 on timeout.
wait_done() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -z "$(squeue -h -j "$1" 2>/dev/null)" ]] && return 0
    sleep 0.1
  done
  return 1
}
# Waits (at most $3 s) until task/job $1 is in state $2.
wait_state() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    [[ "$(squeue -h -t all -j "$1" -o %T 2>/dev/null)" == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}
expect() { # what, got, want
  if [[ "$2" == "$3" ]]; then ok "$1: $2"; else bad "$1: got '$2', want '$3'"; fi
}

# shellcheck disable=SC2016 # the single-quoted $SLURM_ARRAY_TASK_ID is for the jobs' shell
do_check() {
  if ! alive slurmctld >/dev/null || ! alive slurmd >/dev/null; then
    die "no cluster running from $dir (run: $0 start $dir)"
  fi
  local work t0 j jt jc jo r n
  work="$(mktemp -d "$dir/check.XXXXXX")"
  cd "$work"
  echo "check: in $work, node $(node_state)"

  # 1. Eight trivial tasks, end to end (submit to last task gone from squeue).
  t0=$(date +%s.%N)
  j=$(sbatch --parsable --array=0-7 --wrap true)
  wait_done "$j" 120 || bad "array of 8 x true not done in 120 s"
  echo "check: 8-task array of true: $(since "$t0") s from sbatch to the last task done"
  expect "8 x true (squeue -t all)" "$(task_states "$j")" \
    "0=COMPLETED 1=COMPLETED 2=COMPLETED 3=COMPLETED 4=COMPLETED 5=COMPLETED 6=COMPLETED 7=COMPLETED"

  # 2. A task over its time limit (it holds one CPU for the next ~60-90 s).
  jt=$(sbatch --parsable --time=1 --job-name=timeout --wrap 'sleep 300')
  if wait_state "$jt" RUNNING 30; then ok "time-limited job $jt RUNNING"; else bad "job $jt not RUNNING"; fi

  # 3. Cancelling: with one CPU left, task 0 runs and task 1 waits.
  jc=$(sbatch --parsable --array=0-1 --job-name=cancel --wrap 'sleep 300')
  if wait_state "${jc}_0" RUNNING 30; then ok "${jc}_0 RUNNING"; else bad "${jc}_0 not RUNNING"; fi
  r="$(squeue -h -j "${jc}_1" -o '%T/%r' 2>&1)" || true
  expect "${jc}_1 waits for the busy CPUs" "$r" "PENDING/Resources"
  scancel "${jc}_0"
  wait_state "${jc}_0" CANCELLED 30 || true
  scancel "$jc"
  wait_done "$jc" 30 || bad "array $jc not gone 30 s after scancel"
  expect "scancel, running task 0 then the array (squeue -t all)" "$(task_states "$jc")" \
    "0=CANCELLED 1=CANCELLED"

  # 4. The sweep pattern: one task per point, each writes its result; with the usual options.
  j=$(sbatch --parsable --array=0-3 --wrap 'echo $SLURM_ARRAY_TASK_ID > out.$SLURM_ARRAY_TASK_ID')
  jo=$(sbatch --parsable --array=0-3 --mem=100M --time=5 --partition=debug --cpus-per-task=1 \
    --wrap 'echo $SLURM_ARRAY_TASK_ID > opt.$SLURM_ARRAY_TASK_ID; test $SLURM_ARRAY_TASK_ID != 2')
  wait_done "$j" 60 || bad "array $j not done in 60 s"
  wait_done "$jo" 60 || bad "array $jo not done in 60 s"
  expect "array $j (squeue -t all)" "$(task_states "$j")" \
    "0=COMPLETED 1=COMPLETED 2=COMPLETED 3=COMPLETED"
  r=""
  for n in 0 1 2 3; do r+="$(cat "out.$n" 2>/dev/null || echo missing) "; done
  expect "array $j outputs out.0..3" "${r% }" "0 1 2 3"
  expect "array $jo with --mem --time --partition --cpus-per-task, task 2 exits 1 (squeue -t all)" \
    "$(task_states "$jo")" "0=COMPLETED 1=COMPLETED 2=FAILED 3=COMPLETED"
  r="$(scontrol show job "${jo}_2" 2>&1 | grep -o 'JobState=[A-Z]* \|ExitCode=[0-9:]*' | tr -d ' ' | tr '\n' ' ')" || true
  expect "scontrol show job ${jo}_2" "${r% }" "JobState=FAILED ExitCode=1:0"

  # 5. The time limit: Slurm checks it every ~30 s, so TIMEOUT comes 60-90 s after the start.
  wait_done "$jt" 150 || bad "job $jt still active 150 s after submission"
  expect "job $jt past --time=1" "$(squeue -h -t all -j "$jt" -o %T)" "TIMEOUT"

  # 6. The completion log (read by sacct -c) keeps every task that started.
  expect "jobcomp.txt, array $jo" "$(comp_states "$jo")" \
    "0=COMPLETED:0:0 1=COMPLETED:0:0 2=FAILED:1:0 3=COMPLETED:0:0"
  expect "jobcomp.txt, array $jc" "$(comp_states "$jc")" "0=CANCELLED:0:0 1=CANCELLED:0:0"
  r="$(grep "^JobId=$jt " "$dir/jobcomp.txt" | grep -o 'JobState=[A-Z]*')" || true
  expect "jobcomp.txt, job $jt" "$r" "JobState=TIMEOUT"
  r="$(sacct -c -n -j "$jt" -o state 2>/dev/null | tr -d ' ')" || true
  expect "sacct -c -j $jt" "$r" "TIMEOUT"

  cd /
  if ((fails)); then echo "check: $fails failed (work folder $work)"; return 1; fi
  rm -rf "$work"
  echo "check: all passed"
}

case "$cmd" in
  start) do_start ;;
  check) do_check ;;
  stop) do_stop ;;
  status) do_status ;;
  env) echo "export SLURM_CONF=$conf" ;;
esac
