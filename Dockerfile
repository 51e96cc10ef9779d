# One image for every process type: `IMAGE web|worker|scheduler|release` runs that line of the Procfile
# (deploy/container/entrypoint.sh). Build it with `make image` (README, Deploy: the container path).
#
# The base is Debian bookworm made from Debian's packages by deploy/container/base-image.sh (no
# registry needed); its python3 is 3.11, the interpreter of .python-version. Any bookworm image with
# apt works as well: --build-arg BASE=debian:bookworm-slim.
ARG BASE=localhost/sellersync-base:bookworm

# -- build: the lock, with hashes, into a virtualenv ------------------------------------------------
FROM ${BASE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt deploy/container/requirements-python3.11.2.txt /tmp/
# Hash-checking mode, wheels only: a file whose hash is not in the lock, or a package that would need
# compiling, fails the build; then `pip check` fails it if any package lacks a dependency. The second
# file holds what bookworm's Python 3.11.2 needs beyond the lock (read it). pip trusts the CAs of the
# build's host when it is given them as the secret ca-certificates (`make image` does: a TLS-inspecting
# proxy's CA is among them on some hosts); a secret is mounted for this step alone and is in no layer.
RUN --mount=type=secret,id=ca-certificates \
    if [ -s /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
    && python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
        --only-binary=:all: -r /tmp/requirements.txt -r /tmp/requirements-python3.11.2.txt \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

# -- runtime: the interpreter, the virtualenv and the app; no compiler, no pip ----------------------
FROM ${BASE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin sellersync
COPY --from=build /opt/venv /opt/venv
# Owned by root and read-only to the app's user: a process cannot change its own code.
COPY . /app
WORKDIR /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -c "import compileall, sys; sys.exit(not compileall.compile_dir('/app', quiet=1))"
USER 10001:10001
EXPOSE 8000
# podman keeps it only with `podman build --format docker` (the OCI format has no health check).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/app/deploy/container/healthcheck.sh"]
ENTRYPOINT ["/app/deploy/container/entrypoint.sh"]
CMD ["web"]
