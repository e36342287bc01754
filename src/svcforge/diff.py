"""``svcforge diff``: the team's changes to template-managed files, as a git patch.

The patch goes from the pristine render of the project's recorded answers at its recorded
template version (``a/``) to the project (``b/``), in ``git diff`` format, so that
``git apply -R`` in the project restores the pristine files. Deleted files appear as
deletions. Binary files (a NUL byte in the first 8000 bytes, git's test) are noted on a
line of their own, which ``git apply`` skips, unless ``binary`` asks for git's binary
patches, which it applies too. Paths are quoted as git quotes them (``core.quotePath``).
"""

from __future__ import annotations

import base64
import contextlib
import difflib
import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from svcforge.check.drift import (
    CUSTOMISED,
    DELETED,
    ProjectFile,
    changed_files,
    pristine_render,
    read_project_file,
)
from svcforge.check.render_cache import RenderedFile
from svcforge.errors import UsageError
from svcforge.project import load_project

#: Lines of context around each change, as git uses.
_CONTEXT = 3
#: git looks for a NUL byte this far into a file to call it binary.
_BINARY_PROBE = 8000
#: Bytes per line of a git binary patch.
_BINARY_LINE = 52
_NO_NEWLINE = b"\\ No newline at end of file\n"


@dataclass(frozen=True)
class ProjectDiff:
    """The patch for a project, and the files it covers."""

    #: The patch, bytes as git would write them (file contents are not always UTF-8).
    patch: bytes
    #: (path, ``customised`` or ``deleted``) of every file that differs, by path.
    files: tuple[tuple[str, str], ...]
    #: The template version the pristine files come from.
    version: str

    @property
    def text(self) -> str:
        """The patch as text (bytes that are not UTF-8 kept as surrogates)."""
        return self.patch.decode("utf-8", "surrogateescape")


def _quote(name: str) -> bytes:
    """Write a path as git does in patch headers: C-quoted when it has special bytes."""
    raw = name.encode("utf-8", "surrogateescape")
    if not any(byte < 0x20 or byte >= 0x7F or byte in b'"\\' for byte in raw):
        return raw
    escapes = {0x07: b"\\a", 0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0B: b"\\v"}
    escapes |= {0x0C: b"\\f", 0x0D: b"\\r", 0x22: b'\\"', 0x5C: b"\\\\"}
    quoted = b"".join(
        escapes.get(byte)
        or (f"\\{byte:03o}".encode() if byte < 0x20 or byte >= 0x7F else bytes([byte]))
        for byte in raw
    )
    return b'"' + quoted + b'"'


def _side(prefix: str, name: str) -> bytes:
    quoted = _quote(name)
    if quoted.startswith(b'"'):
        return b'"' + prefix.encode() + quoted[1:]
    return prefix.encode() + quoted


def _is_binary(data: bytes) -> bool:
    return b"\0" in data[:_BINARY_PROBE]


def _lines(data: bytes) -> list[bytes]:
    """Split into lines as git does: after each newline byte only (the last may lack one)."""
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _range(start: int, count: int) -> str:
    # Like git: an empty side starts at the line before; a single line omits its count.
    if count == 0:
        return f"{start},0"
    return f"{start + 1}" if count == 1 else f"{start + 1},{count}"


def _line(marker: bytes, line: bytes) -> bytes:
    return marker + line if line.endswith(b"\n") else marker + line + b"\n" + _NO_NEWLINE


def _hunks(old: bytes, new: bytes) -> bytes:
    """Unified diff hunks between two texts, byte for byte."""
    before, after = _lines(old), _lines(new)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    out: list[bytes] = []
    for group in matcher.get_grouped_opcodes(_CONTEXT):
        first, last = group[0], group[-1]
        old_start, old_count = first[1], last[2] - first[1]
        new_start, new_count = first[3], last[4] - first[3]
        header = f"@@ -{_range(old_start, old_count)} +{_range(new_start, new_count)} @@\n"
        out.append(header.encode())
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [_line(b" ", line) for line in before[i1:i2]]
                continue
            out += [_line(b"-", line) for line in before[i1:i2]]
            out += [_line(b"+", line) for line in after[j1:j2]]
    return b"".join(out)


def _blob_id(data: bytes) -> str:
    """Return the id git gives ``data`` as a blob (SHA-1 of a header and the bytes)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _binary_literal(data: bytes) -> bytes:
    """One side of a git binary patch: the deflated bytes in git's base85 lines."""
    packed = zlib.compress(data, 9)
    lines = [b"literal %d\n" % len(data)]
    for offset in range(0, len(packed), _BINARY_LINE):
        chunk = packed[offset : offset + _BINARY_LINE]
        # The line's length: A-Z for 1-26 bytes, a-z for 27-52.
        size = (
            chr(ord("A") + len(chunk) - 1) if len(chunk) <= 26 else chr(ord("a") + len(chunk) - 27)
        )
        lines.append(size.encode() + base64.b85encode(chunk, pad=True) + b"\n")
    return b"".join(lines) + b"\n"


