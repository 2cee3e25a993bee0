#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for development and tests.
#
#   deploy/kafka/broker.sh start|stop|restart|status|reset|logs|env|fetch|topics|groups|run-class
#
# No Docker needed: the broker jars come from Maven Central (driven by deploy/kafka/pom.xml) into a
# cache dir, so only the first start downloads anything. See deploy/kafka/README.md.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Pinned version. Keep in sync with <kafka.version> in pom.xml and the image tag in
# deploy/docker-compose.yml.
KAFKA_VERSION="${HOTLINE_KAFKA_VERSION:-4.3.1}"
KAFKA_HOME_ROOT="${HOTLINE_KAFKA_HOME:-$HOME/.cache/hotline-kafka}"
KAFKA_DIR="$KAFKA_HOME_ROOT/$KAFKA_VERSION"
LIBS_DIR="$KAFKA_DIR/libs"
DATA_DIR="${HOTLINE_KAFKA_DATA:-$KAFKA_DIR/data}"
HOST="${HOTLINE_KAFKA_HOST:-127.0.0.1}"
PORT="${HOTLINE_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${HOTLINE_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
HEAP_OPTS="${HOTLINE_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${HOTLINE_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${HOTLINE_KAFKA_STOP_TIMEOUT:-30}"
PYTHON="${HOTLINE_KAFKA_PYTHON:-python3}"

PID_FILE="$DATA_DIR/kafka.pid"
OUT_FILE="$DATA_DIR/kafka.out"
APP_LOG_DIR="$DATA_DIR/logs"
LOG_DIRS="$DATA_DIR/kraft-combined-logs"
CONFIG_FILE="$DATA_DIR/server.properties"
LOG4J_FILE="$DATA_DIR/log4j2.properties"
TOOLS_LOG4J_FILE="$KAFKA_DIR/log4j2-tools.properties"
MVN_ARGS="${HOTLINE_KAFKA_MVN_ARGS:-}"
BOOTSTRAP="$HOST:$PORT"

log() { printf '[hotline-kafka] %s\n' "$*"; }
err() { printf '[hotline-kafka] ERROR: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

usage() {
  cat <<EOF
Usage: $(basename "$0") <command> [args]

Commands:
  start       fetch jars if needed, format storage if needed, start the broker, wait until ready
  stop        stop the broker (SIGTERM, then SIGKILL after ${STOP_TIMEOUT}s)
  restart     stop then start
  status      print whether the broker is running; exit 0 if running, 1 if not
  reset       stop the broker and delete its data dir ($DATA_DIR)
  logs [N]    print the last N (default 100) lines of the broker log
  env         print 'export HOTLINE_KAFKA_BOOTSTRAP=...' (use with eval)
  fetch       only download the broker jars into the cache
  topics ...  run kafka-topics against the broker, e.g.: topics --list
  groups ...  run kafka-consumer-groups against the broker, e.g.: groups --list
  run-class CLASS [args...]  run any class from the Kafka classpath

Environment (defaults in brackets):
  HOTLINE_KAFKA_VERSION          Kafka version [$KAFKA_VERSION]
  HOTLINE_KAFKA_HOME             cache root for jars and default data [\$HOME/.cache/hotline-kafka]
  HOTLINE_KAFKA_DATA             data dir (config, pid, logs, KRaft storage) [<home>/<version>/data]
  HOTLINE_KAFKA_HOST             listener/advertised host [127.0.0.1]
  HOTLINE_KAFKA_PORT             client (PLAINTEXT) port [9092]
  HOTLINE_KAFKA_CONTROLLER_PORT  KRaft controller port [client port + 1]
  HOTLINE_KAFKA_HEAP_OPTS        JVM heap options [-Xms256m -Xmx512m]
  HOTLINE_KAFKA_START_TIMEOUT    seconds to wait for readiness [90]
  HOTLINE_KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL [30]
  HOTLINE_KAFKA_PYTHON           python used for the readiness probe [python3]
  HOTLINE_KAFKA_MVN_ARGS         extra mvn arguments for the one-time fetch, e.g. -o or -Dmaven.repo.local=DIR
EOF
}

# ---------------------------------------------------------------------------------------------
# helpers

read_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  [[ -n "$pid" ]] || return 1
  printf '%s' "$pid"
}

# Running = pid file points at a live process whose command line is our kafka.Kafka.
running_pid() {
  local pid
  pid="$(read_pid)" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  fi
  printf '%s' "$pid"
}

