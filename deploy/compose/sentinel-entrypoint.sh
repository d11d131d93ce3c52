#!/bin/sh
# Writes the Sentinel's own config from the template on first start (Sentinel
# rewrites it as it learns the topology: it must persist in /data), then
# runs Sentinel.
set -eu
conf=/data/sentinel.conf
if [ ! -s "$conf" ]; then
    sed -e "s/__PASSWORD__/${REDIS_PASSWORD}/g" -e "s/__ANNOUNCE__/${SENTINEL_ANNOUNCE}/g" \
        /etc/redis/sentinel.conf.template > "$conf"
fi
exec redis-sentinel "$conf"
