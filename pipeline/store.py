"""Files: atomic writes, content hashes, the build lock (the paper state is in state.py)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import OUTPUT_UNWRITABLE, ConfigError, LockError, RunError

TEMP_PREFIX, TEMP_SUFFIX = ".tmp-", ".part"  # an atomic write's temporary file


def _read_umask() -> int:
    """The process umask (read once, at import, before any thread runs: reading it sets it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


NEW_FILE_MODE = 0o666 & ~_read_umask()  # what open() gives a new file; mkstemp gives 0600


def _mode_for(path: Path) -> int:
    """The mode `path` keeps when replaced (as open() would keep it), else a new file's."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return NEW_FILE_MODE


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class WritesStopped(Exception):
    """A write asked for after the run was interrupted: refused, the process is stopping."""


class _WriteGate:
    """The atomic writes in progress. `close()` (Ctrl-C, SIGTERM) lets them finish and refuses
    new ones: an interrupted run leaves whole files, no temporary one, and records nothing after
    the stop. `open()` lets a new run write again."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._writing = 0
        self._closed = False

    @contextlib.contextmanager
    def one(self, path: Path) -> Iterator[None]:
        with self._changed:
            if self._closed:
                raise WritesStopped(f"{path}: not written, the run was interrupted")
            self._writing += 1
        try:
            yield
        finally:
            with self._changed:
                self._writing -= 1
                self._changed.notify_all()

    def close(self, timeout: float = 30.0) -> None:
        with self._changed:
            self._closed = True
            self._changed.wait_for(lambda: self._writing == 0, timeout)

    def open(self) -> None:
        with self._changed:
            self._closed = False


WRITES = _WriteGate()


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write via a temporary file and a rename, so readers see the old file or the new, never half.

    The file gets the mode open() would give it (an existing file's, else 0666 less the umask),
    not the temporary file's 0600: output/ is read by others (a web server, a Pages artifact).
    The temporary file (`.tmp-*.part`) lives next to `path`: a rename is atomic only within one
    mount, and a bind-mounted output/ (Docker, CI caches) is a mount of its own even on the same
    device. One left by a killed build is removed by the next (`remove_stale_temps`).
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    with WRITES.one(path):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
        try:
            os.fchmod(fd, _mode_for(path))  # readable by others (a web server) as open() makes it
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def write_if_changed(path: Path, data: str) -> bool:
    """Atomically write `data` unless the file already holds exactly it; True when written."""
    encoded = data.encode("utf-8")
    with contextlib.suppress(FileNotFoundError):
        if path.read_bytes() == encoded:
            return False
    atomic_write(path, encoded)
    return True


@contextlib.contextmanager
def build_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock for the whole build; LockError when another build has it.

    flock locks die with their process, so a killed build never leaves a stale lock behind.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fh = lock_path.open("a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise LockError(
                    f"another build is running (lock held on {lock_path}); "
                    "wait for it to finish or stop it"
                ) from None
            raise
        yield
    finally:
        fh.close()


def remove_stale_temps(*folders: Path, shallow: tuple[Path, ...] = ()) -> None:
    """Delete temporary files left by a build that was killed mid-write: anywhere under
    `folders`, directly in the `shallow` ones (the config's folder)."""
    found = [p for f in folders if f.is_dir() for p in f.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}")]
    found += [p for f in shallow if f.is_dir() for p in f.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}")]
    for tmp in found:
        with contextlib.suppress(OSError):
            tmp.unlink()


# A write the disk or the mount refused: no space, read-only, no permission, over quota.
UNWRITABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT})


def unwritable(exc: OSError, where: Path) -> RunError:
    """The run error of a write the disk refused, naming the file (else `where`)."""
    path = str(exc.filename or where)
    return RunError(OUTPUT_UNWRITABLE, path, f"{OUTPUT_UNWRITABLE}: {path}: {exc.strerror or exc}")


PROBE_BYTES = 4096  # a full disk refuses this much; an empty file it may still create


def check_writable(*folders: Path) -> None:
    """ConfigError naming the first folder where a file cannot be written (read-only, no
    space, not a folder): said before the build pays for any model answer it could not store."""
    for folder in folders:
        _probe(folder)


def _probe(folder: Path) -> None:
    """Write and remove a temporary file in `folder`, or in the nearest folder above it that
    exists (where it would be created): nothing is left behind, no folder is made."""
    where = folder
    while not where.exists() and where.parent != where:
        where = where.parent
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise ConfigError(f"{folder}: not writable ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"\0" * PROBE_BYTES)
            fh.flush()
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot write there ({exc.strerror or exc})") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(probe)
