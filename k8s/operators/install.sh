#!/usr/bin/env bash
# Install the operators Forgeline's chart relies on, at pinned versions (versions.env):
# Strimzi (Kafka), KEDA (lag-based scaling), KubeRay (RayService), Chaos Mesh (drills),
# kube-prometheus-stack (ServiceMonitors) and ingress-nginx (kind only).
#
#   k8s/operators/install.sh [kind|eks]      needs kubectl and helm on PATH, a current context
#
# Each step is idempotent (`helm upgrade --install`), so re-running is harmless.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=k8s/operators/versions.env
source "$here/versions.env"
profile="${1:-kind}"

step() { printf '==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null || { echo "$1 is not installed: see https://kubernetes.io/docs/tasks/tools/ and https://helm.sh/docs/intro/install/" >&2; exit 1; }; }
need kubectl
need helm

step "Strimzi $STRIMZI_VERSION (watches all namespaces)"
helm upgrade --install strimzi oci://quay.io/strimzi-helm/strimzi-kafka-operator --version "$STRIMZI_VERSION" \
  --namespace strimzi --create-namespace --set watchAnyNamespace=true --wait

step "KEDA $KEDA_VERSION"
helm upgrade --install keda keda --repo https://kedacore.github.io/charts --version "$KEDA_VERSION" \
  --namespace keda --create-namespace --wait

step "KubeRay operator $KUBERAY_VERSION"
helm upgrade --install kuberay-operator kuberay-operator --repo https://ray-project.github.io/kuberay-helm/ \
  --version "$KUBERAY_VERSION" --namespace kuberay --create-namespace --wait

step "Chaos Mesh $CHAOS_MESH_VERSION"
runtime_args=()
if [ "$profile" = kind ]; then
  runtime_args=(--set chaosDaemon.runtime=containerd --set chaosDaemon.socketPath=/run/containerd/containerd.sock)
fi
helm upgrade --install chaos-mesh chaos-mesh --repo https://charts.chaos-mesh.org --version "$CHAOS_MESH_VERSION" \
  --namespace chaos-mesh --create-namespace "${runtime_args[@]}" --wait

step "kube-prometheus-stack $KUBE_PROMETHEUS_STACK_VERSION"
helm upgrade --install kube-prometheus-stack kube-prometheus-stack \
  --repo https://prometheus-community.github.io/helm-charts --version "$KUBE_PROMETHEUS_STACK_VERSION" \
  --namespace monitoring --create-namespace --set grafana.enabled=false --wait

if [ "$profile" = kind ]; then
  step "ingress-nginx $INGRESS_NGINX_VERSION (on the ingress-ready node)"
  helm upgrade --install ingress-nginx ingress-nginx --repo https://kubernetes.github.io/ingress-nginx \
    --version "$INGRESS_NGINX_VERSION" --namespace ingress-nginx --create-namespace \
    --set controller.hostPort.enabled=true --set controller.service.type=NodePort \
    --set-string controller.nodeSelector.ingress-ready=true \
    --set 'controller.tolerations[0].key=node-role.kubernetes.io/control-plane' \
    --set 'controller.tolerations[0].operator=Exists' --set 'controller.tolerations[0].effect=NoSchedule' --wait
fi
step "operators ready"
