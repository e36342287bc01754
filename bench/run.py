"""Benchmark svcforge and the service it generates; print a table, write docs/benchmarks.md.

Usage, from the repository root (needs wrk, psql, PostgreSQL on 127.0.0.1:5432, and the
Redis and RabbitMQ the generated services use, 127.0.0.1:6379 and 127.0.0.1:5672):

    uv run python bench/run.py            # full run, about 30 minutes
    uv run python bench/run.py --quick    # smoke run: 1 repetition, 3 s loads

Parts: 1. ``svcforge new`` vs ``copier copy``; 2. the generated service under wrk next to
bare FastAPI and Starlette, next to the same service generated with every option off, and
next to it generated with every option on (tracing switched off, then on); 3. the cost of
each middleware on /health; 4. the generated project's own test suite; 5. ``svcforge
update`` vs ``copier update`` (``--parts update``). Every step has a time limit, and
servers, temporary files, the benchmark databases and its job queues are removed on the
way out, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from svcbench import machine
from svcbench.db import Postgres
from svcbench.generation import GenerationResult, measure_generation
from svcbench.procs import StepError, child_env
from svcbench.project import Project, create_project
from svcbench.report import (
    Target,
    evaluate_targets,
    generation_section,
    machine_section,
    serving_section,
    targets_table,
    tests_section,
    update_section,
    write_docs,
)
from svcbench.serving import (
    OPTIONS_ALL,
    OPTIONS_OFF,
    LoadSettings,
    ServingResult,
    measure_serving,
)
from svcbench.testsuite import TestSuiteResult, measure_test_suite
from svcbench.updating import UpdateResult, measure_update

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "benchmarks.md"
RAW_RESULTS = REPO / "bench" / "results" / "latest.json"
PARTS = ("generation", "serving", "tests", "update")

PREAMBLE = """\
# Benchmarks

How fast svcforge generates a project, and how fast the generated service serves.
Regenerate the figures with `uv run python bench/run.py` (see the end of this page).
"""


class DeadlineError(RuntimeError):
    """The whole benchmark ran past its time limit."""


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 1 repetition, 3 s loads, no docs"
    )
    parser.add_argument("--reps", type=int, help="repetitions (default 3, quick 1)")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10, quick 3)")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated subset of {','.join(PARTS)} (default: all)",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        help=f"page to write (default {DOCS.relative_to(REPO)} for a full run of all parts, "
        "none for --quick or a subset)",
    )
    parser.add_argument(
        "--time-limit", type=float, help="minutes before the run is aborted (default 35, quick 12)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected parts and report them."""
    args = parse_args(argv)
    reps = args.reps or (1 if args.quick else 3)
    load = LoadSettings(
        reps=reps,
        duration_seconds=args.duration or (3 if args.quick else 10),
        warmup_seconds=1,
    )
    limit_minutes = args.time_limit or (12 if args.quick else 35)
    _install_signal_handlers(limit_minutes)
    for tool in ("wrk", "psql", "uv"):
        if shutil.which(tool) is None:
            print(f"error: {tool} is not on PATH (apt-get install -y wrk postgresql-client)")
            return 2
    bin_dir = Path(sys.executable).parent
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="svcforge-bench-"))
    try:
        sections, targets, raw = _run_parts(args.parts, bin_dir, workdir, reps, load)
    except (StepError, DeadlineError) as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60
    command = "uv run python bench/run.py" + (" --quick" if args.quick else "")
    if args.parts != list(PARTS):
        command += f" --parts {','.join(args.parts)}"
    sections.append(_how_to_run(command, minutes))
    generated = "\n\n".join(sections)
    print("\n" + generated)
    docs = args.docs
    if docs is None and not args.quick and args.parts == list(PARTS):
        docs = DOCS
    if docs is not None:
        write_docs(docs, generated, PREAMBLE)
        RAW_RESULTS.parent.mkdir(exist_ok=True)
        RAW_RESULTS.write_text(json.dumps(raw, indent=2, default=str))
        print(f"\nwrote {docs} and {RAW_RESULTS}")
    return 0 if all(target.met for target in targets) else 3


