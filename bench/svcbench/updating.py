"""Part 5: ``svcforge update`` versus plain ``copier update`` of the same project.

The template repository is built the way the update tests build theirs: a clone of this
checkout with the working tree laid over it (uncommitted template changes included) and
committed as the release candidate ``v<__version__>``, and the previous release recorded
in ``releases.yml`` tagged on its own commit. The project is the default one generated at
the previous release (``svcforge new --defaults``, committed), never edited, so both
commands do the same real update: the one a team on the last release runs next. Both
tools pick the newest release by themselves; ``--quiet`` and inline conflicts for copier
are what svcforge asks Copier for, and neither needs ``--trust``.

Like for like, svcforge runs with ``--no-lock`` (Copier never locks): the default
``svcforge update``, which re-locks when ``pyproject.toml`` changes, is measured apart
against ``copier update`` followed by ``uv lock``.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from svcbench.generation import RenderProfile, ToolRuns, summarize_profile
from svcbench.procs import Measured, StepError, run, run_measured

UPDATE_TIMEOUT_SECONDS = 300.0
GIT_TIMEOUT_SECONDS = 120.0
#: The project's folder name (Copier derives the default project name from it).
PROJECT_NAME = "example-service"

#: Commits in the template clone and in generated projects need an identity.
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "svcforge bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "svcforge bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}

#: Frames whose cumulative time explains an update (label, file suffix, function name).
_PROFILE_MARKERS: Sequence[tuple[str, str, str]] = (
    ("Python imports (start-up)", "<frozen importlib._bootstrap>", "_find_and_load"),
    ("svcforge: both versions rendered (the checks)", "svcforge/update/merging.py", "render_both"),
    ("svcforge: sandbox clone of the project", "svcforge/update/merging.py", "_create_sandbox"),
    ("Copier's 3-way update in the sandbox", "copier/_main.py", "run_update"),
    ("- Copier renders (made, not copied)", "copier/_main.py", "_render_template"),
    ("- renders copied instead", "shutil.py", "copytree"),
    ("svcforge: update written into the project", "svcforge/update/applying.py", "apply_merge"),
    ("all renders: Jinja compilation", "jinja2/environment.py", "compile"),
    ("all git subprocesses of Copier (plumbum)", "plumbum/commands/base.py", "run"),
    ("all git subprocesses of svcforge", "svcforge/update/gitio.py", "git_bytes"),
)

TOOLS = ("svcforge", "copier")
#: The same two commands with dependency locking (a separate table, not a target).
LOCKED_TOOLS = ("svcforge (re-locks)", "copier + uv lock")


@dataclass(frozen=True)
class UpdateResult:
    """Everything the update part measured."""

    previous: str
    candidate: str
    #: Files the update changes in the project (``git status`` entries).
    changed: int
    tools: dict[str, ToolRuns]
    #: Whether both commands left the same files and the same ``git status``.
    same_output: bool
    #: With ``uv lock``; None (and ``locked_note`` says why) when locking failed.
    locked: dict[str, ToolRuns] | None
    locked_note: str
    profile: RenderProfile

    def median(self, tool: str) -> float:
        """Median wall time of a tool."""
        return statistics.median(self.tools[tool].seconds)

    def median_cpu(self, tool: str) -> float:
        """Median CPU time (user + system, git children included) of a tool."""
        return statistics.median(run.cpu_seconds for run in self.tools[tool].runs)


def command(tool: str, *, bin_dir: Path, project: Path) -> list[str]:
    """Return one of the two update commands (see the module docstring)."""
    if tool == "svcforge":
        return [str(bin_dir / "svcforge"), "update", str(project), "--no-lock"]
    copier = [str(bin_dir / "copier"), "update", "--defaults", "--skip-answered"]
    return [*copier, "--conflict=inline", "--quiet", str(project)]


def update_env(env: dict[str, str]) -> dict[str, str]:
    """Return the benchmark's environment with a git identity and without template overrides.

    ``SVCFORGE_TEMPLATE`` would make svcforge record a new template source, which is
    work plain Copier does not do; both must update from the recorded ``_src_path``.
    """
    cleaned = {
        key: value
        for key, value in env.items()
        if key not in {"SVCFORGE_TEMPLATE", "SVCFORGE_TEMPLATE_REF"}
    }
    return {**cleaned, **_GIT_IDENTITY}


def measure_update(
    *, bin_dir: Path, repo: Path, workdir: Path, env: dict[str, str], reps: int, lock_reps: int
) -> UpdateResult:
    """Time both updates ``reps`` times each, alternating, after one untimed warm-up."""
    env = update_env(env)
    template, previous, candidate = make_template_repo(repo, workdir / "template", env)
    pristine = generate(bin_dir, template, previous, workdir / "pristine", env, lock=False)
    tools = {
        name: ToolRuns(name, _shown(command(name, bin_dir=bin_dir, project=Path("PROJECT"))))
        for name in TOOLS
    }
    kept: dict[str, Path] = {}
    for rep in range(-1, reps):
        # Alternate which tool goes first, so drift in the machine's load hits both.
        for name in TOOLS if rep % 2 else reversed(TOOLS):
            project = _copy(pristine, workdir / f"{name}-{rep + 1}")
            argv = command(name, bin_dir=bin_dir, project=project)
            measured = run_measured(argv, env=env, timeout=UPDATE_TIMEOUT_SECONDS)
            if rep >= 0:
                tools[name].runs.append(measured)
            if name in kept:
                shutil.rmtree(project.parent)
            else:
                kept[name] = project
    same = _same_result(kept["svcforge"], kept["copier"], env)
    changed = len(_status(kept["svcforge"], env).splitlines())
    locked, note = _measure_locked(bin_dir, template, previous, workdir, env, lock_reps)
    return UpdateResult(
        previous=previous,
        candidate=candidate,
        changed=changed,
        tools=tools,
        same_output=same,
        locked=locked,
        locked_note=note,
        profile=_profile_update(bin_dir, pristine, workdir, env),
    )


def _shown(argv: list[str]) -> str:
    """Show a command as the report does: the tool's name instead of its virtualenv path."""
    return " ".join([Path(argv[0]).name, *argv[1:]])


