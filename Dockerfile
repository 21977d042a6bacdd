# crypto-stats-worker: a headless scheduled-task worker (no ports).
#   docker build -t crypto-stats-worker .
#   docker run -d -e REDIS_URL=redis://redis:6379/0 crypto-stats-worker
# Give `docker stop` / compose a grace period longer than SHUTDOWN_TIMEOUT (30 s default).

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a virtualenv at /opt/venv with the project and its pinned runtime deps ----
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# 1) Dependencies in their own layer: only pyproject.toml and the lock invalidate it.
#    The runtime dependency list comes from pyproject.toml; requirements.lock (which also
#    pins dev/bench tools) only constrains versions, so nothing else is installed.
COPY pyproject.toml requirements.lock ./
#    setuptools (the build backend) comes here too, so the next step needs no network.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/runtime-deps.txt \
 && pip install --only-binary=:all: -c requirements.lock -r /tmp/runtime-deps.txt \
 && pip install "setuptools>=68"

# 2) The project itself (no dependency resolution: they are already there).
#    README.m[d] is optional: the glob copies it when present.
COPY worker/ worker/
COPY tasks/ tasks/
COPY config/ config/
COPY container.py README.m[d] ./
#    pip compiles bytecode while installing; compileall makes sure every module is
#    precompiled (warm start-up, nothing to write at run time). pip and setuptools are
#    then removed from the venv: the runtime never installs anything.
RUN pip install --no-deps --no-build-isolation -c requirements.lock . \
 && pip check \
 && python -m compileall -q -j 0 /opt/venv/lib \
 && pip uninstall -y -q setuptools pip

# ---- runtime: the venv only, a non-root user ----
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="crypto-stats-worker" \
      org.opencontainers.image.description="Headless scheduled-task worker for the Crypto Stats platform"

# Fixed uid/gid 10001 so mounted files can be granted to it; /app stays root-owned
# (read-only for the worker, which writes only its heartbeat under /tmp).
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin worker

COPY --from=build /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HEARTBEAT_FILE=/tmp/worker.heartbeat

# The working directory holds no code: a `.env` mounted here (/app/.env) is read.
WORKDIR /app
USER worker:worker

HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["worker", "health"]

# Python is PID 1 (exec form) and handles SIGTERM itself: drain, then exit 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "worker"]
