#!/bin/sh
# Start redis-server with the given arguments, plus authentication when configured:
#   REDIS_PASSWORD       password of the `default` user (--requirepass)
#   REDIS_ACL_FILE       an ACL file (users.acl) mounted into the container (--aclfile)
# redis-cli (healthcheck) reads the password from REDISCLI_AUTH, exported here for `docker exec`.
set -eu
if [ -n "${REDIS_PASSWORD:-}" ]; then
  set -- "$@" --requirepass "$REDIS_PASSWORD"
fi
if [ -n "${REDIS_ACL_FILE:-}" ]; then
  set -- "$@" --aclfile "$REDIS_ACL_FILE"
fi
exec redis-server "$@"