def _git(cwd: Path, env: dict[str, str], *args: str) -> str:
    return run(["git", *args], cwd=cwd, env=env, timeout=GIT_TIMEOUT_SECONDS)


def make_template_repo(repo: Path, dest: Path, env: dict[str, str]) -> tuple[Path, str, str]:
    """Clone ``repo`` with its working tree as the release candidate; return the tags.

    Returns (clone, previous release tag, candidate tag). The previous release is the
    newest in ``releases.yml``; the candidate is ``v<__version__>`` of this checkout.
    """
    _git(repo.parent, env, "clone", "--quiet", "--no-checkout", str(repo), str(dest))
    _git(dest, env, "checkout", "--quiet", "HEAD")
    listed = _git(repo, env, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    wanted = {name for name in listed.split("\0") if name and (repo / name).is_file()}
    for name in wanted:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, dest / name)
    for name in _git(dest, env, "ls-files", "-z").split("\0"):
        if name and name not in wanted:
            (dest / name).unlink(missing_ok=True)
    _git(dest, env, "add", "--all")
    _git(dest, env, "commit", "--quiet", "--allow-empty", "-m", "Release candidate")
    releases = yaml.safe_load((repo / "releases.yml").read_text())["releases"]
    previous, commit = f"v{releases[0]['version']}", str(releases[0]["commit"])
    init = (repo / "src" / "svcforge" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"$', init, re.MULTILINE)
    if match is None:
        raise StepError("no __version__ in src/svcforge/__init__.py")
    candidate = f"v{match.group(1)}"
    if candidate == previous:
        raise StepError(f"__version__ is the last release {previous}: nothing to update to")
    # -f: a clone of a repository that has the tags already brings them along.
    _git(dest, env, "tag", "-f", previous, commit)
    _git(dest, env, "tag", "-f", candidate)
    return dest, previous, candidate


def generate(
    bin_dir: Path, template: Path, ref: str, parent: Path, env: dict[str, str], *, lock: bool
) -> Path:
    """``svcforge new --defaults`` at ``ref``, committed in a new repository."""
    dest = parent / PROJECT_NAME
    argv = [str(bin_dir / "svcforge"), "new", str(dest), "--defaults"]
    if not lock:
        argv.append("--no-lock")
    source = {"SVCFORGE_TEMPLATE": str(template), "SVCFORGE_TEMPLATE_REF": ref}
    run(argv, env={**env, **source}, timeout=UPDATE_TIMEOUT_SECONDS)
    recorded = yaml.safe_load((dest / ".copier-answers.yml").read_text())
    if recorded.get("_commit") != ref:
        raise StepError(f"{dest} records template version {recorded.get('_commit')}, not {ref}")
    return dest


def _copy(project: Path, parent: Path) -> Path:
    """Copy ``project`` (.git included) into ``parent``, keeping its folder name."""
    copy = parent / project.name
    shutil.copytree(project, copy, symlinks=True)
    return copy


def _status(project: Path, env: dict[str, str]) -> str:
    return _git(project, env, "status", "--porcelain", "--untracked-files=all")


def _same_result(left: Path, right: Path, env: dict[str, str]) -> bool:
    """Whether two updated projects hold the same files and the same ``git status``."""
    if _status(left, env) != _status(right, env):
        return False
    return _same_tree(filecmp.dircmp(left, right, ignore=[".git"]))


def _same_tree(compared: filecmp.dircmp[str]) -> bool:
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(
        compared.left, compared.right, compared.common_files, shallow=False
    )
    if mismatch or errors:
        return False
    return all(_same_tree(sub) for sub in compared.subdirs.values())


def _measure_locked(
    bin_dir: Path, template: Path, previous: str, workdir: Path, env: dict[str, str], reps: int
) -> tuple[dict[str, ToolRuns] | None, str]:
    """Both updates of a project with a ``uv.lock``, each followed by the re-lock."""
    try:
        pristine = generate(bin_dir, template, previous, workdir / "locked", env, lock=True)
    except StepError as error:
        return None, f"skipped: generating a locked project failed ({error})"
    svcforge_argv = [str(bin_dir / "svcforge"), "update", "PROJECT"]
    copier_argv = command("copier", bin_dir=bin_dir, project=Path("PROJECT"))
    tools = {
        LOCKED_TOOLS[0]: ToolRuns(LOCKED_TOOLS[0], _shown(svcforge_argv)),
        LOCKED_TOOLS[1]: ToolRuns(LOCKED_TOOLS[1], f"{_shown(copier_argv)} && uv lock"),
    }
    # uv does not download an interpreter behind the benchmark's back either.
    lock_env = {**env, "UV_PYTHON_DOWNLOADS": env.get("UV_PYTHON_DOWNLOADS", "never")}
    try:
        for rep in range(-1, reps):
            for name in LOCKED_TOOLS if rep % 2 else reversed(LOCKED_TOOLS):
                folder = f"locked-{LOCKED_TOOLS.index(name)}-{rep + 1}"
                project = _copy(pristine, workdir / folder)
                measured = _locked_update(name, bin_dir, project, lock_env)
                if rep >= 0:
                    tools[name].runs.append(measured)
                shutil.rmtree(project.parent)
    except StepError as error:
        return None, f"skipped: {error}"
    return tools, ""


def _locked_update(name: str, bin_dir: Path, project: Path, env: dict[str, str]) -> Measured:
    if name == LOCKED_TOOLS[0]:
        argv = [str(bin_dir / "svcforge"), "update", str(project)]
        measured = run_measured(argv, env=env, timeout=UPDATE_TIMEOUT_SECONDS)
        if "Re-locked" not in measured.output:
            raise StepError(f"svcforge update did not re-lock:\n{measured.output[-2000:]}")
        return measured
    update = run_measured(
        command("copier", bin_dir=bin_dir, project=project), env=env, timeout=UPDATE_TIMEOUT_SECONDS
    )
    lock = run_measured(["uv", "lock"], cwd=project, env=env, timeout=UPDATE_TIMEOUT_SECONDS)
    return Measured(
        seconds=update.seconds + lock.seconds,
        peak_rss_kib=max(update.peak_rss_kib, lock.peak_rss_kib),
        cpu_seconds=update.cpu_seconds + lock.cpu_seconds,
        output=update.output + lock.output,
    )


def _profile_update(
    bin_dir: Path, pristine: Path, workdir: Path, env: dict[str, str]
) -> RenderProfile:
    """Profile one ``svcforge update --no-lock`` with cProfile (deterministic, stdlib only)."""
    project = _copy(pristine, workdir / "profiled")
    profile_path = workdir / "update.prof"
    args = ["-m", "svcforge", "update", str(project), "--no-lock"]
    argv = [str(bin_dir / "python"), "-m", "cProfile", "-o", str(profile_path), *args]
    run(argv, env=env, timeout=UPDATE_TIMEOUT_SECONDS)
    shown = " ".join(args).replace(str(project), f"./{PROJECT_NAME}")
    return summarize_profile(
        profile_path, f"python -m cProfile -o update.prof {shown}", _PROFILE_MARKERS
    )
