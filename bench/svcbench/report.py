"""Figures as Markdown tables, the targets of the benchmark issue, and docs/benchmarks.md."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from svcbench.generation import GenerationResult, RenderProfile, ToolRuns
from svcbench.serving import (
    BARE_FASTAPI,
    LARGE_CONNECTIONS,
    LARGE_ROWS,
    NO_MIDDLEWARE,
    OPTIONS_ALL,
    OPTIONS_OFF,
    SEED_ROWS,
    SERVICE,
    SERVICE_ALL,
    SERVICE_OFF,
    SERVICE_TRACED,
    ScenarioResult,
    ServingResult,
)
from svcbench.testsuite import TestSuiteResult
from svcbench.updating import UpdateResult

BEGIN_MARKER = "<!-- bench/run.py: generated figures begin -->"
END_MARKER = "<!-- bench/run.py: generated figures end -->"

HEALTH_RATIO_TARGET = 0.8
P99_TARGET_MS = 100.0
GET_RPS_TARGET = 2000.0
#: Issue 9: GET by id at 8 connections against the FastAPI + asyncpg floor.
GET_RATIO_TARGET = 0.5
POST_P99_TARGET_MS = 150.0
GENERATION_OVERHEAD_TARGET = 1.10
TEST_SUITE_TARGET_SECONDS = 15.0
UPDATE_OVERHEAD_TARGET = 1.20


@dataclass(frozen=True)
class Target:
    """One target of the issue and how this run did against it."""

    name: str
    goal: str
    measured: str
    met: bool


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Format a Markdown table (numeric columns right-aligned)."""
    cells = [[str(cell) for cell in row] for row in rows]
    numeric = [
        all(_is_number(row[index]) for row in cells) if cells else False
        for index in range(len(header))
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if is_numeric else "---" for is_numeric in numeric) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def _is_number(text: str) -> bool:
    try:
        float(text.rstrip("x%").replace(",", ""))
    except ValueError:
        return False
    return True


def evaluate_targets(
    generation: GenerationResult | None,
    serving: ServingResult | None,
    tests: TestSuiteResult | None,
    update: UpdateResult | None = None,
) -> list[Target]:
    """Compare the run with the issue's targets (ratios within this one run)."""
    targets: list[Target] = []
    if serving is not None:
        targets += _serving_targets(serving)
    if generation is not None:
        ratio = generation.median("svcforge") / generation.median("copier")
        targets.append(
            Target(
                "Generation: svcforge new vs copier copy (median wall time)",
                f"<= {GENERATION_OVERHEAD_TARGET:.2f}x",
                f"{ratio:.2f}x ({generation.median('svcforge'):.2f} s vs "
                f"{generation.median('copier'):.2f} s)",
                ratio <= GENERATION_OVERHEAD_TARGET,
            )
        )
    if tests is not None:
        targets.append(
            Target(
                "Generated test suite (median wall time of `uv run pytest`)",
                f"< {TEST_SUITE_TARGET_SECONDS:.0f} s",
                f"{tests.median:.1f} s",
                tests.median < TEST_SUITE_TARGET_SECONDS,
            )
        )
    if update is not None:
        ratio = update.median("svcforge") / update.median("copier")
        targets.append(
            Target(
                "Update: svcforge update --no-lock vs copier update (median wall time)",
                f"<= {UPDATE_OVERHEAD_TARGET:.2f}x",
                f"{ratio:.2f}x ({update.median('svcforge'):.2f} s vs "
                f"{update.median('copier'):.2f} s)"
                + ("" if update.same_output else "; the results **DIFFER**"),
                ratio <= UPDATE_OVERHEAD_TARGET and update.same_output,
            )
        )
    return targets


def api_options(serving: ServingResult) -> str:
    """Say how the service's API was called, e.g. "jwt + rate limiting"."""
    options = [] if serving.auth == "none" else [serving.auth]
    if serving.rate_limiting:
        options.append("rate limiting")
    return " + ".join(options) or "unauthenticated, no rate limiting"


