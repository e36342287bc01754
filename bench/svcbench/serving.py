"""Parts 2 and 3: the generated service under wrk, next to bare FastAPI and Starlette.

The service is the default project (authentication, rate limiting and metrics on). Next
to it: the project generated with every option off, and the project generated with every
option on, served twice (tracing switched off by its setting, and on, exporting every
span to a stand-in collector), so that what the options cost per request can be read
off directly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import socket
import statistics
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from svcbench.db import Postgres, delete_posted_items, insert_items, seed_items
from svcbench.otlp_sink import OtlpSink, SinkCounts, running_sink
from svcbench.procs import Server, StepError, busy_cpu_seconds, run, run_measured
from svcbench.project import Project

BENCH_DIR = Path(__file__).resolve().parent.parent
APPS_DIR = BENCH_DIR / "apps"
LUA_DIR = BENCH_DIR / "lua"

SEED_ROWS = 10_000
PAGE_SIZE = 20
#: The list at scale: a second database with this many rows, its own server, 8 connections.
LARGE_ROWS = 1_000_000
LARGE_CONNECTIONS = (8,)
#: Name filters the filtered list at scale takes in turn, one listing of at most
#: LARGE_FILTER_PAGES pages each (see insert_items for the names): every row matches, the
#: newest 10%, 20 rows, none.
LARGE_FILTERS = ("item", "item 00", "12345", "zzz")
LARGE_FILTER_PAGES = 20
#: The known limit of ADR 0011, loaded on its own: text in the oldest 10% of the rows only,
#: so each listing's first page (newest first) finds nothing nearby and takes every match
#: from the trigram index.
FAR_FILTER = "item 09"
POST_PREFIX = "bench-post"
SERVER_START_TIMEOUT_SECONDS = 60.0
MIGRATE_TIMEOUT_SECONDS = 120.0
#: wrk counts a request that takes longer than this as a timeout error (a stall).
WRK_TIMEOUT = "2s"
WRK_THREADS = 2

SERVICE = "service"
SERVICE_LARGE = "service, 1M rows"
#: The project generated with OPTIONS_OFF: the same service with every option off.
SERVICE_OFF = "service, options off"
#: The project generated with OPTIONS_ALL, tracing switched off by its setting.
SERVICE_ALL = "service, everything on"
#: The same server with tracing switched on: every request traced and exported.
SERVICE_TRACED = "service, everything on, traced"
#: The servers of generated projects as built by their own app factory (as shipped).
API_SERVERS = (SERVICE, SERVICE_LARGE, SERVICE_OFF, SERVICE_ALL, SERVICE_TRACED)
BARE_FASTAPI = "bare FastAPI"
BARE_STARLETTE = "bare Starlette"
BARE_ASYNCPG = "bare FastAPI + asyncpg"
NO_MIDDLEWARE = "no middleware"


#: The answers (``svcforge new --data``) of the project served as SERVICE_OFF.
OPTIONS_OFF = {
    "auth": "none",
    "rate_limiting": "false",
    "metrics": "false",
    "tracing": "false",
    "background_jobs": "none",
    "cache": "false",
}
#: The answers of the project served as SERVICE_ALL and SERVICE_TRACED (kubernetes and ci
#: change nothing the service runs).
OPTIONS_ALL = {
    "auth": "jwt",
    "rate_limiting": "true",
    "metrics": "true",
    "tracing": "true",
    "background_jobs": "taskiq",
    "cache": "true",
}
#: SERVICE_TRACED records every trace (the worst case; the shipped ratio is a setting).
BENCH_TRACING_SAMPLE_RATIO = "1.0"
#: How long the first span may take to reach the sink: the SDK's batch processor sends
#: every 5 s (OTEL_BSP_SCHEDULE_DELAY), with a wide margin for a loaded machine.
FIRST_EXPORT_TIMEOUT_SECONDS = 30.0
LEFTOVERS_TIMEOUT_SECONDS = 60.0
#: The OpenTelemetry SDK's warning for each span its full queue drops (opentelemetry-sdk's
#: BatchProcessor: "Queue full, dropping span.").
SPAN_DROPPED = b"Queue full, dropping"
API_PREFIX = "/api/v1"
#: Every rate limit of the service while it is loaded: wrk sends everything from one
#: address and with one token, so the real limits (100/minute per address) would refuse
#: nearly all of it. Far above any rate this machine reaches, every request is still
#: counted in Redis but none is refused: the benchmark measures the counting.
BENCH_RATE_LIMIT = "1000000000/minute"
#: The rate-limit settings set to BENCH_RATE_LIMIT (field names of the generated Settings).
RATE_LIMIT_SETTINGS = ("RATE_LIMIT_DEFAULT", "RATE_LIMIT_AUTH", "RATE_LIMIT_PRINCIPAL")
#: Lifetime of the benchmark's access token (default 15 minutes): longer than any run, so
#: no request meets an expired token.
BENCH_TOKEN_TTL_SECONDS = 24 * 60 * 60
#: Prints an access token for the benchmark's principal (admin: may read and write items);
#: runs in the project's own virtualenv.
_MINT_SNIPPET = """
from example_service.core.auth.access import Principal, Role
from example_service.core.auth.tokens import AccessTokens
from example_service.core.settings import Settings
principal = Principal(subject="svcforge-bench", roles=frozenset({Role.ADMIN}))
print(AccessTokens.from_settings(Settings()).issue(principal))
"""
MINT_TIMEOUT_SECONDS = 60.0
#: The authentication answers the benchmark can load the API with.
SUPPORTED_AUTH = ("jwt", "none")


#: Settings whose values are this run's own names (unique per run), not worth reporting.
RUN_NAME_SETTINGS = ("RATE_LIMIT_KEY_PREFIX", "CACHE_KEY_PREFIX", "JOBS_NAME_PREFIX")


def settings_env(project: Project) -> dict[str, str]:
    """Return the settings the benchmark gives every server of ``project`` (prefixed).

    Only settings of the options the project was generated with. Redis, RabbitMQ and the
    metrics port are shared with other users and servers, hence names of this run alone:
    with ``rate_limiting``, limits no run reaches (BENCH_RATE_LIMIT) under a Redis key
    prefix of the run's own; with ``cache``, a key prefix of the run's own; with
    background jobs, queues of the run's own; with ``metrics``, a free port for each
    server's metrics listener (several servers of one project run at once). With
    ``auth=jwt``, a token lifetime longer than any run. With ``tracing``, tracing off
    (its default; ``tracing_env`` switches it on).
    """
    prefix = project.env_prefix
    run_name = f"svcforge-bench-{uuid.uuid4().hex[:10]}"
    env: dict[str, str] = {}
    if project.rate_limiting:
        env |= {f"{prefix}{name}": BENCH_RATE_LIMIT for name in RATE_LIMIT_SETTINGS}
        env[f"{prefix}RATE_LIMIT_KEY_PREFIX"] = f"{run_name}:rate-limit"
    if project.cache:
        env[f"{prefix}CACHE_KEY_PREFIX"] = f"{run_name}:cache"
    if project.background_jobs != "none":
        env[f"{prefix}JOBS_NAME_PREFIX"] = run_name
    if project.metrics:
        env[f"{prefix}METRICS_PORT"] = "0"
    if project.tracing:
        env[f"{prefix}TRACING_ENABLED"] = "false"
    if project.auth == "jwt":
        env[f"{prefix}ACCESS_TOKEN_TTL_SECONDS"] = str(BENCH_TOKEN_TTL_SECONDS)
    return env


def tracing_env(project: Project, endpoint: str) -> dict[str, str]:
    """Return the settings that switch tracing on: every trace recorded, sent to ``endpoint``."""
    prefix = project.env_prefix
    return {
        f"{prefix}TRACING_ENABLED": "true",
        f"{prefix}TRACING_SAMPLE_RATIO": BENCH_TRACING_SAMPLE_RATIO,
        f"{prefix}TRACING_EXPORTER": "otlp",
        f"{prefix}TRACING_OTLP_ENDPOINT": endpoint,
    }


def shown_settings(env: dict[str, str]) -> dict[str, str]:
    """Return the settings of ``env`` worth reporting: without the run's own names."""
    return {k: v for k, v in env.items() if not k.endswith(RUN_NAME_SETTINGS)}