def _run_parts(
    parts: list[str], bin_dir: Path, workdir: Path, reps: int, load: LoadSettings
) -> tuple[list[str], list[Target], dict[str, object]]:
    env = child_env(os.environ, workdir / "pycache")
    facts = machine.describe(REPO, bin_dir)
    postgres = Postgres()
    generation: GenerationResult | None = None
    serving: ServingResult | None = None
    tests: TestSuiteResult | None = None
    update: UpdateResult | None = None
    if "generation" in parts:
        _step("1. generation: svcforge new vs copier copy")
        gen_dir = workdir / "generation"
        gen_dir.mkdir()
        generation = measure_generation(
            bin_dir=bin_dir, repo=REPO, workdir=gen_dir, env=env, reps=max(reps * 2 + 1, 3)
        )
    project: Project | None = None
    if "serving" in parts or "tests" in parts:
        _step("generating and installing the default project")
        project = create_project(bin_dir / "svcforge", workdir / "example-service", env)
        facts["generated project"] = f"Python {project.python_version}, " + ", ".join(
            f"{name} {version}" for name, version in project.versions.items()
        )
        facts["served with"] = "uvicorn " + " ".join(project.serve_args) + " (Dockerfile CMD)"
    if "tests" in parts and project is not None:
        _step("4. the generated project's test suite")
        tests = measure_test_suite(project.root, env, reps=max(reps, 1))
    if "serving" in parts and project is not None:
        _step("generating and installing the project with its options off")
        options = " ".join(f"{key}={value}" for key, value in OPTIONS_OFF.items())
        options_off = create_project(
            bin_dir / "svcforge", workdir / "example-service-off", env, OPTIONS_OFF
        )
        facts["options-off project"] = f"the default answers but {options}"
        _step("generating and installing the project with everything on")
        options = " ".join(f"{key}={value}" for key, value in OPTIONS_ALL.items())
        everything_on = create_project(
            bin_dir / "svcforge", workdir / "example-service-all", env, OPTIONS_ALL
        )
        facts["everything-on project"] = f"the default answers but {options}"
        _step("2-3. serving")
        serving = measure_serving(
            project=project,
            options_off=options_off,
            everything_on=everything_on,
            postgres=postgres,
            settings=load,
            workdir=workdir,
            env=env,
        )
        facts["PostgreSQL"] = serving.postgres_version
    if "update" in parts:
        _step("5. update: svcforge update vs copier update")
        update_dir = workdir / "update"
        update_dir.mkdir()
        update = measure_update(
            bin_dir=bin_dir,
            repo=REPO,
            workdir=update_dir,
            env=env,
            reps=max(reps * 2 - 1, 3),
            lock_reps=max(reps - 1, 1),
        )
    facts["load average at end"] = machine.load_average()

    targets = evaluate_targets(generation, serving, tests, update)
    sections = ["## Targets\n\n" + targets_table(targets), machine_section(facts)]
    if generation is not None:
        sections.append(generation_section(generation))
    if serving is not None:
        sections.append(serving_section(serving))
    if tests is not None:
        sections.append(tests_section(tests))
    if update is not None:
        sections.append(update_section(update))
    raw: dict[str, object] = {
        "machine": facts,
        "targets": [dataclasses.asdict(target) for target in targets],
        "generation": dataclasses.asdict(generation) if generation else None,
        "serving": dataclasses.asdict(serving) if serving else None,
        "tests": dataclasses.asdict(tests) if tests else None,
        "update": dataclasses.asdict(update) if update else None,
    }
    return sections, targets, raw


def _how_to_run(command: str, minutes: float) -> str:
    return (
        "## How these figures were made\n\n"
        f"    {command}\n\n"
        f"from the repository root; this run took {minutes:.1f} minutes. Every step runs "
        "under a time limit; the script stops its servers and drops its database also "
        "after a failure."
    )


def _step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def _install_signal_handlers(limit_minutes: float) -> None:
    """Turn SIGTERM and the time limit into exceptions, so cleanup code runs."""

    def terminate(signum: int, _: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    def deadline(_signum: int, _frame: FrameType | None) -> None:
        raise DeadlineError(f"time limit of {limit_minutes:.0f} minutes reached")

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(int(limit_minutes * 60))


if __name__ == "__main__":
    sys.exit(main())
