# syntax=docker/dockerfile:1
# Amazonas Soporte: one image for every part (api, worker, smtp, migrate).
# The command picks the part; see docker-compose.yml for the production topology.

# --- build: install the package and its dependencies into a virtualenv ---------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# The whole project (filtered by .dockerignore): pyproject.toml, README.md,
# worker.py and the soporte/, workflows/, activities/, api/, launcher/ packages.
COPY . .
RUN pip install --upgrade pip && pip install .

# --- runtime ------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    SOPORTE_DATA_DIR=/data

# A fixed, unprivileged uid/gid so volume ownership is predictable.
RUN groupadd --system --gid 10001 soporte \
 && useradd --system --uid 10001 --gid soporte --create-home --home-dir /home/soporte \
        --shell /usr/sbin/nologin soporte \
 && mkdir -p /data \
 && chown soporte:soporte /data

COPY --from=build /opt/venv /opt/venv

USER soporte:soporte
WORKDIR /home/soporte

# Admin token, attachments and the outbound Maildir live here (SOPORTE_DATA_DIR).
VOLUME ["/data"]

# 8000: HTTP API; 2525: inbound SMTP listener (`soporte smtp`).
EXPOSE 8000 2525

# slim has no curl: ask /healthz with the standard library. urlopen raises on
# any non-2xx answer or connection error, so the exit status is the verdict.
# (Services that run another command override it: the worker's is `soporte worker-health`.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["soporte", "api", "--host", "0.0.0.0"]
