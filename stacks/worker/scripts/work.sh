#!/bin/sh
# Pops jobs from a Redis list and logs them; stands in for a real queue consumer.
set -eu
while true; do
  job=$(redis-cli -h "$REDIS_HOST" BRPOP "$QUEUE" "$POLL_SECONDS" || true)
  if [ -n "$job" ]; then
    echo "processed: $job"
  fi
done
