#!/usr/bin/env bash
# Cluster benchmark: starts three clustered NATS JetStream servers and Sightline nodes on
# loopback ports, runs `sightline bench` against them and prints the figures:
#   1. columnar ingest throughput and server CPU per point, one node and three nodes;
#   2. write-to-append latency with the writer on one node and the subscribers on another;
#   3. catch-up rate of a new node joining after the ingest (points/s until /health is ok).
# Every process it starts is killed when it exits, also on failure or Ctrl-C.
#
# Usage: tools/bench_cluster.sh [SECONDS]   (default 10 s per phase)
# Env:   SIGHTLINE=path/to/sightline (default target/release/sightline; build it first with
#        `cargo build --release -p sightline`), SUBSCRIPTIONS (default 20), MIN_DELAY_MS (100).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${1:-10}
BIN=${SIGHTLINE:-${CARGO_TARGET_DIR:-target}/release/sightline}
SUBSCRIPTIONS=${SUBSCRIPTIONS:-20}
MIN_DELAY_MS=${MIN_DELAY_MS:-100}
[ -x "$BIN" ] || { echo "no $BIN: run cargo build --release -p sightline (or set SIGHTLINE)" >&2; exit 1; }
NATS_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
[ -x "$NATS_BIN" ] || { echo "nats-server is missing: apt-get install nats-server" >&2; exit 1; }

WORK=$(mktemp -d -t sightline-bench-cluster.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- three clustered NATS servers -------------------------------------------------------
NATS_PORTS=() ROUTE_PORTS=() MONITOR_PORTS=() NATS_PIDS=()
for i in 0 1 2; do
  NATS_PORTS+=("$(free_port)"); ROUTE_PORTS+=("$(free_port)"); MONITOR_PORTS+=("$(free_port)")
done
ROUTES=$(printf 'nats://127.0.0.1:%s,' "${ROUTE_PORTS[@]}"); ROUTES=${ROUTES%,}
for i in 0 1 2; do
  "$NATS_BIN" -a 127.0.0.1 -p "${NATS_PORTS[$i]}" -m "${MONITOR_PORTS[$i]}" -js \
    -sd "$WORK/nats$i" --server_name "n$i" --cluster_name sightline-bench \
    --cluster "nats://127.0.0.1:${ROUTE_PORTS[$i]}" --routes "$ROUTES" >"$WORK/nats$i.log" 2>&1 &
  PIDS+=($!); NATS_PIDS+=($!)
done
NATS=$(printf 'nats://127.0.0.1:%s,' "${NATS_PORTS[@]}"); NATS=${NATS%,}
NATS_PID_LIST=$(IFS=,; echo "${NATS_PIDS[*]}")
for port in "${MONITOR_PORTS[@]}"; do
  for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$port/jsz" | grep -q '"leader": *"[^"]' && break
    sleep 0.1
  done
done

# --- Sightline nodes ----------------------------------------------------------------------
# start_node ID: starts a node on a fresh data directory; sets NODE_URL and NODE_PID.
start_node() {
  local id=$1 out="$WORK/$1.out"
  "$BIN" serve --listen 127.0.0.1:0 --data-dir "$WORK/$id" --fsync always \
    --cluster "$NATS" --node-id "$id" --cluster-replicas 3 >"$out" 2>"$WORK/$id.log" &
  NODE_PID=$!; PIDS+=("$NODE_PID")
  NODE_URL=""
  for _ in $(seq 600); do
    NODE_URL=$(sed -n 's/^Sightline listening on //p' "$out" | head -1)
    [ -n "$NODE_URL" ] && break
    kill -0 "$NODE_PID" 2>/dev/null || { cat "$WORK/$id.log" >&2; exit 1; }
    sleep 0.05
  done
  [ -n "$NODE_URL" ] || { echo "node $id did not start" >&2; exit 1; }
}

# wait_ready URL: until /health says ok.
wait_ready() {
  until curl -sf "$1/health" >/dev/null; do sleep 0.02; done
}

ingested() { sed -n 's/^ingest: \([0-9]*\) points.*/\1/p' "$1"; }

echo "== machine: $(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d) =="
echo "== NATS: 3 servers, stream with 3 copies; nodes fsync always; $SECS s per phase =="

start_node node1; URL1=$NODE_URL; PID1=$NODE_PID
wait_ready "$URL1"
echo
echo "== 1 node: ingest (2 writers) =="
"$BIN" bench --url "$URL1" --server-pid "$PID1" --service-pid "$NATS_PID_LIST" \
  --ingest-secs "$SECS" --subscriptions 0 | tee "$WORK/one.txt"

start_node node2; URL2=$NODE_URL; PID2=$NODE_PID
start_node node3; URL3=$NODE_URL; PID3=$NODE_PID
wait_ready "$URL2"; wait_ready "$URL3"
echo
echo "== 3 nodes: ingest (3 writers, one per node), then freshness: writes to node1, $SUBSCRIPTIONS subscribers on node2 (minDelay $MIN_DELAY_MS ms) =="
"$BIN" bench --url "$URL1,$URL2,$URL3" --server-pid "$PID1,$PID2,$PID3" \
  --service-pid "$NATS_PID_LIST" --writers 3 --ingest-secs "$SECS" \
  --subscriptions "$SUBSCRIPTIONS" --freshness-secs "$SECS" --min-delay-ms "$MIN_DELAY_MS" \
  --subscribe-url "$URL2" | tee "$WORK/three.txt"

TOTAL=$(( $(ingested "$WORK/one.txt") + $(ingested "$WORK/three.txt") ))
echo
echo "== catch-up: a new node joins a log of $TOTAL points =="
STARTED=$(date +%s.%N)
start_node node4
wait_ready "$NODE_URL"
TAKEN=$(echo "$(date +%s.%N) - $STARTED" | bc)
printf 'catch-up: %s points in %.2f s = %.2f M points/s (from process start to /health ok)\n' \
  "$TOTAL" "$TAKEN" "$(echo "$TOTAL / $TAKEN / 1000000" | bc -l)"