port_open() {
  # bash /dev/tcp; subshell so the fd is closed right away
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

check_java() {
  command -v java >/dev/null 2>&1 || die "java not found on PATH (Kafka $KAFKA_VERSION broker needs Java 17+)"
  local ver major
  ver="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  major="${ver%%.*}"
  [[ "$major" == "1" ]] && major="$(echo "$ver" | cut -d. -f2)"
  if [[ "$major" =~ ^[0-9]+$ ]] && ((major < 17)); then
    die "Java $ver found; the Kafka $KAFKA_VERSION broker needs Java 17+"
  fi
}

classpath() { printf '%s/*' "$LIBS_DIR"; }

java_tool() {
  # Run a Kafka CLI class with a small heap, logging WARN+ to stderr.
  java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J_FILE" -cp "$(classpath)" "$@"
}

probe() {
  "$PYTHON" "$SCRIPT_DIR/probe.py" --bootstrap "$BOOTSTRAP" --timeout 3 "$@"
}

# ---------------------------------------------------------------------------------------------
# fetch jars

fetch() {
  if [[ -f "$LIBS_DIR/.complete" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH; it is needed once to fetch Kafka $KAFKA_VERSION jars"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR (one-time)"
  mkdir -p "$KAFKA_DIR"
  local tmp
  tmp="$(mktemp -d "$KAFKA_DIR/libs.tmp.XXXXXX")"
  local mvn_log="$KAFKA_DIR/fetch.log"
  # shellcheck disable=SC2086
  if ! mvn -B -Dstyle.color=never $MVN_ARGS -f "$SCRIPT_DIR/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    grep -E 'ERROR|BUILD' "$mvn_log" | tail -n 20 >&2 || tail -n 20 "$mvn_log" >&2
    die "maven could not fetch Kafka $KAFKA_VERSION (is Maven Central reachable? full log: $mvn_log)"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"; }
  date -u +%FT%TZ >"$tmp/.complete"
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1))"
}

write_tools_log4j() {
  [[ -f "$TOOLS_LOG4J_FILE" ]] && return 0
  mkdir -p "$KAFKA_DIR"
  cat >"$TOOLS_LOG4J_FILE" <<'EOF'
# Generated by deploy/kafka/broker.sh: CLI tools log WARN+ to stderr.
status = warn
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# ---------------------------------------------------------------------------------------------
# configuration

write_config() {
  mkdir -p "$DATA_DIR" "$APP_LOG_DIR" "$LOG_DIRS"
  cat >"$CONFIG_FILE" <<EOF
# Generated by deploy/kafka/broker.sh on every start -- edits are overwritten.
# Single combined broker+controller (KRaft), for local development and tests only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=$LOG_DIRS
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
# Left at the Kafka default (true): producing to / fetching metadata for an unknown topic
# creates it with num.partitions. Faust also creates its own internal topics via the admin API.
# Application code should create its topics explicitly (with retention etc.) anyway.
auto.create.topics.enable=true

# Internal topics: single replica, fewer partitions than the defaults (50) so that the first
# consumer group / transactional producer does not wait for 50 partitions to be created.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# Event sourcing: never delete data by time on this dev broker (Kafka default is 7 days).
# Topics should still set retention.ms explicitly when created.
log.retention.ms=-1
log.retention.check.interval.ms=300000
num.network.threads=2
num.io.threads=4
EOF

  cat >"$LOG4J_FILE" <<'EOF'
# Generated by deploy/kafka/broker.sh
status = warn
name = hotline-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.requestlog.name = kafka.request.logger
logger.requestlog.level = WARN
EOF
}

format_storage() {
  if [[ -f "$LOG_DIRS/meta.properties" ]]; then
    log "storage already formatted ($(grep -E '^cluster.id=' "$LOG_DIRS/meta.properties" || true)); reusing $LOG_DIRS"
    return 0
  fi
  local cluster_id
  if [[ -s "$DATA_DIR/cluster.id" ]]; then
    cluster_id="$(cat "$DATA_DIR/cluster.id")"
  else
    # URL-safe base64 (no padding) of 16 random bytes, what `kafka-storage.sh random-uuid` prints.
    cluster_id="$(java_tool kafka.tools.StorageTool random-uuid | tail -n1 | tr -d '[:space:]')"
    [[ "$cluster_id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "could not generate a cluster id (got '$cluster_id')"
    printf '%s\n' "$cluster_id" >"$DATA_DIR/cluster.id"
  fi
  log "formatting KRaft storage in $LOG_DIRS (cluster id $cluster_id)"
  if ! java_tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$CONFIG_FILE" \
      >"$DATA_DIR/format.log" 2>&1; then
    cat "$DATA_DIR/format.log" >&2
    die "formatting storage failed (config $CONFIG_FILE)"
  fi
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    if probe -q 2>/dev/null; then
      log "already running (pid $pid) on $BOOTSTRAP"
      return 0
    fi
    log "process $pid is running but not ready yet; waiting"
    wait_ready "$pid"
    return 0
  fi
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (needed for the readiness probe; set HOTLINE_KAFKA_PYTHON)"
  check_java
  if port_open "$HOST" "$PORT"; then
    die "port $HOST:$PORT is already in use by a process not tracked by $PID_FILE (another Kafka, or one started with a different HOTLINE_KAFKA_DATA?). Stop it or set HOTLINE_KAFKA_PORT."
  fi
  if port_open "$HOST" "$CONTROLLER_PORT"; then
    die "controller port $HOST:$CONTROLLER_PORT is already in use. Set HOTLINE_KAFKA_CONTROLLER_PORT."
  fi

  local t0=$SECONDS
  fetch
  write_tools_log4j
  write_config
  format_storage

  log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (controller $HOST:$CONTROLLER_PORT, data $DATA_DIR)"
  rm -f "$PID_FILE"
  # Remember where this run's log output starts, to show only new lines on failure.
  LOG_START_BYTES="$(stat -c %s "$APP_LOG_DIR/server.log" 2>/dev/null || echo 0)"
  # setsid: own session/process group, so the broker survives the caller's shell/job control.
  # shellcheck disable=SC2086
  setsid nohup java $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_FILE" -Dkafka.logs.dir="$APP_LOG_DIR" \
    -cp "$(classpath)" kafka.Kafka "$CONFIG_FILE" >"$OUT_FILE" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  wait_ready "$pid"
  log "ready in $((SECONDS - t0))s: pid $pid, bootstrap $BOOTSTRAP (export HOTLINE_KAFKA_BOOTSTRAP=$BOOTSTRAP)"
}

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      err "broker process $pid exited during startup"
      show_failure
      rm -f "$PID_FILE"
      exit 1
    fi
    if port_open "$HOST" "$PORT" && probe -q 2>/dev/null; then
      probe || true
      return 0
    fi
    sleep 0.5
  done
  err "broker not ready after ${START_TIMEOUT}s; stopping it"
  probe || true
  show_failure
  cmd_stop || true
  exit 1
}

show_failure() {
  if [[ -s "$OUT_FILE" ]]; then
    err "last lines of $OUT_FILE:"
    tail -n 30 "$OUT_FILE" >&2 || true
  fi
  if [[ -f "$APP_LOG_DIR/server.log" ]]; then
    err "last lines of $APP_LOG_DIR/server.log (this run):"
    tail -c +"$((${LOG_START_BYTES:-0} + 1))" "$APP_LOG_DIR/server.log" | tail -n 40 >&2 || true
  fi
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    log "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  log "stopping pid $pid (SIGTERM, up to ${STOP_TIMEOUT}s)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    err "pid $pid still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if probe 2>/dev/null; then
      log "running: pid $pid, $BOOTSTRAP, Kafka $KAFKA_VERSION, data $DATA_DIR"
    else
      log "running: pid $pid, but not answering on $BOOTSTRAP yet (starting or stuck; see 'logs')"
    fi
    return 0
  fi
  log "not running (data dir $DATA_DIR)"
  return 1
}

cmd_reset() {
  cmd_stop
  case "$DATA_DIR" in
    "" | "/" | "$HOME" | "$KAFKA_HOME_ROOT" | "$KAFKA_DIR") die "refusing to delete '$DATA_DIR'" ;;
  esac
  if [[ -d "$DATA_DIR" ]]; then
    rm -rf "$DATA_DIR"
    log "deleted $DATA_DIR"
  else
    log "nothing to delete ($DATA_DIR does not exist)"
  fi
}

cmd_logs() {
  local n="${1:-100}"
  local f="$APP_LOG_DIR/server.log"
  [[ -f "$f" ]] || f="$OUT_FILE"
  [[ -f "$f" ]] || die "no log yet ($APP_LOG_DIR/server.log)"
  tail -n "$n" "$f"
}

need_libs() {
  [[ -f "$LIBS_DIR/.complete" ]] || fetch
  write_tools_log4j
}

# Serialize start/stop/reset on the same data dir (e.g. several test processes calling start).
take_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$KAFKA_HOME_ROOT"
  local lock_file
  lock_file="$KAFKA_HOME_ROOT/.lock-$(printf '%s' "$DATA_DIR" | cksum | cut -d' ' -f1)"
  exec 9>"$lock_file"
  flock -w $((START_TIMEOUT + STOP_TIMEOUT + 120)) 9 || die "could not take lock $lock_file"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    start) take_lock; cmd_start ;;
    stop) take_lock; cmd_stop ;;
    restart) take_lock; cmd_stop; cmd_start ;;
    status) cmd_status ;;
    reset) take_lock; cmd_reset ;;
    logs) cmd_logs "$@" ;;
    env) printf 'export HOTLINE_KAFKA_BOOTSTRAP=%s\n' "$BOOTSTRAP" ;;
    fetch) check_java; fetch; log "jars in $LIBS_DIR" ;;
    topics) need_libs; java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" "$@" ;;
    groups) need_libs; java_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$BOOTSTRAP" "$@" ;;
    run-class) need_libs; [[ $# -ge 1 ]] || die "run-class needs a class name"; java_tool "$@" ;;
    -h | --help | help) usage ;;
    "") usage; exit 2 ;;
    *) err "unknown command '$cmd'"; usage >&2; exit 2 ;;
  esac
}

main "$@"
