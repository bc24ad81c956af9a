"""Find a submission's exercise modules and copy them, and nothing else, into a scratch folder.

A submission is a folder or a ``.zip`` archive holding ``activations.py``, ``losses.py``
and ``model.py``, either at its top level or in one subfolder (a student who zipped
their ``exercises/`` folder). Only those three files, plus the bonus module ``deep.py``
when present, are copied, so a ``conftest.py``, a test file or any other file the
submission carries never runs. Anything that cannot be graded safely raises
SubmissionError with a message meant for the student's report.
"""

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..implementation import REQUIRED

MODULE_FILES = tuple(f"{name}.py" for name in REQUIRED)

# Modules copied when the submission has them: the bonus exercises live in deep.py.
# A module the graded tests import must be listed here, or it is never copied.
OPTIONAL_MODULE_FILES = ("deep.py",)
COPIED_FILES = MODULE_FILES + OPTIONAL_MODULE_FILES

# A student's module is a few kilobytes. The cap stops a huge file from filling the
# scratch disk or slowing the import, while leaving room for long comments.
MAX_MODULE_BYTES = 1024 * 1024

# Archive limits, checked on the central directory before anything is decompressed.
# An archive over any of them is reported as a likely zip bomb. Only the three modules
# are ever decompressed, and each read stops at MAX_MODULE_BYTES whatever the header
# claims, so these checks decide the report, not the safety of the grader.
MAX_ARCHIVE_MEMBERS = 10_000
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024
MAX_MEMBER_RATIO = 100  # uncompressed / compressed, for members over RATIO_CHECK_BYTES
RATIO_CHECK_BYTES = 10 * 1024 * 1024

# Folders that never hold a submission's modules: editor, VCS and macOS archive litter.
SKIPPED_FOLDERS = {"__MACOSX", "__pycache__", "node_modules"}

# How far below the submission folder the modules may sit, and how many folders the
# search visits before it gives up on a huge tree.
MAX_SEARCH_DEPTH = 3
MAX_SEARCH_FOLDERS = 2000

# Files the exercises folder ships besides the modules; not worth listing as ignored.
UNREMARKABLE = {"__init__.py", "__pycache__"}


class SubmissionError(Exception):
    """A submission cannot be graded. The message states why, in words for the student."""


@dataclass
class CopiedSubmission:
    """The outcome of copying one submission: where the modules went, what was left out."""

    folder: Path
    ignored: list = field(default_factory=list)


def submission_name(path):
    """Return the name a submission is reported under: its folder name, or the archive's stem.

    The name is the one given, not a link's target: ``subs/alice`` linking to
    ``/data/x1`` is ``alice``. Only ``.`` and ``..`` are resolved to a folder name.
    """
    path = Path(path)
    name = path.name if path.name not in ("", ".", "..") else path.resolve().name
    if path.is_dir():
        return name
    return name[: -len(".zip")] if name.lower().endswith(".zip") else name


def is_archive(path):
    """Return True for a regular file whose name ends in ``.zip`` (any case)."""
    path = Path(path)
    return path.is_file() and path.name.lower().endswith(".zip")


def copy_submission(source, destination):
    """Copy the three modules of ``source`` (a folder or a .zip file) into ``destination``.

    ``destination`` is created. Returns a CopiedSubmission listing the names of the other
    entries beside the modules, which were not copied. Raises SubmissionError when a
    module is missing, too large, not a regular file, a symbolic link leading outside the
    submission, or when the archive is invalid or looks like a zip bomb.
    """
    source = Path(source)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        return _copy_from_folder(source, destination)
    return _copy_from_archive(source, destination)


# -- folders -----------------------------------------------------------------------