def _serving_targets(serving: ServingResult) -> list[Target]:
    targets = []
    options = api_options(serving)
    for conns in serving.settings.connections:
        ratio = serving.get("health", conns).rps / serving.get("fastapi", conns).rps
        targets.append(
            Target(
                f"/health, full middleware stack, vs bare FastAPI, {conns} connections",
                f">= {HEALTH_RATIO_TARGET}x",
                f"{ratio:.2f}x",
                ratio >= HEALTH_RATIO_TARGET,
            )
        )
    for conns in serving.settings.connections:
        result = serving.get("get", conns)
        p99 = result.median(lambda run: run.p99_ms)
        targets.append(
            Target(
                f"GET by id ({options}), {conns} connections",
                f"0 errors, p99 < {P99_TARGET_MS:.0f} ms, >= {GET_RPS_TARGET:.0f} req/s",
                f"{result.errors} errors, p99 {p99:.1f} ms, {result.rps:.0f} req/s",
                result.errors == 0 and p99 < P99_TARGET_MS and result.rps >= GET_RPS_TARGET,
            )
        )
    get_ratio = serving.get("get", 8).rps / serving.get("asyncpg-get", 8).rps
    targets.append(
        Target(
            f"GET by id ({options}) vs bare FastAPI + asyncpg, 8 connections",
            f">= {GET_RATIO_TARGET}x",
            f"{get_ratio:.2f}x",
            get_ratio >= GET_RATIO_TARGET,
        )
    )
    for conns in serving.settings.connections:
        result = serving.get("list", conns)
        p99 = result.median(lambda run: run.p99_ms)
        targets.append(
            Target(
                f"List page, {conns} connections",
                f"p99 < {P99_TARGET_MS:.0f} ms",
                f"p99 {p99:.1f} ms ({result.rps:.0f} req/s, {result.errors} errors)",
                p99 < P99_TARGET_MS and result.errors == 0,
            )
        )
    post = serving.get("post", max(serving.settings.connections))
    post_p99 = post.median(lambda run: run.p99_ms)
    targets.append(
        Target(
            f"POST, {max(serving.settings.connections)} connections",
            f"0 errors, p99 < {POST_P99_TARGET_MS:.0f} ms",
            f"{post.errors} errors, p99 {post_p99:.1f} ms ({post.rps:.0f} req/s)",
            post.errors == 0 and post_p99 < POST_P99_TARGET_MS,
        )
    )
    for key, name in [("list-1m", "List page"), ("list-1m-filter", "Filtered list page")]:
        for conns in LARGE_CONNECTIONS:
            result = serving.get(key, conns)
            p99 = result.median(lambda run: run.p99_ms)
            targets.append(
                Target(
                    f"{name} at {LARGE_ROWS:,} rows, {conns} connections",
                    f"p99 < {P99_TARGET_MS:.0f} ms",
                    f"p99 {p99:.1f} ms ({result.rps:.0f} req/s, {result.errors} errors)",
                    p99 < P99_TARGET_MS and result.errors == 0,
                )
            )
    return targets


def targets_table(targets: Sequence[Target]) -> str:
    """Format the targets as a Markdown table."""
    rows = [(t.name, t.goal, t.measured, "met" if t.met else "**MISSED**") for t in targets]
    return table(("target", "goal", "this run", "status"), rows)


def _profile_tables(profile: RenderProfile) -> tuple[str, str]:
    """Return the cumulative markers and the top own-time lines of a profile as tables."""
    markers = table(
        ("where the time goes (cumulative)", "calls", "seconds", "share"),
        [
            (m.label, m.calls, f"{m.seconds:.3f}", f"{m.seconds / profile.total_seconds:.0%}")
            for m in profile.markers
        ],
    )
    own = table(
        ("top own time", "calls", "seconds"),
        [(f"`{line.label}`", line.calls, f"{line.seconds:.3f}") for line in profile.top_own_time],
    )
    return markers, own


