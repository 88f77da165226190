# Redis for the compose stack, from Debian's redis-server package (7.0 in bookworm).
#
# Why not the official `redis:7` image: the machines this stack is tested on have no container
# registry, so nothing can be pulled; this image needs only `debian:bookworm-slim`, which
# docker/make-base-image.sh can make locally. Anywhere a registry is reachable, `redis:7` (or
# newer) is a drop-in replacement: set `WIREDESK_REDIS_IMAGE=redis:7` and remove `build:` from the
# redis service, or keep this image - the settings come from the command line in compose.
#
#   docker build -f docker/redis.Dockerfile -t wiredesk-redis docker/
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data \
 && chown redis:redis /data

COPY redis-entrypoint.sh /usr/local/bin/redis-entrypoint.sh

USER redis
WORKDIR /data
VOLUME ["/data"]
EXPOSE 6379

# The entrypoint adds --requirepass / --aclfile when REDIS_PASSWORD / an ACL file are given.
ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]
# Defaults for a stream pipeline: AOF (fsync every second), never evict (eviction drops whole
# streams), listen on all interfaces of the container, protected mode off (the network is the
# compose network; set REDIS_PASSWORD for anything shared).
CMD ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction", \
     "--save", "", "--dir", "/data", "--bind", "0.0.0.0", "--protected-mode", "no"]

HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=10 \
  CMD ["sh", "-c", "redis-cli ping | grep -q PONG"]