def _copy_from_folder(source, destination):
    root = source.resolve()
    try:
        entries = sorted(os.listdir(root))
    except OSError as error:
        raise SubmissionError(f"the submission folder cannot be read: {error.strerror}") from None
    if not entries:
        raise SubmissionError(
            f"the submission folder is empty; it must hold {_module_list()}"
        )
    module_folder = _find_module_folder(root)
    present = {name for name in MODULE_FILES if os.path.lexists(module_folder / name)}
    _check_complete(module_folder, present, root)
    for name in COPIED_FILES:
        if name in MODULE_FILES or os.path.lexists(module_folder / name):
            data = _read_module_file(module_folder / name, root)
            (destination / name).write_bytes(data)
    ignored = [name for name in sorted(os.listdir(module_folder))
               if name not in COPIED_FILES and name not in UNREMARKABLE]
    return CopiedSubmission(folder=destination, ignored=ignored)


def _find_module_folder(root):
    """Return the folder that contains the modules: ``root`` itself or one folder below it."""
    if any(os.path.lexists(root / name) for name in MODULE_FILES):
        return root
    candidates = []
    visited = 0
    for folder, subfolders, files in os.walk(root):
        visited += 1
        folder = Path(folder)
        depth = len(folder.relative_to(root).parts)
        # os.walk lists linked folders but does not enter them; dropping them here keeps
        # the search inside the submission.
        subfolders[:] = sorted(
            name for name in subfolders
            if not name.startswith(".") and name not in SKIPPED_FOLDERS
            and not (folder / name).is_symlink() and depth < MAX_SEARCH_DEPTH
        )
        if any(name in MODULE_FILES for name in files):
            candidates.append(folder)
        if visited >= MAX_SEARCH_FOLDERS:
            break
    if not candidates:
        raise SubmissionError(f"no {_module_list()} found in the submission")
    if len(candidates) > 1:
        shown = ", ".join(f"{path.relative_to(root)}/" for path in candidates[:5])
        raise SubmissionError(
            f"exercise modules found in several folders ({shown}); submit one copy"
        )
    return candidates[0]


def _read_module_file(path, root):
    """Return the bytes of one module file, refusing links out of ``root`` and non-files."""
    shown = path.relative_to(root)
    if path.is_symlink():
        try:
            target = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise SubmissionError(f"{shown} is a broken symbolic link; submit the file itself") from None
        if not target.is_relative_to(root):
            raise SubmissionError(
                f"{shown} is a symbolic link to {target}, outside the submission; "
                f"submit the file itself"
            )
        path = target
    try:
        info = os.stat(path)
    except OSError as error:
        raise SubmissionError(f"{shown} cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise SubmissionError(f"{shown} is not a regular file; submit a Python source file")
    if info.st_size > MAX_MODULE_BYTES:
        raise SubmissionError(_too_large(shown, info.st_size))
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_MODULE_BYTES + 1)
    except OSError as error:
        raise SubmissionError(f"{shown} cannot be read: {error.strerror}") from None
    if len(data) > MAX_MODULE_BYTES:
        raise SubmissionError(_too_large(shown, len(data)))
    return data


# -- archives ----------------------------------------------------------------------


def _copy_from_archive(source, destination):
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
            _check_archive_limits(members)
            chosen = _find_archive_modules(members)
            for name, member in chosen.items():
                (destination / name).write_bytes(_read_member(archive, member))
            folder = PurePosixPath(next(iter(chosen.values())).filename).parent
            ignored = sorted({
                _first_part_below(member.filename, folder) for member in members
                if _is_below(member.filename, folder)
            } - set(COPIED_FILES) - UNREMARKABLE - {""})
    except zipfile.BadZipFile as error:
        raise SubmissionError(f"the archive is not a valid zip file ({error})") from None
    except OSError as error:
        raise SubmissionError(f"the archive cannot be read: {error.strerror or error}") from None
    return CopiedSubmission(folder=destination, ignored=ignored)


