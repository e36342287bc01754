"""Parts 2 and 3: the generated service under wrk, next to bare FastAPI and Starlette.

The service is the default project (authentication and rate limiting on); a second
project generated with those options off is served next to it, so that what they cost
per request can be read off directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from svcbench.db import Postgres, delete_posted_items, insert_items, seed_items
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
#: The project generated with OPTIONS_OFF: the same service without authentication and
#: rate limiting.
SERVICE_OFF = "service, options off"
BARE_FASTAPI = "bare FastAPI"
BARE_STARLETTE = "bare Starlette"
BARE_ASYNCPG = "bare FastAPI + asyncpg"
NO_MIDDLEWARE = "no middleware"


#: The answers (``svcforge new --data``) of the project served as SERVICE_OFF.
OPTIONS_OFF = {"auth": "none", "rate_limiting": "false"}
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


def settings_env(project: Project) -> dict[str, str]:
    """Return the settings the benchmark gives every server of ``project`` (prefixed).

    Only settings of the options the project was generated with: with ``rate_limiting``,
    limits no run reaches (BENCH_RATE_LIMIT) under a Redis key prefix of this run alone
    (the Redis is shared with other users); with ``auth=jwt``, a token lifetime longer
    than any run.
    """
    prefix = project.env_prefix
    env: dict[str, str] = {}
    if project.rate_limiting:
        env |= {f"{prefix}{name}": BENCH_RATE_LIMIT for name in RATE_LIMIT_SETTINGS}
        env[f"{prefix}RATE_LIMIT_KEY_PREFIX"] = f"svcforge-bench-{uuid.uuid4().hex[:10]}"
    if project.auth == "jwt":
        env[f"{prefix}ACCESS_TOKEN_TTL_SECONDS"] = str(BENCH_TOKEN_TTL_SECONDS)
    return env


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
    #: CPU microseconds per request used by the server, by PostgreSQL and by Redis (the
    #: rate limits' counters; Redis is shared, so other users' commands count too).
    server_cpu_us: float
    postgres_cpu_us: float
    redis_cpu_us: float
    #: CPU the rest of the machine used during the run, in % of one core (noise).
    background_cpu_percent: float

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
    #: the per-run Redis key prefix.
    settings_overrides: dict[str, str]

    def get(self, key: str, connections: int) -> ScenarioResult:
        """Return the result of a scenario at a concurrency."""
        for result in self.results:
            if result.scenario.key == key and result.connections == connections:
                return result
        raise KeyError((key, connections))


def scenarios(
    middleware: list[str], ids_file: Path, ids_file_off: Path, settings: LoadSettings
) -> list[Scenario]:
    """Every load scenario, in the order one repetition runs them.

    ``ids_file`` lists the items of the service's database, ``ids_file_off`` those of the
    database of the service with its options off.
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
    """A generated project as the benchmark serves it."""

    project: Project
    #: The environment of its servers: the database to use and ``settings_env``.
    env: dict[str, str]
    #: What wrk sends with every request to its API (``auth_headers``).
    headers: dict[str, str]


