#!/usr/bin/env bash
# `make e2e-k8s`: an end-to-end check of an installed release (kind or EKS), through the
# gateway only: rollouts done, health and readiness, a tenant, and an echo round trip
# gateway -> Kafka -> echo service -> Postgres -> gateway. Needs kubectl and curl.
# Not exercised on machines without Docker; see the README's Kubernetes section.
set -euo pipefail
NAMESPACE=${NAMESPACE:-forgeline}
RELEASE=${RELEASE:-forgeline}
PORT=${PORT:-18080}
step() { printf '==> %s\n' "$*"; }

step "waiting for every Deployment of $RELEASE"
kubectl -n "$NAMESPACE" rollout status deploy -l "app.kubernetes.io/instance=$RELEASE" --timeout=10m

step "port-forwarding the gateway to 127.0.0.1:$PORT"
kubectl -n "$NAMESPACE" port-forward "svc/$RELEASE-gateway" "$PORT:80" >/dev/null &
forward=$!
trap 'kill $forward 2>/dev/null || true' EXIT
for _ in $(seq 30); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 1; done
curl -fsS "http://127.0.0.1:$PORT/readyz"; echo

step "creating a tenant (inside the gateway pod, which reaches Postgres)"
key=$(kubectl -n "$NAMESPACE" exec "deploy/$RELEASE-gateway" -- \
  python -m forgeline tenants create --name "e2e-$(date +%s)" --credits 100 2>/dev/null | tail -1)

step "echo round trip through Kafka"
echo_id=$(curl -fsS -X POST "http://127.0.0.1:$PORT/v1/echo" -H "Authorization: Bearer $key" \
  -H 'content-type: application/json' -d '{"message": "hello from e2e-k8s"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["echo_id"])')
for _ in $(seq 60); do
  if curl -fsS "http://127.0.0.1:$PORT/v1/echo/$echo_id" -H "Authorization: Bearer $key"; then echo; step "e2e-k8s passed"; exit 0; fi
  sleep 2
done
echo "echo $echo_id was not processed within 120s: kubectl -n $NAMESPACE logs deploy/$RELEASE-echo" >&2
exit 1
