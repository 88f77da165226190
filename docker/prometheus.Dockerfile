# Prometheus and redis_exporter for the compose `monitoring` profile, from Debian's packages
# (prometheus 2.42 and prometheus-redis-exporter 1.45 in bookworm).
#
# Like docker/redis.Dockerfile, it exists because the official `prom/prometheus` and
# `oliver006/redis_exporter` images cannot be pulled where there is no registry; this image needs
# only `debian:bookworm-slim`. One image holds both binaries (one build, two services); the
# compose file picks the entrypoint. Elsewhere the official images are drop-in replacements:
# mount deploy/monitoring/ the same way.
#
#   docker build -f docker/prometheus.Dockerfile -t wiredesk-prometheus docker/
#   docker run --rm wiredesk-prometheus promtool test rules /etc/wiredesk/monitoring/tests/*.yml
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive
# --no-install-recommends skips prometheus-node-exporter; the packages' postinst scripts create
# the `prometheus` user, and policy-rc.d (in the base image) keeps them from starting services.
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus prometheus-redis-exporter \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /prometheus \
 && chown prometheus:prometheus /prometheus

USER prometheus
WORKDIR /prometheus
VOLUME ["/prometheus"]
EXPOSE 9090 9121

ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/wiredesk/monitoring/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=0.0.0.0:9090"]
