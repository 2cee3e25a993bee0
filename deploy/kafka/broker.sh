#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for development and tests.
#
#   deploy/kafka/broker.sh [--sasl] start|stop|restart|status|reset|logs|env|fetch|topics|groups|run-class
#   deploy/kafka/broker.sh --sasl acls [NAMESPACE]
#
# The plain broker listens on the port of the first address in $HOTLINE_KAFKA_BOOTSTRAP (9092 when
# unset; $HOTLINE_KAFKA_PORT overrides it); on a port other than 9092 its data dir is data-PORT.
#
# --sasl (or HOTLINE_KAFKA_SASL=1): a second, separate broker (port 9094, its own data dir) with a
# SASL_PLAINTEXT listener, SCRAM users and ACLs (StandardAuthorizer); see "SASL mode" in README.md.
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
SASL="${HOTLINE_KAFKA_SASL:-0}"
if [[ "${1:-}" == "--sasl" ]]; then
  SASL=1
  shift
fi
DEFAULT_PORT=9092
# A mistake in the environment, reported (exit 2) by every command that needs the broker's address.
CONFIG_ERROR=""
if [[ "$SASL" == 1 ]]; then
  # Its own variables, so that a shell set up for the plain broker cannot point both at one place.
  DATA_DIR="${HOTLINE_KAFKA_SASL_DATA:-$KAFKA_DIR/data-sasl}"
  PORT="${HOTLINE_KAFKA_SASL_PORT:-9094}"
