# Two images from this file:
#   the worker (headless, no ports; the default target, the last stage):
#     docker build -t crypto-stats-worker .
#     docker run -d -e REDIS_URL=redis://redis:6379/0 crypto-stats-worker
#   the read-only dashboard (its own process; port 8080):
#     docker build --target dashboard -t crypto-stats-dashboard .
#     docker run -d -p 127.0.0.1:8080:8080 -e REDIS_URL=redis://redis:6379/0 \
#         -e DASHBOARD_TOKEN="$(openssl rand -hex 16)" crypto-stats-dashboard
#   it listens on 0.0.0.0 inside the container, so DASHBOARD_TOKEN (at least 16 characters)
#   is required: without one it exits 78 with one line, unless DASHBOARD_ALLOW_OPEN=on.
# Give `docker stop` / compose a grace period longer than SHUTDOWN_TIMEOUT (30 s default).
# Only the dashboard image carries its web stack (starlette, uvicorn, jinja2): the worker's
# has neither those packages nor the dashboard's code. (The legacy builder, without
# BuildKit, builds the dashboard stages too on the way to the default target; the worker
# image does not contain them.)

ARG PYTHON_IMAGE=python:3.11-slim

# ---- deps: a virtualenv at /opt/venv with the pinned runtime deps ----
FROM ${PYTHON_IMAGE} AS deps

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src

# Dependencies in their own layer: only pyproject.toml and the lock invalidate it.
# The runtime dependency list comes from pyproject.toml; requirements.lock (which also
# pins dev/bench tools) only constrains versions, so nothing else is installed.
COPY pyproject.toml requirements.lock ./
# setuptools (the build backend) comes here too, so the project install needs no network.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/runtime-deps.txt \
 && pip install --only-binary=:all: -c requirements.lock -r /tmp/runtime-deps.txt \
 && pip install "setuptools>=68"

# ---- build-dashboard: the same venv plus the `dashboard` extra and the dashboard's code ----
FROM deps AS build-dashboard

RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dashboard']))" > /tmp/dashboard-deps.txt \
 && pip install --only-binary=:all: -c requirements.lock -r /tmp/dashboard-deps.txt

COPY worker/ worker/
COPY tasks/ tasks/
COPY config/ config/
COPY dashboard/ dashboard/
COPY container.py README.m[d] ./
RUN pip install --no-deps --no-build-isolation -c requirements.lock . \
 && pip check \
 && python -m compileall -q -j 0 /opt/venv/lib \
 && pip uninstall -y -q setuptools pip

# ---- build: the worker's venv (no dashboard) ----
FROM deps AS build

# The project itself (no dependency resolution: they are already there).
# README.m[d] is optional: the glob copies it when present. dashboard/ is left out, and
# so is its console script (it would name a module this image does not have).
COPY worker/ worker/
COPY tasks/ tasks/
COPY config/ config/
COPY container.py README.m[d] ./
# pip compiles bytecode while installing; compileall makes sure every module is
# precompiled (warm start-up, nothing to write at run time). pip and setuptools are
# then removed from the venv: the runtime never installs anything.
RUN pip install --no-deps --no-build-isolation -c requirements.lock . \
 && pip check \
 && rm /opt/venv/bin/worker-dashboard \
 && python -m compileall -q -j 0 /opt/venv/lib \
 && pip uninstall -y -q setuptools pip

# ---- dashboard: `python -m dashboard` on 0.0.0.0:8080, a non-root user ----
FROM ${PYTHON_IMAGE} AS dashboard

LABEL org.opencontainers.image.title="crypto-stats-dashboard" \
      org.opencontainers.image.description="Read-only web dashboard for the Crypto Stats worker fleet"

# Same fixed uid/gid as the worker's; it writes nothing.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /app \
        --shell /usr/sbin/nologin dashboard

COPY --from=build-dashboard /opt/venv /opt/venv

# The program's default address is 127.0.0.1:8080; in a container it must listen on all
# interfaces to be published (publish it on the host's loopback: -p 127.0.0.1:8080:8080).
# Not loopback, so the dashboard starts only with a DASHBOARD_TOKEN of 16+ characters (from
# -e, or a .env mounted at /app/.env) or with DASHBOARD_ALLOW_OPEN=on (a trusted network).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DASHBOARD_ADDR=0.0.0.0:8080

WORKDIR /app
USER dashboard:dashboard
EXPOSE 8080

# /healthz: 200 without a token; 503 when Redis is down (urlopen raises: exit 1).
# The port follows DASHBOARD_ADDR.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('DASHBOARD_ADDR', '127.0.0.1:8080').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

STOPSIGNAL SIGTERM
CMD ["python", "-m", "dashboard"]

# ---- runtime: the worker (default target) — the venv only, a non-root user ----
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
