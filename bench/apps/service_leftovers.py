"""What a served project keeps in RabbitMQ and Redis: jobs, cache keys; delete it all.

Runs in the generated project's own virtualenv (aio-pika and redis are its dependencies)
with the servers' environment, so that the project's Settings name this run's queues and
key prefixes. ``BENCH_PACKAGE`` names the generated package. Prints one JSON object.

    python service_leftovers.py purge-jobs    # empty the work queue: {"purged": <jobs>}
    python service_leftovers.py clear-cache   # delete the cache's keys: {"keys": <deleted>}
    python service_leftovers.py count-cache   # count the cache's keys: {"keys": <count>}
    python service_leftovers.py delete        # the job exchange and queues, the run's keys

No worker runs during the benchmark, so every job a POST sends stays in the work queue
until it is purged (after each POST run) or deleted (at the end). Each item the cache
holds is one read that missed it (the key is written on a miss), hence ``count-cache``.
"""

import asyncio
import importlib
import json
import os
import sys
from typing import Any

TIMEOUT_SECONDS = 30.0


async def _rabbitmq(settings: Any) -> Any:  # noqa: ANN401 - aio-pika's connection
    import aio_pika  # noqa: PLC0415 - only projects with background jobs have it

    return await aio_pika.connect(
        host=settings.rabbitmq_host,
        port=settings.rabbitmq_port,
        login=settings.rabbitmq_user,
        password=settings.rabbitmq_password.get_secret_value(),
        virtualhost=settings.rabbitmq_vhost,
        timeout=5.0,
    )


def _topology(package: str, settings: Any) -> Any:  # noqa: ANN401 - the project's JobTopology
    broker = importlib.import_module(f"{package}.core.jobs.broker")
    return broker.JobTopology.named(settings.jobs_name_prefix)


async def purge_jobs(package: str, settings: Any) -> dict[str, int]:  # noqa: ANN401 - run-time types
    """Empty the work queue; return how many jobs it held."""
    import aio_pika.exceptions  # noqa: PLC0415 - only projects with background jobs have it

    topology = _topology(package, settings)
    connection = await _rabbitmq(settings)
    async with connection:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(topology.queue, passive=True)
        except aio_pika.exceptions.ChannelNotFoundEntity:
            return {"purged": 0}  # never declared: no job was ever sent
        result = await queue.purge()
        return {"purged": int(result.message_count or 0)}


def _redis(settings: Any) -> Any:  # noqa: ANN401 - redis-py's client
    from redis.asyncio import Redis  # noqa: PLC0415 - only projects using Redis have it

    return Redis(
        host=settings.redis_host,
        port=settings.redis_port,
        db=settings.redis_db,
        username=settings.redis_username,
        password=settings.redis_password.get_secret_value() or None,
        ssl=settings.redis_tls,
        socket_connect_timeout=5.0,
        socket_timeout=10.0,
    )


async def _keys(redis: Any, prefix: str) -> list[bytes]:  # noqa: ANN401 - run-time types
    # SCAN, not KEYS: the Redis is shared with others.
    return [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]


async def _delete_keys(redis: Any, prefix: str) -> int:  # noqa: ANN401 - run-time types
    keys = await _keys(redis, prefix)
    deleted = 0
    for start in range(0, len(keys), 1000):
        deleted += int(await redis.delete(*keys[start : start + 1000]))
    return deleted


async def clear_cache(_package: str, settings: Any) -> dict[str, int]:  # noqa: ANN401 - run-time types
    """Delete every key of the cache: the next reads of each item miss it."""
    redis = _redis(settings)
    try:
        return {"keys": await _delete_keys(redis, settings.cache_key_prefix)}
    finally:
        await redis.aclose()


async def count_cache(_package: str, settings: Any) -> dict[str, int]:  # noqa: ANN401 - run-time types
    """Count the keys of the cache."""
    redis = _redis(settings)
    try:
        return {"keys": len(await _keys(redis, settings.cache_key_prefix))}
    finally:
        await redis.aclose()


async def delete(package: str, settings: Any) -> dict[str, int]:  # noqa: ANN401 - run-time types
    """Delete the job exchange and queues, and every Redis key under the run's prefixes."""
    deleted = {"queues": 0, "keys": 0}
    if hasattr(settings, "jobs_name_prefix"):
        topology = _topology(package, settings)
        connection = await _rabbitmq(settings)
        async with connection:
            channel = await connection.channel()
            for name in topology.queues:
                await channel.queue_delete(name)
                deleted["queues"] += 1
            await channel.exchange_delete(topology.exchange)
    prefixes = [
        getattr(settings, name)
        for name in ("cache_key_prefix", "rate_limit_key_prefix")
        if hasattr(settings, name)
    ]
    if prefixes:
        redis = _redis(settings)
        try:
            for prefix in prefixes:
                deleted["keys"] += await _delete_keys(redis, prefix)
        finally:
            await redis.aclose()
    return deleted


async def main(action: str) -> None:
    """Run ``action`` with the project's settings and print its outcome as JSON."""
    package = os.environ.get("BENCH_PACKAGE", "example_service")
    settings = importlib.import_module(f"{package}.core.settings").Settings()
    actions = {
        "purge-jobs": purge_jobs,
        "clear-cache": clear_cache,
        "count-cache": count_cache,
        "delete": delete,
    }
    if action not in actions:
        raise SystemExit(f"usage: service_leftovers.py {'|'.join(actions)}")
    async with asyncio.timeout(TIMEOUT_SECONDS):
        outcome = await actions[action](package, settings)
    sys.stdout.write(json.dumps(outcome) + "\n")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else ""))
