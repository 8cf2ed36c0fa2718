"""Small file-system helpers shared by every part of galsim_deep.

Every file galsim_deep writes goes through :func:`atomic_path` (or
:func:`atomic_directory`): it is written under a temporary name in the same
folder and renamed into place only when complete, so a reader never sees a
half-written file and an interrupted job leaves the previous file intact.
:func:`write_keyed_arrays` and :func:`read_keyed_arrays` keep computed arrays tagged with
what computed them, so that an interrupted job reuses what it finished and nothing else.
"""
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_directory", "cache_dir", "sha256sum", "write_keyed_arrays",
           "read_keyed_arrays"]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path, directory=False):
    """Give a finished temporary file or folder the ordinary permissions (umask applied);
    ``mkstemp`` and ``mkdtemp`` create them private (0600 / 0700)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : str or Path
        The final file name.
    suffix : str, optional
        Suffix for the temporary name (default: the final file's suffix, so
        that libraries choosing a format from the extension still work).

    Yields
    ------
    Path
        Where to write.  If the block raises, the temporary file is removed and
        ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-",
                               suffix=path.suffix if suffix is None else suffix,
                               dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _publish_mode(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_directory(path):
    """Yield a temporary directory beside ``path``; rename it to ``path`` on success.

    An existing ``path`` is replaced only once the new directory is complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        _publish_mode(tmp, directory=True)
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def cache_dir():
    """The user cache of galsim_deep: ``GALSIM_DEEP_CACHE``, else ``~/.cache/galsim_deep``.

    It holds downloaded modules (:mod:`galsim_deep.data.hub`) and the runtime's compiled
    networks (:mod:`galsim_deep.engine.runtimes`); anything in it may be deleted.

    Returns
    -------
    Path
    """
    return Path(os.environ.get("GALSIM_DEEP_CACHE",
                               Path.home() / ".cache" / "galsim_deep")).expanduser()


def sha256sum(path, chunk_size=1 << 20):
    """Return the hex SHA-256 digest of a file, read in chunks of ``chunk_size`` bytes."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def write_keyed_arrays(path, key, arrays):
    """Write ``arrays`` (name -> array) to the ``.npz`` file ``path``, atomically, tagged
    with ``key``: a string naming what computed them (a model, its settings), which
    :func:`read_keyed_arrays` checks."""
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, key=np.asarray(key), **arrays)


def read_keyed_arrays(path, key, fields):
    """The arrays ``fields`` that :func:`write_keyed_arrays` kept in ``path`` for ``key``.

    Returns
    -------
    dict or None
        None when ``path`` is None or missing, was written for another key, or is damaged:
        what it held is to be computed again.
    """
    import zipfile

    import numpy as np

    if path is None or not Path(path).is_file():
        return None
    try:
        with np.load(path) as f:
            if str(f["key"]) == key:
                return {k: f[k] for k in fields}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # a damaged or stale file is computed again
    return None