else
  # The plain broker listens where the clients look: the port of the first address in
  # HOTLINE_KAFKA_BOOTSTRAP, unless HOTLINE_KAFKA_PORT names another; 9092 when neither is set.
  PORT="${HOTLINE_KAFKA_PORT:-}"
  if [[ -z "$PORT" ]]; then
    PORT="$DEFAULT_PORT"
    FIRST_ADDRESS="${HOTLINE_KAFKA_BOOTSTRAP:-}"
    FIRST_ADDRESS="${FIRST_ADDRESS%%,*}"
    FIRST_ADDRESS="${FIRST_ADDRESS//[[:space:]]/}"
    if [[ -n "$FIRST_ADDRESS" ]]; then
      PORT="${FIRST_ADDRESS##*:}"
      PROTOCOL="${HOTLINE_KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}"
      if [[ "$FIRST_ADDRESS" != *:* || ! "$PORT" =~ ^[0-9]{1,5}$ ]] || ((10#$PORT < 1 || 10#$PORT > 65535)); then
        CONFIG_ERROR="HOTLINE_KAFKA_BOOTSTRAP=$HOTLINE_KAFKA_BOOTSTRAP: expected host:port with a port from 1 to 65535 (e.g. 127.0.0.1:9092)"
        PORT="$DEFAULT_PORT"
      elif [[ "${PROTOCOL^^}" != PLAINTEXT ]]; then
        CONFIG_ERROR="HOTLINE_KAFKA_BOOTSTRAP=$HOTLINE_KAFKA_BOOTSTRAP is a $PROTOCOL broker (HOTLINE_KAFKA_SECURITY_PROTOCOL): add --sasl for the SASL broker, or unset both for the plain one"
      fi
      PORT="$((10#$PORT))"
    fi
  fi
  # A broker on another port has a data dir of its own: its pid file, config and KRaft storage.
  if [[ "$PORT" == "$DEFAULT_PORT" ]]; then
    DATA_DIR="${HOTLINE_KAFKA_DATA:-$KAFKA_DIR/data}"
  else
    DATA_DIR="${HOTLINE_KAFKA_DATA:-$KAFKA_DIR/data-$PORT}"
  fi
fi
HOST="${HOTLINE_KAFKA_HOST:-127.0.0.1}"
if [[ "$SASL" == 1 ]]; then
  CONTROLLER_PORT="${HOTLINE_KAFKA_SASL_CONTROLLER_PORT:-$((PORT + 1))}"
else
  CONTROLLER_PORT="${HOTLINE_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
fi
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
# SASL mode: one password file per principal, made at the first start (never in the repo).
USERS_DIR="$DATA_DIR/users"
SASL_USERS=(admin crm callcentre worker api)
NAMESPACE="${HOTLINE_NAMESPACE:-hotline}"
ADMIN_CONFIG="$DATA_DIR/admin-client.properties"
# What makes an admin tool (topics, groups) authenticate as the super user; nothing on the plain broker.
ADMIN_ARGS=()
[[ "$SASL" == 1 ]] && ADMIN_ARGS=(--command-config "$ADMIN_CONFIG")

log() { printf '[hotline-kafka] %s\n' "$*"; }
err() { printf '[hotline-kafka] ERROR: %s\n' "$*" >&2; }
die() { err "$*"; exit 1; }

usage() {
  cat <<EOF
Usage: $(basename "$0") [--sasl] <command> [args]

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
  acls [NAMESPACE]  (--sasl only) add the principals' ACLs for a topic namespace [\$HOTLINE_NAMESPACE or hotline]
  env [USER]  with --sasl: also the SASL settings of USER [admin] (${SASL_USERS[*]})

--sasl (or HOTLINE_KAFKA_SASL=1): a separate broker with a SASL_PLAINTEXT listener, SCRAM-SHA-512/256
users ${SASL_USERS[*]} (passwords generated at the first start into <data>/users/), the
StandardAuthorizer with super user admin, and ACLs for the namespace (see README.md "SASL mode").

Environment (defaults in brackets):
  HOTLINE_KAFKA_VERSION          Kafka version [$KAFKA_VERSION]
  HOTLINE_KAFKA_HOME             cache root for jars and default data [\$HOME/.cache/hotline-kafka]
  HOTLINE_KAFKA_BOOTSTRAP        where the clients look (host:port[,...]); the plain broker listens on
                                 the port of its first address [127.0.0.1:9092]
  HOTLINE_KAFKA_DATA             data dir (config, pid, logs, KRaft storage)
                                 [<home>/<version>/data on port 9092, <home>/<version>/data-PORT on another]
  HOTLINE_KAFKA_HOST             listener/advertised host [127.0.0.1]
  HOTLINE_KAFKA_PORT             client (PLAINTEXT) port, over HOTLINE_KAFKA_BOOTSTRAP's [9092]
  HOTLINE_KAFKA_CONTROLLER_PORT  KRaft controller port [client port + 1]
  HOTLINE_KAFKA_HEAP_OPTS        JVM heap options [-Xms256m -Xmx512m]
  HOTLINE_KAFKA_START_TIMEOUT    seconds to wait for readiness [90]
  HOTLINE_KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL [30]
  HOTLINE_KAFKA_PYTHON           python used for the readiness probe [python3]
  HOTLINE_KAFKA_MVN_ARGS         extra mvn arguments for the one-time fetch, e.g. -o or -Dmaven.repo.local=DIR
  HOTLINE_KAFKA_SASL_PORT        --sasl: client (SASL_PLAINTEXT) port [9094]
  HOTLINE_KAFKA_SASL_CONTROLLER_PORT  --sasl: controller port [SASL port + 1]
  HOTLINE_KAFKA_SASL_DATA        --sasl: data dir [<home>/<version>/data-sasl]
  HOTLINE_NAMESPACE              --sasl: the topic namespace the ACLs of the first start name [hotline]
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
  local auth=()
  [[ "$SASL" == 1 ]] && auth=(--sasl-user admin --sasl-password-file "$USERS_DIR/admin.password")
  "$PYTHON" "$SCRIPT_DIR/probe.py" --bootstrap "$BOOTSTRAP" --timeout 3 "${auth[@]}" "$@"
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

listener_config() {
  if [[ "$SASL" != 1 ]]; then
    cat <<EOF
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
    return 0
  fi
  local admin_password
  admin_password="$(password_of admin)"
  cat <<EOF
# SASL mode: clients and the broker itself authenticate with SCRAM (credentials in the metadata
# log, bootstrapped by 'StorageTool format --add-scram'). The controller listener uses PLAIN with a
# static admin entry: the controller quorum cannot read SCRAM credentials from the log it serves.
listeners=SASL_PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_password";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_password" user_admin="$admin_password";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
EOF
}

write_config() {
  mkdir -p "$DATA_DIR" "$APP_LOG_DIR" "$LOG_DIRS"
  if [[ "$SASL" == 1 ]]; then make_users; fi
  local listeners
  listeners="$(listener_config)"
  # SASL mode: the file holds the admin password
  (umask 077 && cat >"$CONFIG_FILE") <<EOF
# Generated by deploy/kafka/broker.sh on every start -- edits are overwritten.
# Single combined broker+controller (KRaft), for local development and tests only.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=$HOST:$CONTROLLER_PORT
$listeners

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
  chmod 600 "$CONFIG_FILE"
}

# ---------------------------------------------------------------------------------------------
# SASL mode: principals, their passwords and ACLs

password_of() {
  local file="$USERS_DIR/$1.password"
  [[ -s "$file" ]] || die "no password for '$1' in $file (the data dir was made without it: 'broker.sh --sasl reset' starts over)"
  cat "$file"
}

# One random password per principal, made once; the storage is formatted with them (--add-scram),
# so they must outlive every restart and go only with 'reset'.
make_users() {
  mkdir -p "$USERS_DIR"
  chmod 700 "$USERS_DIR"
  local user file
  for user in "${SASL_USERS[@]}"; do
    file="$USERS_DIR/$user.password"
    [[ -s "$file" ]] && continue
    if [[ -f "$LOG_DIRS/meta.properties" ]]; then
      die "storage in $LOG_DIRS is formatted but $file is missing; 'broker.sh --sasl reset' starts over"
    fi
    (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))' >"$file")
  done
  (umask 077 && cat >"$ADMIN_CONFIG") <<EOF
# Generated by deploy/kafka/broker.sh: the admin tools (topics, groups, acls) as the super user.
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(password_of admin)";
EOF
}

scram_args() {
  local user mechanism password
  for user in "${SASL_USERS[@]}"; do
    password="$(password_of "$user")"
    for mechanism in SCRAM-SHA-512 SCRAM-SHA-256; do
      printf '%s\n' --add-scram "$mechanism=[name=$user,password=$password]"
    done
  done
}

# One AclCommand (a JVM) per call, run in the background: the calls are independent, and one after
# another they cost a JVM start each. Collected by acls_done.
ACL_JOBS=()
acl() {
  java_tool org.apache.kafka.tools.AclCommand --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
    --add "$@" >/dev/null &
  ACL_JOBS+=("$!")
}

acls_done() {
  local job failed=0
  for job in "${ACL_JOBS[@]}"; do wait "$job" || failed=1; done
  ACL_JOBS=()
  ((failed == 0)) || die "adding ACLs failed (see the AclCommand errors above)"
}

# ACLs live in the metadata log: made once per namespace, then kept across restarts.
ensure_acls() {
  if [[ "$SASL" == 1 && ! -f "$DATA_DIR/acls.$NAMESPACE.done" ]]; then cmd_acls "$NAMESPACE"; fi
}

# What each principal may do on the topics of one namespace (schemas/topics.py). admin is the super
# user: it creates the namespace's topics and changes ACLs. Producers and the API read the facts (the publisher
# indexes what is on the topic; the API folds it) but write only their own topics.
cmd_acls() {
  [[ "$SASL" == 1 ]] || die "acls needs --sasl (the plain broker has no authorizer)"
  local ns="${1:-$NAMESPACE}" derived=() kind
  [[ "$ns" =~ ^[A-Za-z0-9._-]+$ ]] || die "namespace '$ns' is not a topic name prefix"
  for kind in suspicions violations penalties company-penalties blacklist-changes certificate-revocations \
    projection.blacklist projection.company-counters projection.certificate-tallies; do
    derived+=(--topic "$ns.$kind")
  done
  log "ACLs for namespace '$ns'"
  local producers=(--allow-principal User:crm --allow-principal User:callcentre)
  acl "${producers[@]}" --operation Write --topic "$ns.facts" --topic "$ns.rejects"
  acl "${producers[@]}" --allow-principal User:worker --allow-principal User:api --operation Read --topic "$ns.facts"
  # Describe on every topic of the namespace: ensure_topics lists them and finds nothing to create.
  acl "${producers[@]}" --allow-principal User:worker --allow-principal User:api --operation Describe \
    --resource-pattern-type prefixed --topic "$ns."
  acl --allow-principal User:worker --operation Write "${derived[@]}"
  # Each worker's own group, table changelogs (it creates them), faust's internal topics and
  # transactional ids. The namespace's topics themselves are created by admin (hotline topics).
  acl --allow-principal User:worker --operation All --resource-pattern-type prefixed \
    --topic "$ns-worker-" --group "$ns-worker-" --transactional-id "$ns-worker-"
  acl --allow-principal User:api --operation Write --topic "$ns.admission-decisions" --topic "$ns.facts"
  acls_done
  date -u +%FT%TZ >"$DATA_DIR/acls.$ns.done"
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
  local scram=()
  [[ "$SASL" == 1 ]] && mapfile -t scram < <(scram_args)
  if ! java_tool kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$CONFIG_FILE" "${scram[@]}" \
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
    else
      log "process $pid is running but not ready yet; waiting"
      wait_ready "$pid"
    fi
    ensure_acls
    return 0
  fi
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (needed for the readiness probe; set HOTLINE_KAFKA_PYTHON)"
  check_java
  if port_open "$HOST" "$PORT"; then
    die "port $HOST:$PORT is already in use by a process not tracked by $PID_FILE (another Kafka, or one started with a different HOTLINE_KAFKA_DATA?). Stop it or choose another port (HOTLINE_KAFKA_BOOTSTRAP or HOTLINE_KAFKA_PORT)."
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
  ensure_acls
  log "ready in $((SECONDS - t0))s: pid $pid, bootstrap $BOOTSTRAP (eval \"\$($0 $([[ "$SASL" == 1 ]] && echo '--sasl ')env)\")"
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

# The settings a client needs (consumers/kafka_security.py reads them); with --sasl, as USER.
cmd_env() {
  printf 'export HOTLINE_KAFKA_BOOTSTRAP=%s\n' "$BOOTSTRAP"
  [[ "$SASL" == 1 ]] || return 0
  local user="${1:-admin}"
  [[ -s "$USERS_DIR/$user.password" ]] || die "no principal '$user' (one of: ${SASL_USERS[*]}; start the broker first)"
  printf 'export HOTLINE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n'
  printf 'export HOTLINE_KAFKA_SASL_MECHANISM=SCRAM-SHA-512\n'
  printf 'export HOTLINE_KAFKA_USERNAME=%s\n' "$user"
  printf 'export HOTLINE_KAFKA_PASSWORD_FILE=%s\n' "$USERS_DIR/$user.password"
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
    "" | -h | --help | help | fetch) ;;
    *) if [[ -n "$CONFIG_ERROR" ]]; then err "$CONFIG_ERROR"; exit 2; fi ;;
  esac
  case "$cmd" in
    start) take_lock; cmd_start ;;
    stop) take_lock; cmd_stop ;;
    restart) take_lock; cmd_stop; cmd_start ;;
    status) cmd_status ;;
    reset) take_lock; cmd_reset ;;
    logs) cmd_logs "$@" ;;
    env) cmd_env "$@" ;;
    acls) need_libs; cmd_acls "$@" ;;
    fetch) check_java; fetch; log "jars in $LIBS_DIR" ;;
    topics) need_libs; java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" "${ADMIN_ARGS[@]}" "$@" ;;
    groups) need_libs; java_tool org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$BOOTSTRAP" "${ADMIN_ARGS[@]}" "$@" ;;
    run-class) need_libs; [[ $# -ge 1 ]] || die "run-class needs a class name"; java_tool "$@" ;;
    -h | --help | help) usage ;;
    "") usage; exit 2 ;;
    *) err "unknown command '$cmd'"; usage >&2; exit 2 ;;
  esac
}

main "$@"