def _mode(executable: bool) -> bytes:
    return b"100755" if executable else b"100644"


def file_patch(
    path: str, pristine: RenderedFile, mine: ProjectFile | None, *, binary: bool
) -> bytes:
    """Return the patch of one file from its pristine render (a/) to the project's copy (b/)."""
    if mine is not None and mine.unreadable is not None:
        return f"# {path}: cannot be read ({mine.unreadable}); not compared.\n".encode(
            "utf-8", "surrogateescape"
        )
    if mine is not None and mine.symlink:
        # A link in place of the file: the file's deletion, then the link's creation.
        return file_patch(path, pristine, None, binary=binary) + _created_link(path, mine.data)
    old_name, new_name = _side("a/", path), _side("b/", path)
    header = [b"diff --git " + old_name + b" " + new_name + b"\n"]
    new_data = b"" if mine is None else mine.data
    if mine is None:
        header.append(b"deleted file mode " + _mode(pristine.executable) + b"\n")
    elif mine.executable != pristine.executable:
        header.append(b"old mode " + _mode(pristine.executable) + b"\n")
        header.append(b"new mode " + _mode(mine.executable) + b"\n")
    if new_data == pristine.data and mine is not None:
        return b"".join(header)  # only the mode changed
    if _is_binary(pristine.data) or _is_binary(new_data):
        if not binary:
            note = f"Binary file {path} differs from the template's (--binary shows it).\n"
            return note.encode("utf-8", "surrogateescape")
        new_id = "0" * 40 if mine is None else _blob_id(new_data)
        header.append(f"index {_blob_id(pristine.data)}..{new_id}\n".encode())
        header.append(b"GIT binary patch\n")
        header += [_binary_literal(new_data), _binary_literal(pristine.data)]
        return b"".join(header)
    header.append(b"--- " + old_name + b"\n")
    header.append(b"+++ " + (b"/dev/null" if mine is None else new_name) + b"\n")
    return b"".join(header) + _hunks(pristine.data, new_data)


def _created_link(path: str, target: bytes) -> bytes:
    name = _side("b/", path)
    return (
        b"diff --git " + _side("a/", path) + b" " + name + b"\n"
        b"new file mode 120000\n--- /dev/null\n+++ " + name + b"\n" + _hunks(b"", target)
    )


def _selected(wanted: Sequence[str], managed: Iterable[str], root: Path) -> set[str] | None:
    """Return the managed files the names given on the command line stand for (None: all).

    A name is a path relative to the project, or one relative to the current folder
    that lies inside the project; a folder stands for the managed files below it.
    """
    if not wanted:
        return None
    managed = sorted(managed)
    chosen: set[str] = set()
    for name in wanted:
        candidates = {PurePosixPath(name).as_posix().strip("/")}
        # A name not below the project is taken relative to it.
        with contextlib.suppress(ValueError):
            candidates.add(Path(name).absolute().relative_to(root).as_posix())
        matched = {
            path
            for path in managed
            for candidate in candidates
            if path == candidate or (candidate in {"", "."} or path.startswith(f"{candidate}/"))
        }
        if not matched:
            raise UsageError(
                f"{name} is not a file the template manages: the pristine render has no such "
                "file or folder.",
                hint="Name files of the template (e.g. Dockerfile, pyproject.toml) relative to "
                "the project; files only the project has have no pristine version to compare.",
            )
        chosen |= matched
    return chosen


def project_diff(root: Path, names: Sequence[str] = (), *, binary: bool = False) -> ProjectDiff:
    """Return the patch of the team's changes to template-managed files (all, or ``names``).

    Raises `SvcforgeError` when the project is not generated or its template cannot be
    rendered (`svcforge.check.drift.pristine_render`).
    """
    project = load_project(root)
    pristine = pristine_render(project)
    render = pristine.render
    chosen = _selected(names, render.files, project.root)
    changed = [
        item
        # A file named on purpose is shown even when the template expects it to change.
        for item in changed_files(project.root, render, include_skipped=chosen is not None)
        if item.state in {CUSTOMISED, DELETED} and (chosen is None or item.path in chosen)
    ]
    patch = b"".join(
        file_patch(
            item.path,
            render.files[item.path],
            read_project_file(project.root, item.path),
            binary=binary,
        )
        for item in changed
    )
    files = tuple((item.path, item.state) for item in changed)
    return ProjectDiff(patch, files, render.commit)
