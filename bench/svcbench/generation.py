"""Part 1: ``svcforge new`` versus plain ``copier copy`` of the same template."""

from __future__ import annotations

import filecmp
import pstats
import re
import shutil
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from svcbench.procs import Measured, StepError, run, run_measured

RENDER_TIMEOUT_SECONDS = 120.0

#: Frames whose cumulative time explains a render (label, file suffix, function name).
_PROFILE_MARKERS: Sequence[tuple[str, str, str]] = (
    ("Python imports (start-up)", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("copier.run_copy (the render)", "copier/_main.py", "run_copy"),
    ("- render file contents", "copier/_main.py", "_render_file"),
    ("- render path names", "copier/_main.py", "_render_path"),
    ("- Jinja compilation", "jinja2/environment.py", "compile"),
    ("- git subprocesses (plumbum)", "plumbum/commands/base.py", "run"),
    ("- questions and answers", "copier/_main.py", "_ask"),
)


@dataclass(frozen=True)
class ToolRuns:
    """Repeated measurements of one generation command."""

    name: str
    command: str
    runs: list[Measured] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        """Wall time of each run."""
        return [run.seconds for run in self.runs]

    @property
    def peak_mib(self) -> list[float]:
        """Peak RSS of each run, in MiB."""
        return [run.peak_rss_kib / 1024 for run in self.runs]


@dataclass(frozen=True)
class ProfileLine:
    """One line of the render profile."""

    label: str
    calls: int
    seconds: float


@dataclass(frozen=True)
class RenderProfile:
    """Where the time of one profiled render goes."""

    command: str
    total_seconds: float
    markers: list[ProfileLine]
    top_own_time: list[ProfileLine]


@dataclass(frozen=True)
class GenerationResult:
    """Everything part 1 measured."""

    tools: dict[str, ToolRuns]
    files: dict[str, int]
    #: Whether both commands wrote the same files (the recorded template commit aside).
    same_output: bool
    #: Median wall time of ``--version`` for each CLI: the import cost alone.
    startup_seconds: dict[str, float]
    profile: RenderProfile

    def median(self, tool: str) -> float:
        """Median wall time of a tool."""
        return statistics.median(self.tools[tool].seconds)


def command(tool: str, *, bin_dir: Path, repo: Path, dest: Path) -> list[str]:
    """Return one of the two generation commands; both render the same template at HEAD.

    svcforge passes ``quiet=True`` to Copier, hence ``--quiet`` for copier.
    """
    if tool == "svcforge":
        return [str(bin_dir / "svcforge"), "new", str(dest), "--defaults", "--no-git", "--no-lock"]
    copier = [str(bin_dir / "copier"), "copy", "--defaults", "--quiet", "--vcs-ref", "HEAD"]
    return [*copier, str(repo), str(dest)]


def svcforge_env(repo: Path) -> dict[str, str]:
    """Point svcforge at the same checkout and ref that copier renders.

    Both then render the working tree at HEAD, uncommitted changes included.
    """
    return {"SVCFORGE_TEMPLATE": str(repo), "SVCFORGE_TEMPLATE_REF": "HEAD"}


TOOLS = ("svcforge", "copier")


def measure_generation(
    *, bin_dir: Path, repo: Path, workdir: Path, env: dict[str, str], reps: int
) -> GenerationResult:
    """Time both commands ``reps`` times each, alternating, after one untimed warm-up."""
    env = {**env, **svcforge_env(repo)}
    tools = {
        name: ToolRuns(name, " ".join(command(name, bin_dir=bin_dir, repo=repo, dest=Path("DEST"))))
        for name in TOOLS
    }
    outputs: dict[str, Path] = {}
    # Round -1 is the warm-up: it fills the bytecode and page caches for both tools.
    for rep in range(-1, reps):
        # Alternate which tool goes first, so drift in the machine's load hits both.
        for name in TOOLS if rep % 2 else reversed(TOOLS):
            # The same folder name for both tools: the project name defaults to it.
            dest = workdir / f"{name}-{rep + 1}" / "example-service"
            argv = command(name, bin_dir=bin_dir, repo=repo, dest=dest)
            measured = run_measured(argv, env=env, timeout=RENDER_TIMEOUT_SECONDS)
            if rep >= 0:
                tools[name].runs.append(measured)
            if name in outputs:
                shutil.rmtree(dest.parent)
            else:
                outputs[name] = dest
    startup = {
        name: statistics.median(
            run_measured(
                [str(bin_dir / name), "--version"], env=env, timeout=RENDER_TIMEOUT_SECONDS
            ).seconds
            for _ in range(max(reps, 3))
        )
        for name in TOOLS
    }
    return GenerationResult(
        tools=tools,
        files={name: _count_files(path) for name, path in outputs.items()},
        same_output=_same_output(outputs["svcforge"], outputs["copier"]),
        startup_seconds=startup,
        profile=_profile_render(bin_dir, workdir, env),
    )


def _count_files(root: Path) -> int:
    return sum(1 for path in root.rglob("*") if path.is_file())


def _same_output(left: Path, right: Path) -> bool:
    """Compare two renders, ignoring the commit id Copier records (a fresh one each run).

    Copier commits the dirty working tree into a temporary clone, so ``_commit`` (and
    every file quoting it) differs between any two renders of an edited checkout.
    """
    left_files = sorted(p.relative_to(left) for p in left.rglob("*") if p.is_file())
    right_files = sorted(p.relative_to(right) for p in right.rglob("*") if p.is_file())
    if left_files != right_files:
        return False
    left_commit, right_commit = _commit(left), _commit(right)
    for relative in left_files:
        if filecmp.cmp(left / relative, right / relative, shallow=False):
            continue
        left_text = (left / relative).read_text().replace(left_commit, "COMMIT")
        right_text = (right / relative).read_text().replace(right_commit, "COMMIT")
        if left_text != right_text:
            return False
    return True


def _commit(project: Path) -> str:
    match = re.search(r"^_commit: (\S+)$", (project / ".copier-answers.yml").read_text(), re.M)
    if match is None:
        raise StepError(f"no _commit in {project / '.copier-answers.yml'}")
    return match.group(1)


def _profile_render(bin_dir: Path, workdir: Path, env: dict[str, str]) -> RenderProfile:
    """Profile one ``svcforge new`` with cProfile (deterministic, stdlib only)."""
    profile_path = workdir / "render.prof"
    args = ["-m", "svcforge", "new", str(workdir / "profiled"), "--defaults", "--no-git"]
    args.append("--no-lock")
    argv = [str(bin_dir / "python"), "-m", "cProfile", "-o", str(profile_path), *args]
    run(argv, env=env, timeout=RENDER_TIMEOUT_SECONDS)
    command = "python -m cProfile -o render.prof " + " ".join(args).replace(str(workdir), ".")
    return summarize_profile(profile_path, command, _PROFILE_MARKERS)


def summarize_profile(
    profile_path: Path, command: str, marker_specs: Sequence[tuple[str, str, str]]
) -> RenderProfile:
    """Read a cProfile dump: the cumulative time of each marker, the top own times.

    ``marker_specs`` are (label, file name suffix, function name) triples.
    """
    stats = pstats.Stats(str(profile_path))
    # pstats has no public accessor for its table, {(file, line, function): (...)}, and
    # typeshed leaves the attribute out: read it as the documented layout.
    entries: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    entries = stats.stats  # type: ignore[attr-defined]
    markers = []
    for label, file_suffix, function in marker_specs:
        matching = [
            (calls, cumulative)
            for (filename, _, name), (_, calls, _, cumulative, _) in entries.items()
            if filename.endswith(file_suffix) and name == function
        ]
        if matching:
            calls, cumulative = max(matching, key=lambda item: item[1])
            markers.append(ProfileLine(label, calls, cumulative))
    own_time = sorted(
        (
            ProfileLine(f"{Path(filename).name}:{line}({name})", calls, own)
            for (filename, line, name), (_, calls, own, _, _) in entries.items()
        ),
        key=lambda item: item.seconds,
        reverse=True,
    )
    return RenderProfile(
        command=command,
        # Not in typeshed either, like `stats` above.
        total_seconds=float(stats.total_tt),  # type: ignore[attr-defined]
        markers=markers,
        top_own_time=own_time[:8],
    )
