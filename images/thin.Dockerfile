# syntax=docker/dockerfile:1
# The thin image: for the services that load no model (the gateway, echo, the image job
# consumer and saga worker, email delivery, the moderation rules and classifier tiers (it
# scores through Ray Serve), the code review orchestrator, aggregator and publisher), the
# prepare Job and the init containers. They need neither torch, Ray, transformers nor model
# weights: images/thin-packages.txt names what it carries, pinned by requirements.lock. The
# chart picks it per service (`thin: true` in values). Base, user, environment and entry point
# are those of ./Dockerfile, so a Deployment runs either unchanged.
#
#   docker build -f images/thin.Dockerfile -t ghcr.io/forgeline/forgeline-thin:0.1.0 .
#   make images                                                  (builds all three)

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3=3.11.2-1+b1 python3-venv=3.11.2-1+b1 ca-certificates=20230311+deb12u1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock images/thin-packages.txt ./
# --no-deps: exactly the named set at the lock's versions; a package it lacks fails the image
# tests (every thin service is started in it), not silently pulled in here.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && python3 -m venv /opt/venv \
 && grep -v '^#' thin-packages.txt | sed 's/.*/^&==/' > patterns.txt \
 && grep -i -f patterns.txt requirements.lock > requirements-thin.txt \
 && /opt/venv/bin/pip install --no-cache-dir --progress-bar off --no-deps -r requirements-thin.txt
COPY pyproject.toml README.md ./
COPY services ./services
COPY workflows ./workflows
COPY forgeline ./forgeline
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && /opt/venv/bin/pip install --no-cache-dir --no-deps .

FROM debian:bookworm-slim
ARG DEBIAN_FRONTEND=noninteractive
LABEL org.opencontainers.image.title="forgeline-thin" \
      org.opencontainers.image.source="https://github.com/forgeline/forgeline" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3=3.11.2-1+b1 tini=0.19.0-1+b3 ca-certificates=20230311+deb12u1 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 forgeline \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin forgeline
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
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
