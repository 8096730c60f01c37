# The rotator's image. Build: `docker build -t langsmith-key-rotator .` (or `buildah bud`); `make image-test`
# builds it with buildah on a debootstrapped base and runs check and once inside it (image/test.py).
# BASE: any Debian-like image with python3 (>= 3.11) and its venv module, the same in both stages.
ARG BASE=python:3.11-slim-bookworm

# Build stage: a wheel of every runtime dependency and of the build backend, each the version image/constraints.txt
# pins (the dev venv's, where the tests ran) and checked against its sha256 (--require-hashes; wheels only, nothing
# is built from source), then the rotator's wheel, built offline by that backend. Nothing but /wheels is used.
FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md image/constraints.txt ./
COPY rotator ./rotator
# The optional secret pip-ca is a CA bundle for pip, for a build behind a TLS-inspecting proxy
# (`--secret id=pip-ca,src=/etc/ssl/certs/ca-certificates.crt`); it is mounted for this step only.
RUN --mount=type=secret,id=pip-ca,required=false \
    if [ -f /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi \
 && python3 -m venv /opt/build \
 && /opt/build/bin/pip download --no-cache-dir --require-hashes --only-binary=:all: --requirement constraints.txt \
      --dest /wheels \
 && /opt/build/bin/pip wheel --no-cache-dir --no-index --find-links /wheels --no-deps --wheel-dir /wheels .

# Runtime: the base's Python, a venv holding the rotator and its locked dependencies (from those wheels alone,
# --no-index), no pip, no setuptools, no compiler. The wheels are bind-mounted from the build stage, so they leave
# no layer behind. Bytecode is compiled at install; at run time nothing is written outside /tmp, so a read-only
# root filesystem works.
FROM ${BASE}
ARG BASE
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="langsmith-key-rotator" \
      org.opencontainers.image.description="Watches LangSmith API keys for expiry, alerts before they lapse, and rotates service keys into HashiCorp Vault." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${BASE}"
ENV PATH=/opt/rotator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/rotator \
 && /opt/rotator/bin/pip install --no-cache-dir --no-index --find-links /wheels langsmith-key-rotator==${VERSION} \
 && /opt/rotator/bin/pip uninstall --yes --quiet pip setuptools
# Unprivileged (the distroless "nonroot" id), no shell needed at run time; logs are JSON on stderr when not on a
# terminal. 9464: `rotator run`'s /metrics, /healthz and /readyz (daemon.listen's default).
USER 65532:65532
WORKDIR /tmp
EXPOSE 9464
ENTRYPOINT ["rotator"]
CMD ["check"]
