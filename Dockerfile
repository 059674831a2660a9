# ictbot's container image: docs/operations.md ("Containers") says how to build and run it, and the compose file
# beside this one runs it with PostgreSQL, Prometheus and Grafana.

# Build stage: the package as a wheel, exactly what `pip install ictbot` installs.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# Run stage: the wheel installed (with the PostgreSQL driver), nothing of the source tree.
FROM python:3.11-slim
ARG EXTRAS=postgres
# Inside a container the API listens on every interface of the container's own network, so the host's port mapping
# and Prometheus reach it; compose publishes it on the host's 127.0.0.1 only. Control actions still need the token
# (ICTBOT_API__TOKEN, or the one the bot keeps in /data/control-token).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ICTBOT_DATA_DIR=/data \
    ICTBOT_API__HOST=0.0.0.0 \
    ICTBOT_API__PORT=8000
RUN useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin ictbot \
    && install -d -o ictbot -g ictbot -m 0700 /data
COPY --from=build /wheels /wheels
# The wheel is this build's own; its dependencies keep the ranges pyproject.toml gives them.
# hadolint ignore=DL3013
RUN wheel="$(ls /wheels/ictbot-*.whl)" \
    && pip install --no-cache-dir "${wheel}[${EXTRAS}]" \
    && rm -rf /wheels
USER 10001:10001
WORKDIR /data
# Logs, the lock, the intent journal, the control token and the default SQLite database.
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('ICTBOT_API__PORT', '8000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/ready', timeout=4).status != 200)"]
ENTRYPOINT ["ictbot"]
CMD ["run"]