def generation_section(result: GenerationResult) -> str:
    """Part 1 as Markdown."""
    rows = []
    for name, tool in result.tools.items():
        seconds, peak = tool.seconds, tool.peak_mib
        rows.append(
            (
                name,
                len(seconds),
                f"{min(seconds):.2f}",
                f"{statistics.median(seconds):.2f}",
                f"{max(seconds):.2f}",
                f"{statistics.median(peak):.0f}",
                f"{max(peak):.0f}",
                result.files[name],
                f"{result.startup_seconds[name]:.2f}",
            )
        )
    header = (
        "command",
        "runs",
        "min s",
        "median s",
        "max s",
        "peak RSS median MiB",
        "peak RSS max MiB",
        "files",
        "`--version` s",
    )
    ratio = result.median("svcforge") / result.median("copier")
    profile = result.profile
    markers, own = _profile_tables(profile)
    commands = "\n".join(f"    {tool.command}" for tool in result.tools.values())
    same = "identical" if result.same_output else "**DIFFERENT**"
    summary = (
        f"svcforge / copier (median): **{ratio:.2f}x**. Output of the two commands: "
        f"{same} (ignoring the template commit id Copier records). Peak RSS is the "
        "generating process's own (`os.wait4`), not its git children's. `--version` "
        "is the start-up (import) cost of each CLI alone."
    )
    how = (
        "Commands (alternating, after one untimed warm-up of each; svcforge with "
        f"`SVCFORGE_TEMPLATE=<repo> SVCFORGE_TEMPLATE_REF=HEAD`):\n\n{commands}"
    )
    profiled = (
        f"Profile of one render (`{profile.command}`), "
        f"{profile.total_seconds:.2f} s under cProfile:"
    )
    return "\n\n".join(
        ["## 1. Generation", table(header, rows), summary, how, profiled, markers, own]
    )


def serving_section(result: ServingResult) -> str:
    """Parts 2 and 3 as Markdown."""
    method = (
        f"Each row: median of {result.settings.reps} runs of "
        f"{result.settings.duration_seconds} s (after a {result.settings.warmup_seconds} s "
        "warm-up each), alternating between all rows, order reversed every other "
        "repetition. Errors: non-2xx/3xx answers plus socket errors and timeouts "
        "(> 2 s), summed over all runs. RSS: largest VmRSS of the server after a run. "
        "CPU columns: CPU time per request of the server process (all its threads), of "
        "all PostgreSQL processes, and of everything else on the machine during the run "
        "(the benchmark's noise: other jobs sharing the 2 cores; wrk, Redis and RabbitMQ "
        "not included), in % of one core."
    )
    options = api_options(result)
    reference = (
        "`vs reference`: requests/s as a ratio to bare FastAPI for `/health`, and to "
        "`bare FastAPI + asyncpg` (one `fetchrow` per request, same pool size, no ORM, no "
        "middleware: the floor of this stack on this machine) for the GET by id. The "
        f"service's GET by id includes what the floor does not have ({options}); its "
        f"target is unchanged. The `{SERVICE_OFF}` rows show the same service with every "
        f"option off, the `{SERVICE_ALL}` rows with every option on (see below)."
    )
    main = _serving_table([r for r in result.results if not r.scenario.breakdown], result)
    options_cost = "### Cost of the options\n\n" + _options_table(result)
    observability = "### Cost of metrics and tracing\n\n" + _observability_table(result)
    breakdown = "## 3. Per-middleware cost of /health\n\n" + _breakdown_table(result)
    return "\n\n".join(
        [
            "## 2. Serving",
            main,
            method,
            reference,
            _api_paragraph(result),
            options_cost,
            observability,
            breakdown,
        ]
    )


def _api_paragraph(result: ServingResult) -> str:
    """How the service's API was called: credentials, rate limits, settings given."""
    sentences = []
    if result.auth == "jwt":
        sentences.append(
            "Every request to the service's `/api/v1` carries `Authorization: Bearer <token>`: "
            "one HS256 JWT for an admin principal, issued before the load by the generated "
            "project's own `AccessTokens` (`auth_headers()` in `bench/svcbench/serving.py`) "
            "and checked by the service on every request (signature and claims, no database)."
        )
    elif result.auth == "none":
        sentences.append("The service's API is unauthenticated (`auth=none`).")
    else:
        sentences.append(f"The service's API is called with `auth={result.auth}`.")
    if result.rate_limiting:
        limits = "per client address (`RateLimitMiddleware`)"
        if result.auth != "none":
            limits += " and per principal (after authentication)"
        sentences.append(
            f"Every such request is also counted in Redis {limits}. wrk sends everything "
            "from one address with one token, so the shipped limits (100/minute per address) "
            "would refuse almost all of it with 429: the benchmark sets every limit far above "
            "any rate reached here, so **every request is counted and none is refused**: the "
            "figures are the cost of counting, not of rejections."
        )
    if result.settings_overrides:
        given = ", ".join(f"`{name}={value}`" for name, value in result.settings_overrides.items())
        extra = " and a Redis key prefix of the run's own" if result.rate_limiting else ""
        sentences.append(f"Settings the benchmark gives the service: {given}{extra}.")
    sentences.append(
        f"The service wrote {result.access_log_lines:,} JSON access-log lines to a file "
        "during the run (access log on, as shipped)."
    )
    return " ".join(sentences)