def measure_serving(
    *,
    project: Project,
    options_off: Project,
    postgres: Postgres,
    settings: LoadSettings,
    workdir: Path,
    env: dict[str, str],
) -> ServingResult:
    """Seed the databases, start every server, load each scenario, and stop everything.

    ``project`` is the service (the default answers); ``options_off`` the same service
    generated with OPTIONS_OFF, served as SERVICE_OFF on a database of its own, migrated
    by its own migrations and seeded like the service's.
    """
    overrides = settings_env(project)
    overrides_off = settings_env(options_off)
    # Before anything is created: an unsupported auth answer fails here, at once.
    headers = auth_headers(project, {**env, **overrides})
    headers_off = auth_headers(options_off, {**env, **overrides_off})
    with (
        postgres.temporary_database("svcforge_bench") as database,
        postgres.temporary_database("svcforge_bench_large") as large_database,
        postgres.temporary_database("svcforge_bench_off") as off_database,
    ):
        for owner, name in [(project, database), (project, large_database)]:
            _migrate(owner, name, env)
        _migrate(options_off, off_database, env)
        ids_file = workdir / "item_ids.txt"
        ids_file.write_text("\n".join(seed_items(postgres, database, SEED_ROWS)) + "\n")
        ids_file_off = workdir / "item_ids_off.txt"
        ids_file_off.write_text("\n".join(seed_items(postgres, off_database, SEED_ROWS)) + "\n")
        insert_items(postgres, large_database, LARGE_ROWS)
        plan = scenarios(project.middleware, ids_file, ids_file_off, settings)
        databases = {SERVICE: database, SERVICE_LARGE: large_database, SERVICE_OFF: off_database}
        served = {
            SERVICE: _Served(
                project, {**env, f"{project.env_prefix}DB_NAME": database, **overrides}, headers
            ),
            SERVICE_OFF: _Served(
                options_off,
                {**env, f"{options_off.env_prefix}DB_NAME": off_database, **overrides_off},
                headers_off,
            ),
        }
        with _servers(served, workdir, plan, databases) as servers:
            # A misconfigured run (401s, or a Redis that is not counting) fails here,
            # not after minutes of load.
            for name in (SERVICE, SERVICE_OFF):
                _check_api(servers[name], served[name])
            results = _load_all(plan, servers, settings, workdir, postgres, databases, served)
            log_lines = _count_lines(workdir / f"{SERVICE}.log")
        shown = {k: v for k, v in overrides.items() if not k.endswith("RATE_LIMIT_KEY_PREFIX")}
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
            settings_overrides=shown,
        )


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


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _owner(server: str) -> str:
    """Name the generated project a server runs: SERVICE_OFF's own, or the service's.

    The bare apps run in the service's virtualenv too (same FastAPI, uvicorn, asyncpg).
    """
    return SERVICE_OFF if server == SERVICE_OFF else SERVICE


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
    if server in {SERVICE, SERVICE_OFF}:
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
) -> list[ScenarioResult]:
    """Run every scenario ``reps`` times, reversing the order on every other repetition."""
    results = {
        (scenario.key, conns): ScenarioResult(scenario, conns)
        for scenario in plan
        for conns in scenario.connections
    }
    steps = list(results.values())
    # Warm every endpoint once (imports, pools, caches) before anything is measured.
    for step in steps:
        if step.connections == max(step.scenario.connections):
            _wrk(
                step.scenario,
                step.connections,
                settings.warmup_seconds * 3,
                servers,
                workdir,
                _api_headers(step.scenario, served),
                tag="warm-up",
            )
            _after(step.scenario, postgres, databases)
    for rep in range(settings.reps):
        for step in steps if rep % 2 == 0 else reversed(steps):
            scenario = step.scenario
            headers = _api_headers(scenario, served)
            _wrk(
                scenario,
                step.connections,
                settings.warmup_seconds,
                servers,
                workdir,
                headers,
                tag=f"w{rep}",
            )
            step.runs.append(
                _wrk(
                    scenario,
                    step.connections,
                    settings.duration_seconds,
                    servers,
                    workdir,
                    headers,
                    tag=f"r{rep}",
                )
            )
            _after(scenario, postgres, databases)
            print(
                f"  rep {rep + 1}/{settings.reps} {scenario.server:<32} {scenario.label:<40} "
                f"c{step.connections:<3} {step.runs[-1].rps:8.0f} req/s "
                f"p99 {step.runs[-1].p99_ms:7.1f} ms",
                flush=True,
            )
    return steps


def _api_headers(scenario: Scenario, served: dict[str, _Served]) -> dict[str, str]:
    """Return the headers wrk sends: authentication, to the generated services' API only.

    The bare apps and /health need none, and sending one would add parsing to them.
    """
    if scenario.server not in {SERVICE, SERVICE_LARGE, SERVICE_OFF}:
        return {}
    if not scenario.path.startswith(API_PREFIX):
        return {}
    return served[_owner(scenario.server)].headers


def _after(scenario: Scenario, postgres: Postgres, databases: dict[str, str]) -> None:
    if scenario.posts:
        delete_posted_items(postgres, databases[scenario.server], POST_PREFIX)


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
    busy_before, server_before, (postgres_before, redis_before) = (
        busy_cpu_seconds(),
        server.cpu_seconds(),
        _store_cpu_seconds(),
    )
    measured = run_measured(argv, timeout=seconds + 60)
    busy = busy_cpu_seconds() - busy_before
    server_cpu = server.cpu_seconds() - server_before
    postgres_after, redis_after = _store_cpu_seconds()
    postgres_cpu = postgres_after - postgres_before
    redis_cpu = redis_after - redis_before
    fields = _parse_result(measured.output)
    requests = max(fields["requests"], 1)
    elapsed = fields["duration_us"] / 1e6
    background = busy - server_cpu - postgres_cpu - redis_cpu - measured.cpu_seconds
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
        background_cpu_percent=max(background, 0.0) / elapsed * 100,
    )


def _parse_result(output: str) -> dict[str, int]:
    for line in output.splitlines():
        if line.startswith("BENCH_RESULT "):
            pairs = (item.split("=", 1) for item in line.split()[1:])
            return {key: int(value) for key, value in pairs}
    raise StepError(f"wrk printed no result:\n{output[-2000:]}")


def _store_cpu_seconds() -> tuple[float, float]:
    """CPU time so far of every PostgreSQL process and of every Redis server process.

    A backend that exits takes its counters with it, but the postmaster collects them
    when it reaps the backend (cutime/cstime), so the sum stays monotonic (the same holds
    for Redis's save children). One pass over /proc for both: each pass costs CPU too.
    """
    postgres_ticks = redis_ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            comm, rest = stat.read_text().split(" (", 1)[1].rsplit(") ", 1)
            # utime, stime, cutime, cstime: fields 14-17 of proc(5), 12-15 after comm.
            if comm.startswith("postgres"):
                postgres_ticks += sum(int(value) for value in rest.split()[11:15])
            elif comm.startswith("redis-server"):
                redis_ticks += sum(int(value) for value in rest.split()[11:15])
    per_second = os.sysconf("SC_CLK_TCK")
    return postgres_ticks / per_second, redis_ticks / per_second