def _check_archive_limits(members):
    """Reject archives with unsafe paths or sizes before any member is decompressed."""
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise SubmissionError(
            f"the archive contains {len(members)} entries, more than the limit of "
            f"{MAX_ARCHIVE_MEMBERS}; it looks like a zip bomb"
        )
    total = 0
    for member in members:
        if _is_unsafe_path(member.filename):
            raise SubmissionError(
                f"the archive entry {member.filename!r} points outside the archive "
                f"(an absolute path or '..'); zip the folder again from inside it"
            )
        total += member.file_size
        if (member.file_size > RATIO_CHECK_BYTES
                and member.file_size > MAX_MEMBER_RATIO * max(member.compress_size, 1)):
            raise SubmissionError(
                f"the archive entry {member.filename!r} expands from "
                f"{_mebibytes(member.compress_size)} to {_mebibytes(member.file_size)}, more "
                f"than {MAX_MEMBER_RATIO} times; it looks like a zip bomb"
            )
    if total > MAX_ARCHIVE_BYTES:
        raise SubmissionError(
            f"the archive expands to {_mebibytes(total)}, more than the limit of "
            f"{_mebibytes(MAX_ARCHIVE_BYTES)}; it looks like a zip bomb"
        )


def _is_unsafe_path(name):
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in re.split(r"[/\\]", name)


def _find_archive_modules(members):
    """Return ``{module file name: ZipInfo}`` for the one folder of the archive holding the modules."""
    by_folder = {}  # folder -> {file name: ZipInfo}, for required and optional modules
    for member in members:
        path = PurePosixPath(member.filename)
        if member.is_dir() or path.name not in COPIED_FILES:
            continue
        if any(part.startswith(".") or part in SKIPPED_FOLDERS for part in path.parent.parts):
            continue
        by_folder.setdefault(str(path.parent), {})[path.name] = member
    by_folder = {folder: found for folder, found in by_folder.items()
                 if any(name in MODULE_FILES for name in found)}
    if not by_folder:
        raise SubmissionError(f"no {_module_list()} found in the archive")
    if "." in by_folder:
        folder = "."
    elif len(by_folder) == 1:
        folder = next(iter(by_folder))
    else:
        shown = ", ".join(f"{name}/" for name in sorted(by_folder)[:5])
        raise SubmissionError(f"exercise modules found in several folders ({shown}); submit one copy")
    chosen = by_folder[folder]
    _check_complete(folder, set(chosen), None)
    for name, member in chosen.items():
        if stat.S_ISLNK(member.external_attr >> 16):
            raise SubmissionError(f"{member.filename} is a symbolic link in the archive; submit the file itself")
    return {name: chosen[name] for name in COPIED_FILES if name in chosen}


def _read_member(archive, member):
    """Decompress one member, stopping past MAX_MODULE_BYTES whatever its header claims."""
    if member.file_size > MAX_MODULE_BYTES:
        raise SubmissionError(_too_large(member.filename, member.file_size))
    try:
        with archive.open(member) as file:
            data = file.read(MAX_MODULE_BYTES + 1)
    except RuntimeError as error:  # zipfile raises RuntimeError for encrypted members
        raise SubmissionError(f"{member.filename} cannot be extracted: {error}") from None
    except (zipfile.BadZipFile, EOFError, ValueError) as error:
        raise SubmissionError(f"{member.filename} is damaged in the archive: {error}") from None
    if len(data) > MAX_MODULE_BYTES:
        raise SubmissionError(_too_large(member.filename, len(data)))
    return data


def _is_below(name, folder):
    path = PurePosixPath(name)
    return str(folder) == "." or path.is_relative_to(folder)


def _first_part_below(name, folder):
    path = PurePosixPath(name)
    relative = path if str(folder) == "." else path.relative_to(folder)
    return relative.parts[0] if relative.parts else ""


# -- messages ----------------------------------------------------------------------


def _check_complete(folder, present, root):
    missing = [name for name in MODULE_FILES if name not in present]
    if not missing:
        return
    where = ""
    if root is not None and Path(folder) != root:
        where = f" in {Path(folder).relative_to(root)}/"
    elif root is None and folder != ".":
        where = f" in {folder}/"
    raise SubmissionError(
        f"the submission is missing {', '.join(missing)}{where}; it must hold {_module_list()}"
    )


def _module_list():
    return f"{', '.join(MODULE_FILES[:-1])} and {MODULE_FILES[-1]}"


def _mebibytes(size):
    return f"{size / (1024 * 1024):.1f} MiB"


def _too_large(shown, size):
    return (
        f"{shown} is {_mebibytes(size)}, more than the limit of {_mebibytes(MAX_MODULE_BYTES)} "
        f"for one module"
    )
