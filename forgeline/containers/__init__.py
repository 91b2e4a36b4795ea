"""The Helm chart run as containers on one machine: rendered with the real Helm engine for the
podman profile (charts/forgeline/values-podman.yaml) and played with `podman kube play`."""

BACKING_READY = "backing servers ready"  # what `forgeline backing` prints once every server is healthy
SERVICE_IMAGE = "ghcr.io/forgeline/forgeline:0.1.0"  # what `make images` tags (images/build.sh)
BACKING_IMAGE = "ghcr.io/forgeline/forgeline-backing:0.1.0"
