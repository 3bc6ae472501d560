"""Files: atomic writes, content hashes, the build lock (the paper state is in state.py)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.errors import LockError


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes | str, tmp_dir: Path | None = None) -> None:
    """Write via a temporary file and a rename, so readers see the old file or the new, never half.

    The temporary file lives in `tmp_dir` when it is on the same file system (so a build killed
    mid-write leaves nothing in the output folder), else next to `path`.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    where = path.parent
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        if os.stat(tmp_dir).st_dev == os.stat(path.parent).st_dev:
            where = tmp_dir
    fd, tmp = tempfile.mkstemp(dir=where, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_if_changed(path: Path, data: str, tmp_dir: Path | None = None) -> bool:
    """Atomically write `data` unless the file already holds exactly it; True when written."""
    encoded = data.encode("utf-8")
    with contextlib.suppress(FileNotFoundError):
        if path.read_bytes() == encoded:
            return False
    atomic_write(path, encoded, tmp_dir)
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


def remove_stale_temps(*folders: Path) -> None:
    """Delete temporary files left by a build that was killed mid-write."""
    for folder in folders:
        if folder.is_dir():
            for tmp in folder.rglob(".tmp-*.part"):
                with contextlib.suppress(OSError):
                    tmp.unlink()