def auth_headers(project: Project, env: dict[str, str]) -> dict[str, str]:
    """Headers that authenticate wrk's requests to the API of ``project``.

    With ``auth=jwt``, a bearer token for an admin principal, issued by the project's own
    code with the settings ``env`` gives (the servers' environment: same signing key,
    issuer and audience, and the long lifetime of ``settings_env``). With ``auth=none``,
    no headers. The other answers need an identity provider or issued API keys, which
    the benchmark does not set up.
    """
    if project.auth == "none":
        return {}
    if project.auth != "jwt":
        raise StepError(
            f"the serving benchmark supports auth={' and auth='.join(SUPPORTED_AUTH)}, "
            f"but {project.root} was generated with auth={project.auth}"
        )
    snippet = _MINT_SNIPPET.replace("example_service", project.package)
    token = run(
        [str(project.python), "-c", snippet],
        cwd=project.root,
        env=env,
        timeout=MINT_TIMEOUT_SECONDS,
    ).strip()
    if token.count(".") != 2:  # a JWT is header.payload.signature
        raise StepError(f"minting an access token printed no JWT: {token[-500:]!r}")
    return {"Authorization": f"Bearer {token}"}


@dataclass(frozen=True)
class LoadSettings:
    """How hard and how long to load each server."""

    reps: int
    duration_seconds: int
    warmup_seconds: int
    connections: tuple[int, ...] = (8, 64)
    #: The per-middleware breakdown runs at this concurrency only (time budget).
    breakdown_connections: int = 64