def _options_table(serving: ServingResult) -> str:
    """Defaults vs options off for GET by id and POST, and the CPU the options cost."""
    rows = []
    for key, label in [("get", "GET by id"), ("post", "POST")]:
        for conns in serving.settings.connections:
            on, off = serving.get(key, conns), serving.get(f"{key}-off", conns)
            cpu_on = on.median(lambda run: run.server_cpu_us)
            cpu_off = off.median(lambda run: run.server_cpu_us)
            rows.append(
                (
                    label,
                    conns,
                    f"{on.rps:,.0f}",
                    f"{off.rps:,.0f}",
                    f"{on.median(lambda run: run.p99_ms):.1f}",
                    f"{off.median(lambda run: run.p99_ms):.1f}",
                    f"{cpu_on:.0f}",
                    f"{cpu_off:.0f}",
                    f"{cpu_on - cpu_off:+.0f}",
                    f"{on.median(lambda run: run.redis_cpu_us):.0f}",
                )
            )
    header = (
        "request",
        "conns",
        "req/s defaults",
        "req/s off",
        "p99 ms defaults",
        "p99 ms off",
        "server CPU µs/req defaults",
        "server CPU µs/req off",
        "difference µs/req",
        "Redis CPU µs/req defaults",
    )
    answers = " ".join(f"--data {key}={value}" for key, value in OPTIONS_OFF.items())
    metrics = " and metrics" if "MetricsMiddleware" in serving.middleware else ""
    note = (
        f"`defaults`: the `{SERVICE}` rows above ({api_options(serving)}{metrics}). `off`: "
        f"the `{SERVICE_OFF}` rows, the same template generated with `svcforge new "
        f"--defaults {answers}`, served the same way on a database of its own, seeded with "
        "the same rows. `difference`: server CPU per request of the defaults minus that of "
        "`off`, what the options cost the service process (checking the token, two Redis "
        "round trips per limit, recording the request's metrics; the time a request waits "
        "for Redis costs latency, not server CPU). Redis's own CPU for the counting is the "
        "last column (the Redis is shared, so other users' commands count too). CPU per "
        "request is less noisy than req/s."
    )
    return table(header, rows) + "\n\n" + note


#: The rows of the metrics-and-tracing table: label and scenario key suffix.
_VARIANTS = (
    ("defaults", ""),
    ("everything on, tracing off", "-all"),
    ("everything on, tracing on", "-traced"),
    ("options off", "-off"),
)


def _observability_table(serving: ServingResult) -> str:
    """Defaults, everything on (tracing off and on) and options off, side by side."""
    rows = []
    for key, label in [("get", "GET by id"), ("post", "POST")]:
        for conns in serving.settings.connections:
            defaults = serving.get(key, conns)
            cpu_defaults = defaults.median(lambda run: run.server_cpu_us)
            for variant, suffix in _VARIANTS:
                result = serving.get(f"{key}{suffix}", conns)
                cpu = result.median(lambda run: run.server_cpu_us)
                rows.append(
                    (
                        label,
                        conns,
                        variant,
                        f"{result.rps:,.0f}",
                        f"{result.rps / defaults.rps:.2f}x",
                        f"{result.median(lambda run: run.p50_ms):.1f}",
                        f"{result.median(lambda run: run.p99_ms):.1f}",
                        f"{cpu:.0f}",
                        "" if result is defaults else f"{cpu - cpu_defaults:+.0f}",
                        f"{result.median(lambda run: run.postgres_cpu_us):.0f}",
                        f"{result.median(lambda run: run.redis_cpu_us):.0f}",
                        f"{result.median(lambda run: run.rabbitmq_cpu_us):.0f}",
                        _cache_hits(result),
                        result.errors,
                    )
                )
    header = (
        "request",
        "conns",
        "served",
        "req/s",
        "vs defaults",
        "p50 ms",
        "p99 ms",
        "server CPU µs/req",
        "vs defaults µs/req",
        "PostgreSQL CPU µs/req",
        "Redis CPU µs/req",
        "RabbitMQ CPU µs/req",
        "cache hits",
        "errors",
    )
    return table(header, rows) + "\n\n" + _observability_note(serving)


