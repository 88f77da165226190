# PostgreSQL for the compose `postgres` profile, from Debian's postgresql package (15 in bookworm).
# Like docker/redis.Dockerfile, it exists because the official `postgres` image cannot be pulled
# where there is no registry; elsewhere `postgres:15` is a drop-in replacement (same env names).
#
#   POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB   created on first start (empty volume)
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql

COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/var/lib/postgresql/data
USER postgres
VOLUME ["/var/lib/postgresql/data"]
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=10 \
  CMD ["sh", "-c", "pg_isready -h 127.0.0.1 -U \"${POSTGRES_USER:-wiredesk}\""]