@dataclass(frozen=True)
class Scenario:
    """One endpoint of one server, loaded by one wrk script."""

    key: str
    label: str
    server: str
    path: str
    script: str
    args: tuple[str, ...] = ()
    connections: tuple[int, ...] = ()
    #: Whether the scenario creates rows that must be removed after each run.
    posts: bool = False
    #: Whether the scenario belongs to the per-middleware breakdown (part 3).
    breakdown: bool = False


@dataclass(frozen=True)
class LoadRun:
    """The outcome of one wrk run."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    status_errors: int
    socket_errors: int
    rss_kib: int
    #: CPU microseconds per request used by the server, by PostgreSQL, by Redis (the rate
    #: limits' counters, the cache) and by RabbitMQ (the jobs); Redis and RabbitMQ are
    #: shared, so other users' commands count too.
    server_cpu_us: float
    postgres_cpu_us: float
    redis_cpu_us: float
    rabbitmq_cpu_us: float
    #: CPU the rest of the machine used during the run, in % of one core (noise).
    background_cpu_percent: float
    #: Share of the reads answered from the cache, for GET by id of a project with
    #: ``cache`` (each such run starts with an empty cache); None elsewhere.
    cache_hit_ratio: float | None = None

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds


@dataclass
class ScenarioResult:
    """Every run of one scenario at one concurrency, and their medians."""

    scenario: Scenario
    connections: int
    runs: list[LoadRun] = field(default_factory=list)

    def median(self, metric: Callable[[LoadRun], float]) -> float:
        """Median of a metric over the runs."""
        return statistics.median(metric(run) for run in self.runs)

    @property
    def rps(self) -> float:
        """Median requests per second."""
        return self.median(lambda run: run.rps)

    @property
    def errors(self) -> int:
        """Failed requests over all runs: non-2xx/3xx answers and socket errors."""
        return sum(run.status_errors + run.socket_errors for run in self.runs)

    @property
    def rss_mib(self) -> float:
        """Largest server RSS seen after a run, in MiB."""
        return max(run.rss_kib for run in self.runs) / 1024


@dataclass(frozen=True)
class EverythingOn:
    """The project with every option on, as served (SERVICE_ALL and SERVICE_TRACED)."""

    middleware: list[str]
    #: What the benchmark set for both servers (``settings_env``, without the run's own
    #: names), and for SERVICE_TRACED on top (``tracing_env``).
    settings_overrides: dict[str, str]
    tracing_overrides: dict[str, str]
    #: What the stand-in collector received from SERVICE_TRACED over the whole run (the
    #: server's last spans are sent when it stops).
    sink: SinkCounts
    #: Spans the SDK dropped (its queue was full): its warnings in the server's log.
    dropped_spans: int
    #: Requests SERVICE_TRACED answered to wrk (warm-ups included) and to the checks.
    traced_requests: int
    #: POSTs both servers answered (warm-ups included), and the jobs they left in the
    #: work queue (purged after each POST run; no worker runs).
    posts: int
    jobs_queued: int


@dataclass(frozen=True)
class ServingResult:
    """Everything parts 2 and 3 measured."""

    results: list[ScenarioResult]
    settings: LoadSettings
    middleware: list[str]
    serve_args: list[str]
    access_log_lines: int
    postgres_version: str
    wrk_command: str
    #: The answers of the service's project (SERVICE, SERVICE_LARGE, part 3).
    auth: str
    rate_limiting: bool
    #: What the benchmark set in the servers' environment (see ``settings_env``), without
    #: the run's own names (Redis key prefixes, queue names).
    settings_overrides: dict[str, str]
    everything_on: EverythingOn

    def get(self, key: str, connections: int) -> ScenarioResult:
        """Return the result of a scenario at a concurrency."""
        for result in self.results:
            if result.scenario.key == key and result.connections == connections:
                return result
        raise KeyError((key, connections))


def scenarios(
    middleware: list[str],
    ids_file: Path,
    ids_file_off: Path,
    settings: LoadSettings,
    ids_file_all: Path | None = None,
) -> list[Scenario]:
    """Every load scenario, in the order one repetition runs them.

    ``ids_file`` lists the items of the service's database, ``ids_file_off`` those of the
    database of the service with its options off, ``ids_file_all`` those of the database
    of the service with everything on (its scenarios are left out without it).
    """
    conns = settings.connections
    items = f"{API_PREFIX}/items"
    # Each thread pages through the whole list, following next_cursor, then starts again.
    page_args = (str(PAGE_SIZE), "0")
    filter_args = (str(PAGE_SIZE), str(LARGE_FILTER_PAGES), *LARGE_FILTERS)
    far_filter_args = (str(PAGE_SIZE), str(LARGE_FILTER_PAGES), FAR_FILTER)
    plan = [
        Scenario("health", "GET /health", SERVICE, "/health", "health.lua", (), conns),
        Scenario("fastapi", "GET /health", BARE_FASTAPI, "/health", "health.lua", (), conns),
        Scenario("starlette", "GET /health", BARE_STARLETTE, "/health", "health.lua", (), conns),
        Scenario(
            "get", f"GET {items}/{{id}}", SERVICE, items, "get_by_id.lua", (str(ids_file),), conns
        ),
        Scenario(
            "list",
            f"GET {items}?limit={PAGE_SIZE}&cursor=<next>",
            SERVICE,
            items,
            "list.lua",
            page_args,
            conns,
        ),
        Scenario(
            "list-1m",
            f"GET {items}?limit={PAGE_SIZE}&cursor=<next>",
            SERVICE_LARGE,
            items,
            "list.lua",
            page_args,
            LARGE_CONNECTIONS,
        ),
        Scenario(
            "list-1m-filter",
            f"GET {items}?limit={PAGE_SIZE}&name_contains=<4 kinds>&cursor=<next>",
            SERVICE_LARGE,
            items,
            "list.lua",
            filter_args,
            LARGE_CONNECTIONS,
        ),
        Scenario(
            "list-1m-filter-far",
            f"GET {items}?limit={PAGE_SIZE}&name_contains={FAR_FILTER}&cursor=<next>",
            SERVICE_LARGE,
            items,
            "list.lua",
            far_filter_args,
            LARGE_CONNECTIONS,
        ),
        Scenario("post", f"POST {items}", SERVICE, items, "post.lua", (), conns, posts=True),
        # What authentication and rate limiting cost: the same requests without them.
        Scenario(
            "get-off",
            f"GET {items}/{{id}}",
            SERVICE_OFF,
            items,
            "get_by_id.lua",
            (str(ids_file_off),),
            conns,
        ),
        Scenario(
            "post-off", f"POST {items}", SERVICE_OFF, items, "post.lua", (), conns, posts=True
        ),
    ]
    if ids_file_all is not None:
        # Every option on, with tracing off by its setting, then on: the same requests.
        for key, server in [("all", SERVICE_ALL), ("traced", SERVICE_TRACED)]:
            plan += [
                Scenario(
                    f"get-{key}",
                    f"GET {items}/{{id}}",
                    server,
                    items,
                    "get_by_id.lua",
                    (str(ids_file_all),),
                    conns,
                ),
                Scenario(
                    f"post-{key}", f"POST {items}", server, items, "post.lua", (), conns, posts=True
                ),
            ]
    plan += [
        # The floor for a database read on this machine: no ORM, no middleware.
        Scenario(
            "asyncpg-get",
            f"GET {items}/{{id}}",
            BARE_ASYNCPG,
            items,
            "get_by_id.lua",
            (str(ids_file),),
            conns,
        ),
    ]
    # Part 3: the service with one middleware removed at a time, then with none.
    # With a single middleware, "without it" is "no middleware": measured once.
    without = [f"without {name}" for name in middleware] if len(middleware) > 1 else []
    for server in [*without, NO_MIDDLEWARE]:
        plan.append(
            Scenario(
                f"health {server}",
                "GET /health",
                server,
                "/health",
                "health.lua",
                (),
                (settings.breakdown_connections,),
                breakdown=True,
            )
        )
    return plan


@dataclass(frozen=True)
class _Served:
    """A generated project as one of the benchmark's servers runs it."""

    project: Project
    #: The environment of its servers: the database to use and ``settings_env``.
    env: dict[str, str]
    #: What wrk sends with every request to its API (``auth_headers``).
    headers: dict[str, str]