def _cache_hits(result: ScenarioResult) -> str:
    """Median share of a scenario's reads the cache answered, or "" without a cache."""
    ratios = [run.cache_hit_ratio for run in result.runs if run.cache_hit_ratio is not None]
    return f"{statistics.median(ratios):.0%}" if ratios else ""


def _observability_note(serving: ServingResult) -> str:
    """Say what differs between the rows of the metrics-and-tracing table; the exports."""
    everything = serving.everything_on
    answers = " ".join(f"--data {key}={value}" for key, value in OPTIONS_ALL.items())
    given = ", ".join(f"`{name}={value}`" for name, value in everything.settings_overrides.items())
    tracing = ", ".join(f"`{name}={value}`" for name, value in everything.tracing_overrides.items())
    conns = min(serving.settings.connections)
    tracing_costs = []
    for key, label in [("get", "GET by id"), ("post", "POST")]:
        off, on = serving.get(f"{key}-all", conns), serving.get(f"{key}-traced", conns)
        cpu = on.median(lambda run: run.server_cpu_us) - off.median(lambda run: run.server_cpu_us)
        tracing_costs.append(f"{cpu:+.0f} µs/req for a {label} ({on.rps / off.rps:.2f}x the req/s)")
    sink = everything.sink
    spans_per_request = sink.spans / max(everything.traced_requests, 1)
    rejected = f", {sink.rejected} unreadable" if sink.rejected else ""
    paragraphs = [
        f"`defaults`: the `{SERVICE}` rows ({api_options(serving)}"
        + (", metrics" if "MetricsMiddleware" in serving.middleware else "")
        + f"). `everything on`: the `{SERVICE_ALL}` rows, the template generated with "
        f"`svcforge new --defaults {answers}` (middleware, outermost first: "
        + ", ".join(f"`{name}`" for name in everything.middleware)
        + "), served the same way on a database of its own seeded with the same "
        f"{SEED_ROWS:,} rows, with {given} (and Redis key and RabbitMQ queue names of the "
        "run's own). Next to the defaults it adds the cache, background jobs, and the "
        "tracing code switched off by its setting (no tracer provider, nothing "
        "instrumented). **Its GET by id reads through the cache**: an item is looked up "
        "in Redis first, and read from PostgreSQL only on a miss (then kept for "
        "`CACHE_TTL_SECONDS`, 60 s, longer than any run). Each of its GET-by-id runs "
        "starts with an empty cache (the benchmark deletes the run's cache keys just "
        f"before it) and draws from {SEED_ROWS:,} ids at random, so the first read of "
        "each id misses and later ones hit: `cache hits` is the share of the run's reads "
        "answered from Redis (1 - keys written / reads). It grows with the run's length "
        "and rate, and a hit replaces the SQL query with a Redis round trip (compare "
        "the PostgreSQL and Redis columns): these rows are not the defaults' read plus "
        "overhead. Each of its POSTs sends one job to RabbitMQ after the commit and waits "
        "for RabbitMQ's confirmation before answering; no worker runs, so the benchmark "
        f"purged the work queue after each POST run: {everything.jobs_queued:,} jobs for "
        f"about {everything.posts:,} POSTs answered (warm-ups included; requests still "
        "in flight when wrk stops are not counted as answered, their jobs are).",
        f"`tracing on`: the `{SERVICE_TRACED}` rows, the same server with {tracing}: "
        "every request recorded (the worst case; the ratio is a setting), one span per "
        "request and one per SQL statement, batched and sent over OTLP/HTTP by the "
        "SDK's thread inside the server process (so the export's CPU is in the server "
        "column) to a stand-in collector the benchmark runs on 127.0.0.1 "
        "(`bench/svcbench/otlp_sink.py`: answers 200, counts). The difference between "
        f"the two everything-on rows is what tracing costs; at {conns} connections: "
        + " and ".join(tracing_costs)
        + f". The sink received {sink.requests:,} exports, {sink.bytes / 2**20:,.1f} MiB, "
        f"**{sink.spans:,} spans** for the {everything.traced_requests:,} requests the "
        f"traced server answered ({spans_per_request:.1f} spans per request{rejected}). "
        "Spans the SDK dropped because its queue (2,048 spans) was full, counted from "
        f"its warnings in the server's log: {everything.dropped_spans:,}.",
    ]
    metrics = _metrics_cost(serving)
    if metrics:
        paragraphs.append(metrics)
    return "\n\n".join(paragraphs)


