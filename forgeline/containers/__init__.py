"""The Helm chart run as containers on one machine: rendered with the real Helm engine for the
podman profile (charts/forgeline/values-podman.yaml) and played with `podman kube play`."""

BACKING_READY = "backing servers ready"  # what `forgeline backing` prints once every server is healthy
SERVICE_IMAGE = "ghcr.io/forgeline/forgeline:0.1.0"  # what `make images` tags (images/build.sh)
THIN_IMAGE = "ghcr.io/forgeline/forgeline-thin:0.1.0"  # for the services that load no model
BACKING_IMAGE = "ghcr.io/forgeline/forgeline-backing:0.1.0"