def measure_serving(
    *,
    project: Project,
    options_off: Project,
    everything_on: Project,
    postgres: Postgres,
    settings: LoadSettings,
    workdir: Path,
    env: dict[str, str],
) -> ServingResult:
    """Seed the databases, start every server, load each scenario, and stop everything.

    ``project`` is the service (the default answers); ``options_off`` the same service
    generated with OPTIONS_OFF, served as SERVICE_OFF; ``everything_on`` the service
    generated with OPTIONS_ALL, served as SERVICE_ALL and, with tracing on and its spans
    exported to a stand-in collector (``OtlpSink``), as SERVICE_TRACED. Each project is
    served on a database of its own, migrated by its own migrations and seeded alike.
    """
    overrides = settings_env(project)
    overrides_off = settings_env(options_off)
    overrides_all = settings_env(everything_on)
    # Before anything is created: an unsupported auth answer fails here, at once.
    headers = auth_headers(project, {**env, **overrides})
    headers_off = auth_headers(options_off, {**env, **overrides_off})
    headers_all = auth_headers(everything_on, {**env, **overrides_all})
    with (
        running_sink() as sink,
        postgres.temporary_database("svcforge_bench") as database,
        postgres.temporary_database("svcforge_bench_large") as large_database,
        postgres.temporary_database("svcforge_bench_off") as off_database,
        postgres.temporary_database("svcforge_bench_all") as all_database,
    ):
        for owner, name in [(project, database), (project, large_database)]:
            _migrate(owner, name, env)
        _migrate(options_off, off_database, env)
        _migrate(everything_on, all_database, env)
        ids_file = workdir / "item_ids.txt"
        ids_file.write_text("\n".join(seed_items(postgres, database, SEED_ROWS)) + "\n")
        ids_file_off = workdir / "item_ids_off.txt"
        ids_file_off.write_text("\n".join(seed_items(postgres, off_database, SEED_ROWS)) + "\n")
        ids_file_all = workdir / "item_ids_all.txt"
        ids_file_all.write_text("\n".join(seed_items(postgres, all_database, SEED_ROWS)) + "\n")
        insert_items(postgres, large_database, LARGE_ROWS)
        plan = scenarios(project.middleware, ids_file, ids_file_off, settings, ids_file_all)
        databases = {
            SERVICE: database,
            SERVICE_LARGE: large_database,
            SERVICE_OFF: off_database,
            SERVICE_ALL: all_database,
            SERVICE_TRACED: all_database,
        }
        all_env = {**env, f"{everything_on.env_prefix}DB_NAME": all_database, **overrides_all}
        traced = tracing_env(everything_on, sink.endpoint)
        served = {
            SERVICE: _Served(
                project, {**env, f"{project.env_prefix}DB_NAME": database, **overrides}, headers
            ),
            SERVICE_OFF: _Served(
                options_off,
                {**env, f"{options_off.env_prefix}DB_NAME": off_database, **overrides_off},
                headers_off,
            ),
            SERVICE_ALL: _Served(everything_on, all_env, headers_all),
            SERVICE_TRACED: _Served(everything_on, {**all_env, **traced}, headers_all),
        }
        jobs = _JobsLeft()
        try:
            with _servers(served, workdir, plan, databases) as servers:
                # A misconfigured run (401s, a Redis that is not counting, a RabbitMQ
                # that is not there, spans that do not arrive) fails here, not after
                # minutes of load.
                for name, served_as in served.items():
                    _check_api(servers[name], served_as)
                _wait_for_export(sink, servers[SERVICE_TRACED])
                sent, results = _load_all(
                    plan, servers, settings, workdir, postgres, databases, served, jobs
                )
                log_lines = _count_lines(workdir / f"{SERVICE}.log")
            # Stopped: the traced server has sent its last spans (its lifespan flushes).
            dropped = _count_lines(workdir / f"{SERVICE_TRACED}.log", containing=SPAN_DROPPED)
        finally:
            _delete_leftovers(served)
        return ServingResult(
            results=results,
            settings=settings,
            middleware=project.middleware,
            serve_args=project.serve_args,
            access_log_lines=log_lines,
            postgres_version=postgres.server_version(),
            wrk_command=(
                f"wrk -t{WRK_THREADS} -c<8|64> -d{settings.duration_seconds}s --latency "
                f"--timeout {WRK_TIMEOUT} -s <scenario>.lua [-H 'Authorization: Bearer <jwt>'] "
                "<url> -- <args>"
            ),
            auth=project.auth,
            rate_limiting=project.rate_limiting,
            settings_overrides=shown_settings(overrides),
            everything_on=EverythingOn(
                middleware=everything_on.middleware,
                settings_overrides=shown_settings(overrides_all),
                tracing_overrides={
                    name: "<the sink>" if name.endswith("OTLP_ENDPOINT") else value
                    for name, value in traced.items()
                },
                sink=sink.counts,
                dropped_spans=dropped,
                # The two checks: GET /api/v1/items and GET /ready (probes are untraced).
                traced_requests=sent[SERVICE_TRACED] + 1,
                posts=jobs.posts,
                jobs_queued=jobs.queued,
            ),
        )


