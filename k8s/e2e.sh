#!/usr/bin/env bash
# `make e2e-k8s`: an end-to-end check of an installed release (kind or EKS), through the
# gateway only: rollouts done, health and readiness, a tenant, then one round trip per
# pipeline: echo (gateway -> Kafka -> echo -> Postgres), an image job (Kafka -> saga on
# Temporal -> Ray Serve -> S3) and a moderated item (rules -> classifier on Ray Serve).
# Needs kubectl, curl and python3.
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
  python -m forgeline tenants create --name "e2e-$(date +%s)" --credits 100 | tail -1)

api() { curl -fsS "http://127.0.0.1:$PORT$1" -H "Authorization: Bearer $key" -H 'content-type: application/json' "${@:2}"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# Poll GET $1 until the JSON field $2 is one of the words in $3; fail naming the Deployment to read.
wait_for() {
  local value=""
  for _ in $(seq 90); do
    value=$(api "$1" | field "$2") || true
    case " $3 " in *" $value "*) echo "    $1: $value"; return 0 ;; esac
    sleep 2
  done
  echo "$1 is still '$value' after 180s: kubectl -n $NAMESPACE logs deploy/$RELEASE-$4" >&2
  exit 1
}

step "echo round trip through Kafka"
echo_id=$(api /v1/echo -X POST -d '{"message": "hello from e2e-k8s"}' | field '["echo_id"]')
wait_for "/v1/echo/$echo_id" '["status"]' "done" echo

step "an image job: saga on Temporal, model on Ray Serve, picture in S3"
job_id=$(api /v1/images -X POST -d '{"prompt": "a lighthouse at dusk", "width": 64, "height": 64, "steps": 2, "seed": 1}' | field '["job_id"]')
wait_for "/v1/images/$job_id" '["status"]' "succeeded" imagegen-worker

# The classifier is trained from labelled data the images do not carry (ray.models.claimName).
moderation=$(kubectl -n "$NAMESPACE" get rayservice "$RELEASE-serve" \
  -o jsonpath='{.status.activeServiceStatus.applicationStatuses.moderation.status}' 2>/dev/null || true)
if [ "$moderation" = RUNNING ]; then
  step "a moderated item: rules, then the classifier on Ray Serve"
  content_id=$(api /v1/content -X POST -d '{"text": "Lovely weather for a walk today", "author_id": "e2e", "country": "US"}' | field '["content_id"]')
  wait_for "/v1/content/$content_id" '["status"]' "decided in_review" moderation-classifier
else
  step "moderation skipped: its Serve application is '${moderation:-absent}' (it needs the trained classifier on ray.models.claimName)"
fi

step "e2e-k8s passed"
