"""The Helm chart run as containers on one machine: rendered with the real Helm engine for the
podman profile (charts/forgeline/values-podman.yaml) and played with `podman kube play`."""