def _metrics_cost(serving: ServingResult) -> str:
    """Say what the metrics middleware costs alone (from part 3), if it was measured."""
    name = "MetricsMiddleware"
    if name not in serving.middleware or len(serving.middleware) < 2:
        return ""
    conns = serving.settings.breakdown_connections
    full = serving.get("health", conns).median(lambda run: run.server_cpu_us)
    without = serving.get(f"health without {name}", conns).median(lambda run: run.server_cpu_us)
    return (
        f"Metrics are on in `defaults` and `everything on`, off in `options off` (with "
        f"everything else). `{name}` alone costs {full - without:+.0f} µs of server CPU "
        f"per request on /health at {conns} connections (part 3, the service without it); "
        "nothing scrapes the metrics listener during the run (each server's listens on a "
        "free port: `METRICS_PORT=0`)."
    )


def _serving_table(results: Sequence[ScenarioResult], serving: ServingResult) -> str:
    rows = []
    for result in results:
        reference = _reference(result)
        ratio = ""
        if reference is not None:
            ratio = f"{result.rps / serving.get(reference, result.connections).rps:.2f}x"
        rows.append(
            (
                result.scenario.server,
                f"`{result.scenario.label}`",
                result.connections,
                f"{result.rps:,.0f}",
                ratio,
                f"{result.median(lambda run: run.p50_ms):.1f}",
                f"{result.median(lambda run: run.p99_ms):.1f}",
                result.errors,
                f"{result.rss_mib:.0f}",
                f"{result.median(lambda run: run.server_cpu_us):.0f}",
                f"{result.median(lambda run: run.postgres_cpu_us):.0f}",
                f"{result.median(lambda run: run.background_cpu_percent):.0f}%",
            )
        )
    header = (
        "server",
        "request",
        "conns",
        "req/s",
        "vs reference",
        "p50 ms",
        "p99 ms",
        "errors",
        "RSS MiB",
        "server CPU µs/req",
        "PostgreSQL CPU µs/req",
        "other CPU",
    )
    return table(header, rows)


def _reference(result: ScenarioResult) -> str | None:
    """Return the scenario a row is compared with (bare FastAPI or FastAPI + asyncpg)."""
    if result.scenario.path == "/health":
        return "fastapi"
    if result.scenario.key in {"get", "get-off", "get-all", "get-traced", "asyncpg-get"}:
        return "asyncpg-get"
    return None


def _breakdown_table(serving: ServingResult) -> str:
    conns = serving.settings.breakdown_connections
    bare = serving.get("fastapi", conns)
    full = serving.get("health", conns)
    full_cpu = full.median(lambda run: run.server_cpu_us)
    variants: list[tuple[str, ScenarioResult]] = [("full stack (as shipped)", full)]
    if len(serving.middleware) > 1:  # one middleware: "without it" is "without any"
        for name in serving.middleware:
            variants.append((f"without {name}", serving.get(f"health without {name}", conns)))
    variants.append(("without any middleware", serving.get(f"health {NO_MIDDLEWARE}", conns)))
    variants.append((BARE_FASTAPI, bare))
    rows = []
    for label, result in variants:
        cpu = result.median(lambda run: run.server_cpu_us)
        rows.append(
            (
                label,
                f"{result.rps:,.0f}",
                f"{result.rps / bare.rps:.2f}x",
                f"{result.median(lambda run: run.p99_ms):.1f}",
                f"{cpu:.0f}",
                f"{full_cpu - cpu:+.0f}" if result is not full else "",
            )
        )
    header = (
        f"{SERVICE} variant ({conns} connections)",
        "req/s",
        "vs bare FastAPI",
        "p99 ms",
        "server CPU µs/req",
        "CPU saved vs full µs/req",
    )
    order = ", ".join(f"`{name}`" for name in serving.middleware)
    note = (
        f"Middleware, outermost first: {order}. A variant is the generated app built by its "
        "own factory with classes removed from `app.user_middleware` "
        "(`bench/apps/variant_app.py`); the template is unchanged. The CPU saved by removing "
        "a middleware is its cost per request, and is less noisy than req/s."
    )
    return table(header, rows) + "\n\n" + note