@dataclass
class _JobsLeft:
    """POSTs to the servers with background jobs, and the jobs they left in the queue."""

    posts: int = 0
    queued: int = 0


def _migrate(project: Project, database: str, env: dict[str, str]) -> None:
    """Bring an empty database to the schema of ``project`` with its own migrations."""
    run(
        [str(project.root / ".venv" / "bin" / "alembic"), "upgrade", "head"],
        cwd=project.root,
        env={**env, f"{project.env_prefix}DB_NAME": database},
        timeout=MIGRATE_TIMEOUT_SECONDS,
    )


def _check_api(server: Server, served: _Served) -> None:
    """Fail unless one API request of the server gets 200, counted only where it should be.

    With rate limiting on, the answer must carry the RateLimit field: a Redis that does
    not answer is not an error for the service (requests are served unlimited), but the
    benchmark would then measure no counting at all.
    """
    request = urllib.request.Request(  # noqa: S310 - a loopback URL built here
        f"{server.base_url}{API_PREFIX}/items?limit=1", headers=served.headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            counted = response.headers.get("RateLimit") is not None
    except urllib.error.HTTPError as error:
        body = error.read()[:500].decode(errors="replace")
        raise StepError(
            f"{server.name}: GET {API_PREFIX}/items answered {error.code}: {body}"
        ) from error
    except (urllib.error.URLError, TimeoutError) as error:
        raise StepError(f"{server.name}: GET {API_PREFIX}/items failed: {error}") from error
    if served.project.rate_limiting and not counted:
        raise StepError(
            f"{server.name}: the answer has no RateLimit field, so its requests are not being "
            "counted (is Redis up at the address the service's settings name?)"
        )
    if counted and not served.project.rate_limiting:
        raise StepError(f"{server.name}: rate-limited, though generated with rate_limiting=false")
    _check_ready(server)


def _check_ready(server: Server) -> None:
    """Fail unless /ready reports every dependency ok, the optional ones included.

    Redis (rate limits, cache) and RabbitMQ (jobs) are optional to the service: without
    them it serves, doing less, and the benchmark would measure less. The readiness
    check also connects the job publisher, which declares the run's queues.
    """
    url = f"{server.base_url}/ready"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
            readiness = json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()[:500].decode(errors="replace")
        raise StepError(f"{server.name}: GET /ready answered {error.code}: {body}") from error
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        raise StepError(f"{server.name}: GET /ready failed: {error}") from error
    checks = readiness.get("checks", {})
    not_ok = {name: status for name, status in checks.items() if status != "ok"}
    if not_ok or readiness.get("status") != "ok":
        raise StepError(
            f"{server.name}: /ready reports {readiness}: is every dependency up at the "
            "address the service's settings name?"
        )


def _wait_for_export(sink: OtlpSink, server: Server) -> None:
    """Fail unless the traced server's first spans reach the sink in time.

    The check request of ``_check_api`` made a trace; the batch processor sends it within
    its schedule delay. No spans: tracing is not on, or exports go elsewhere.
    """
    deadline = time.monotonic() + FIRST_EXPORT_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if sink.counts.spans > 0:
            return
        time.sleep(0.2)
    raise StepError(
        f"{server.name}: no span reached the OTLP sink at {sink.endpoint} within "
        f"{FIRST_EXPORT_TIMEOUT_SECONDS:.0f} s ({sink.counts}); see {server.log_path}"
    )


def _leftovers(served: _Served, action: str) -> dict[str, int]:
    """Run ``bench/apps/service_leftovers.py ACTION`` in the project's virtualenv."""
    output = run(
        [str(served.project.python), str(APPS_DIR / "service_leftovers.py"), action],
        cwd=served.project.root,
        env={**served.env, "BENCH_PACKAGE": served.project.package},
        timeout=LEFTOVERS_TIMEOUT_SECONDS,
    )
    outcome: dict[str, int] = json.loads(output.strip().splitlines()[-1])
    return outcome


def _delete_leftovers(served: dict[str, _Served]) -> None:
    """Delete the job queues and Redis keys of the run's projects, even after a failure.

    Best effort (a warning, not an error): the servers are stopped by now, and every key
    expires by itself anyway; the queues do not.
    """
    done: set[str] = set()
    for name, owner in served.items():
        project = owner.project
        uses_stores = project.rate_limiting or project.cache or project.background_jobs != "none"
        if not uses_stores or str(project.root) in done:
            continue
        done.add(str(project.root))
        try:
            _leftovers(owner, "delete")
        except (StepError, ValueError) as error:
            print(f"warning: could not delete the queues and keys of {name}: {error}")


def _count_lines(path: Path, *, containing: bytes = b"") -> int:
    with path.open("rb") as handle:
        return sum(1 for line in handle if containing in line)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _owner(server: str) -> str:
    """Name the served project a server runs: its own, or the service's.

    The options-off and everything-on servers run their own projects; the large and the
    middleware variants run the service's. The bare apps run in the service's virtualenv
    too (same FastAPI, uvicorn, asyncpg).
    """
    return server if server in {SERVICE_OFF, SERVICE_ALL, SERVICE_TRACED} else SERVICE


def _server_argv(
    project: Project, server: str, databases: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """Build the uvicorn command line and extra environment of one server.

    Every server gets the uvicorn options of the generated Dockerfile, so the bare apps
    run under the same server settings as the service.
    """
    app_target, *options = project.serve_args
    options = [option for option in options if option != "--factory"]
    uvicorn = [str(project.python), "-m", "uvicorn"]
    apps = ["--app-dir", str(APPS_DIR)]
    if server in {SERVICE, SERVICE_OFF, SERVICE_ALL, SERVICE_TRACED}:
        return [*uvicorn, app_target, "--factory", *options], {}
    if server == SERVICE_LARGE:
        database_name = {f"{project.env_prefix}DB_NAME": databases[SERVICE_LARGE]}
        return [*uvicorn, app_target, "--factory", *options], database_name
    if server == BARE_FASTAPI:
        return [*uvicorn, "bare_apps:fastapi_app", *apps, *options], {}
    if server == BARE_STARLETTE:
        return [*uvicorn, "bare_apps:starlette_app", *apps, *options], {}
    if server == BARE_ASYNCPG:
        database = databases[SERVICE]
        return [*uvicorn, "bare_apps:asyncpg_app", *apps, *options], {"BENCH_DB_NAME": database}
    drop = "*" if server == NO_MIDDLEWARE else server.removeprefix("without ")
    extra = {"BENCH_DROP_MIDDLEWARE": drop, "BENCH_PACKAGE": project.package}
    return [*uvicorn, "variant_app:create_app", "--factory", *apps, *options], extra


@contextlib.contextmanager
def _servers(
    served: dict[str, _Served],
    workdir: Path,
    plan: list[Scenario],
    databases: dict[str, str],
) -> Iterator[dict[str, Server]]:
    """Start one uvicorn per server named in the plan; stop them all on the way out.

    All servers run for the whole benchmark so that repetitions can alternate between
    them; an idle server costs no CPU.
    """
    servers: dict[str, Server] = {}
    try:
        for name in dict.fromkeys(scenario.server for scenario in plan):
            owner = served[_owner(name)]
            argv, extra = _server_argv(owner.project, name, databases)
            port = _free_port()
            server = Server(
                name,
                [*argv, "--host", "127.0.0.1", "--port", str(port)],
                port=port,
                cwd=owner.project.root,
                env={**owner.env, **extra},
                # The service's JSON access log goes here: on, as shipped, but off screen.
                log_path=workdir / f"{name}.log",
            )
            servers[name] = server
            server.start(ready_path="/health", timeout=SERVER_START_TIMEOUT_SECONDS)
        yield servers
    finally:
        _stop_all(servers.values())


def _stop_all(servers: Iterable[Server]) -> None:
    """Stop every server, even when another Ctrl-C or SIGTERM arrives meanwhile.

    A second signal used to cut this loop short and leave servers running; each stop is
    bounded (SIGKILL after a grace period), so holding signals back here is safe.
    """
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in held}
    try:
        for server in servers:
            server.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _load_all(
    plan: list[Scenario],
    servers: dict[str, Server],
    settings: LoadSettings,
    workdir: Path,
    postgres: Postgres,
    databases: dict[str, str],
    served: dict[str, _Served],
    jobs: _JobsLeft,
) -> tuple[Counter[str], list[ScenarioResult]]:
    """Run every scenario ``reps`` times, reversing the order on every other repetition.

    Also returns how many requests each server answered to wrk, warm-ups included.
    """
    sent: Counter[str] = Counter()
    results = {
        (scenario.key, conns): ScenarioResult(scenario, conns)
        for scenario in plan
        for conns in scenario.connections
    }
    steps = list(results.values())
    # Warm every endpoint once (imports, pools, caches) before anything is measured.
    for step in steps:
        if step.connections == max(step.scenario.connections):
            warm = _wrk(
                step.scenario,
                step.connections,
                settings.warmup_seconds * 3,
                servers,
                workdir,
                _api_headers(step.scenario, served),
                tag="warm-up",
            )
            sent[step.scenario.server] += warm.requests
            _after(step.scenario, postgres, databases, served, jobs, warm.requests)
    for rep in range(settings.reps):
        for step in steps if rep % 2 == 0 else reversed(steps):
            scenario = step.scenario
            headers = _api_headers(scenario, served)
            warm = _wrk(
                scenario,
                step.connections,
                settings.warmup_seconds,
                servers,
                workdir,
                headers,
                tag=f"w{rep}",
            )
            cached = _reads_through_cache(scenario, served)
            if cached is not None:
                # Every measured run starts from an empty cache, so its hits are its own.
                _leftovers(cached, "clear-cache")
            measured = _wrk(
                scenario,
                step.connections,
                settings.duration_seconds,
                servers,
                workdir,
                headers,
                tag=f"r{rep}",
            )
            if cached is not None:
                # One key per item read: every key is a read that missed.
                misses = _leftovers(cached, "count-cache")["keys"]
                hits = max(0.0, 1 - misses / max(measured.requests, 1))
                measured = dataclasses.replace(measured, cache_hit_ratio=hits)
            step.runs.append(measured)
            answered = warm.requests + measured.requests
            sent[scenario.server] += answered
            _after(scenario, postgres, databases, served, jobs, answered)
            print(
                f"  rep {rep + 1}/{settings.reps} {scenario.server:<32} {scenario.label:<40} "
                f"c{step.connections:<3} {step.runs[-1].rps:8.0f} req/s "
                f"p99 {step.runs[-1].p99_ms:7.1f} ms",
                flush=True,
            )
    return sent, steps


def _api_headers(scenario: Scenario, served: dict[str, _Served]) -> dict[str, str]:
    """Return the headers wrk sends: authentication, to the generated services' API only.

    The bare apps and /health need none, and sending one would add parsing to them.
    """
    if scenario.server not in API_SERVERS:
        return {}
    if not scenario.path.startswith(API_PREFIX):
        return {}
    return served[_owner(scenario.server)].headers


def _after(
    scenario: Scenario,
    postgres: Postgres,
    databases: dict[str, str],
    served: dict[str, _Served],
    jobs: _JobsLeft,
    requests: int,
) -> None:
    """Remove what a POST run left: its rows, and the jobs they sent (no worker runs)."""
    if not scenario.posts:
        return
    delete_posted_items(postgres, databases[scenario.server], POST_PREFIX)
    owner = served[_owner(scenario.server)]
    if owner.project.background_jobs != "none":
        jobs.posts += requests
        jobs.queued += _leftovers(owner, "purge-jobs")["purged"]


def _reads_through_cache(scenario: Scenario, served: dict[str, _Served]) -> _Served | None:
    """Return the served project whose cache a scenario reads through, if it does."""
    owner = served.get(scenario.server)
    if owner is None or not owner.project.cache or scenario.script != "get_by_id.lua":
        return None
    return owner


def _wrk(
    scenario: Scenario,
    connections: int,
    seconds: int,
    servers: dict[str, Server],
    workdir: Path,
    headers: dict[str, str],
    *,
    tag: str,
) -> LoadRun:
    """Run wrk once and collect its result with the server's RSS and CPU figures."""
    server = servers[scenario.server]
    script = workdir / f"{Path(scenario.script).stem}.lua"
    if not script.exists():
        common = (LUA_DIR / "common.lua").read_text()
        script.write_text(common + "\n" + (LUA_DIR / scenario.script).read_text())
    args = list(scenario.args)
    if scenario.posts:
        # A prefix per wrk run keeps names unique across runs and warm-ups.
        args = [f"{POST_PREFIX}-{tag}-c{connections}"]
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    argv = [
        "wrk",
        f"-t{WRK_THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(script),
        *header_args,
        server.base_url + scenario.path,
        "--",
        *args,
    ]
    busy_before, server_before, stores_before = (
        busy_cpu_seconds(),
        server.cpu_seconds(),
        _store_cpu_seconds(),
    )
    measured = run_measured(argv, timeout=seconds + 60)
    busy = busy_cpu_seconds() - busy_before
    server_cpu = server.cpu_seconds() - server_before
    postgres_cpu, redis_cpu, rabbitmq_cpu = (
        after - before for after, before in zip(_store_cpu_seconds(), stores_before, strict=True)
    )
    fields = _parse_result(measured.output)
    requests = max(fields["requests"], 1)
    elapsed = fields["duration_us"] / 1e6
    stores_cpu = postgres_cpu + redis_cpu + rabbitmq_cpu
    background = busy - server_cpu - stores_cpu - measured.cpu_seconds
    return LoadRun(
        requests=fields["requests"],
        seconds=elapsed,
        p50_ms=fields["p50_us"] / 1000,
        p99_ms=fields["p99_us"] / 1000,
        max_ms=fields["max_us"] / 1000,
        status_errors=fields["status"],
        socket_errors=sum(fields[kind] for kind in ("connect", "read", "write", "timeout")),
        rss_kib=server.rss_kib(),
        server_cpu_us=server_cpu / requests * 1e6,
        postgres_cpu_us=postgres_cpu / requests * 1e6,
        redis_cpu_us=redis_cpu / requests * 1e6,
        rabbitmq_cpu_us=rabbitmq_cpu / requests * 1e6,
        background_cpu_percent=max(background, 0.0) / elapsed * 100,
    )


def _parse_result(output: str) -> dict[str, int]:
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            pairs = (item.split("=", 1) for item in line.split()[1:])
            return {key: int(value) for key, value in pairs}
    raise StepError(f"wrk printed no result:\n{output[-2000:]}")


def _store_cpu_seconds() -> tuple[float, float, float]:
    """CPU time so far of every PostgreSQL, Redis server and RabbitMQ (Erlang VM) process.

    A backend that exits takes its counters with it, but the postmaster collects them
    when it reaps the backend (cutime/cstime), so the sum stays monotonic (the same holds
    for Redis's save children). One pass over /proc for all: each pass costs CPU too.
    """
    ticks = {"postgres": 0, "redis-server": 0, "beam.smp": 0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            comm, rest = stat.read_text().split(" (", 1)[1].rsplit(") ", 1)
            for name in ticks:
                if comm.startswith(name):
                    # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after comm.
                    ticks[name] += sum(int(value) for value in rest.split()[11:15])
                    break
    per_second = os.sysconf("SC_CLK_TCK")
    return (
        ticks["postgres"] / per_second,
        ticks["redis-server"] / per_second,
        ticks["beam.smp"] / per_second,
    )