def tests_section(result: TestSuiteResult) -> str:
    """Part 4 as Markdown."""
    runs = ", ".join(f"{seconds:.1f} s" for seconds in result.seconds)
    return (
        "## 4. Generated test suite\n\n"
        f"`{result.command}` in the generated project after `uv sync`: median "
        f"**{result.median:.1f} s** (runs: {runs}; the first one also compiles the bytecode "
        f"cache). pytest's own summary: `{result.summary}`; the rest of the wall time is "
        "interpreter start-up, imports and uv's environment check."
    )


def _update_table(tools: dict[str, ToolRuns]) -> str:
    rows = []
    for name, tool in tools.items():
        seconds = tool.seconds
        cpu = [run.cpu_seconds for run in tool.runs]
        rows.append(
            (
                name,
                len(seconds),
                f"{min(seconds):.2f}",
                f"{statistics.median(seconds):.2f}",
                f"{max(seconds):.2f}",
                f"{statistics.median(cpu):.2f}",
                f"{statistics.median(tool.peak_mib):.0f}",
            )
        )
    header = ("command", "runs", "min s", "median s", "max s", "CPU s median", "peak RSS MiB")
    return table(header, rows)


def update_section(result: UpdateResult) -> str:
    """Part 5 as Markdown."""
    ratio = result.median("svcforge") / result.median("copier")
    cpu_ratio = result.median_cpu("svcforge") / result.median_cpu("copier")
    same = "identical" if result.same_output else "**DIFFERENT**"
    summary = (
        f"Update of the default project from {result.previous} (the last release) to "
        f"{result.candidate} (this working tree), no edits, {result.changed} files changed. "
        f"svcforge / copier (median wall time): **{ratio:.2f}x**; CPU time (user + system, "
        f"git children included): {cpu_ratio:.2f}x. Files and `git status` after the two "
        f"commands: {same}."
    )
    commands = "\n".join(f"    {tool.command}" for tool in result.tools.values())
    how = (
        "Commands (alternating, after one untimed warm-up of each; each run on a fresh copy "
        "of the same committed project, which records the template clone as `_src_path`):"
        f"\n\n{commands}"
    )
    if result.locked is None:
        locked = f"With `uv lock`: {result.locked_note}."
    else:
        locked = (
            "With dependency locking (the default `svcforge update` re-locks when "
            "`pyproject.toml` changes; with Copier that is a second command), project "
            "generated with `uv.lock`:\n\n" + _update_table(result.locked)
        )
    profile = result.profile
    markers, own = _profile_tables(profile)
    profiled = (
        f"Profile of one update (`{profile.command}`), "
        f"{profile.total_seconds:.2f} s under cProfile:"
    )
    return "\n\n".join(
        [
            "## 5. Update",
            _update_table(result.tools),
            summary,
            how,
            locked,
            profiled,
            markers,
            own,
        ]
    )


def machine_section(facts: dict[str, str]) -> str:
    """Format the machine and software facts."""
    return "## Machine\n\n" + table(("what", "value"), list(facts.items()))


def write_docs(path: Path, generated: str, preamble: str) -> None:
    """Replace the generated part of the docs page, keeping hand-written text around it."""
    block = f"{BEGIN_MARKER}\n\n{generated.strip()}\n\n{END_MARKER}"
    if path.exists():
        text = path.read_text()
        if BEGIN_MARKER in text and END_MARKER in text:
            before = text.split(BEGIN_MARKER, 1)[0]
            after = text.split(END_MARKER, 1)[1]
            path.write_text(before + block + after)
            return
    path.write_text(f"{preamble.strip()}\n\n{block}\n")
