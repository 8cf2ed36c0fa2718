"""Find, download, verify and cache galsim_deep modules.

A model is named by any of:

- ``hub:NAME`` or ``hub:NAME@VERSION``: an entry of a module index, the one
  shipped in ``hub_modules/index.json`` and any listed in the environment
  variable ``GALSIM_DEEP_INDEX`` (comma-separated paths or URLs of
  ``index.json`` files, searched first);
- a module directory;
- a ``.tar.gz`` archive of one;
- an ``http://``, ``https://`` or ``file://`` URL of an archive.

Archives are unpacked into the user cache (``GALSIM_DEEP_CACHE``, default
``~/.cache/galsim_deep``) under a file lock: the archive is downloaded to a
temporary file, checked against the index's sha256 and size, unpacked into a
temporary directory, validated, and renamed into place, so concurrent
processes (GalSim with nproc > 1, MPI ranks) never see a half-written module.
With ``GALSIM_DEEP_OFFLINE=1`` nothing touches the network: only cached or
local modules resolve.
"""
import functools
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

from ..core.files import atomic_path, cache_dir, sha256sum
from ..core.module_format import METADATA_FILE, ModuleFormatError, read_metadata
from ..core.errors import GalsimDeepError, InputTypeError

__all__ = ["HubError", "YankedModuleWarning", "cache_dir", "is_offline", "load_index",
           "find_entry", "resolve", "verify_entry", "INDEX_FORMAT_VERSION", "DEFAULT_MODEL",
           "DEFAULT_COLOUR_MODEL", "has_module", "index_name", "is_shipped", "archive_missing",
           "entry_metadata",
           "shipped_index"]

#: The shipped default model: what ``make demo``, ``galsim-deep field render`` and the
#: latent tools use when no model is named.
DEFAULT_MODEL = "hub:flow-vae-mock-cosmos-25.2"

#: The shipped default chromatic module, which the demo draws its LSST gri field with.
DEFAULT_COLOUR_MODEL = "hub:flow-vae-mock-cosmos-25.2-colour"

#: Version of the ``index.json`` layout.
INDEX_FORMAT_VERSION = 1
_INDEX_KEYS = ("name", "version", "description", "url", "sha256", "size")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DOWNLOAD_TIMEOUT = 60  # seconds without data before a download is abandoned


class HubError(GalsimDeepError, RuntimeError):
    """A model name cannot be resolved to a valid module."""


class YankedModuleWarning(UserWarning):
    """A module version named explicitly is yanked in its index (the entry's reason)."""


def is_offline():
    """Return True when ``GALSIM_DEEP_OFFLINE`` is set to a true value (1, true, yes)."""
    return os.environ.get("GALSIM_DEEP_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def _is_url(name):
    return urllib.parse.urlparse(str(name)).scheme in ("http", "https", "file")


def shipped_index():
    """The path of the module index shipped with the package (``hub_modules/index.json``).

    An installed package has it as ``galsim_deep.hub_modules`` (setup.cfg maps the
    checkout's ``hub_modules/`` there).  Python started in a checkout's root imports the
    checkout's ``galsim_deep/`` instead, which has no such subpackage: the index is then
    the checkout's own ``hub_modules/index.json``.
    """
    try:
        from galsim_deep import hub_modules
    except ImportError:
        checkout = Path(__file__).resolve().parents[2] / "hub_modules" / "index.json"
        if checkout.is_file():
            return checkout
        raise HubError("galsim_deep.hub_modules is missing: the package is incomplete; "
                       "reinstall it (pip install galsim_deep, or pip install . in a "
                       "checkout)") from None
    return Path(hub_modules.__file__).with_name("index.json")


def _index_locations():
    extra = [s.strip() for s in os.environ.get("GALSIM_DEEP_INDEX", "").split(",") if s.strip()]
    return extra + [str(shipped_index())]


def _read_url(url):
    """Return the bytes at a URL (used for small files such as index.json)."""
    if is_offline() and urllib.parse.urlparse(url).scheme in ("http", "https"):
        raise HubError(f"GALSIM_DEEP_OFFLINE is set, so the index {url} cannot be read; "
                       f"unset it or remove the URL from GALSIM_DEEP_INDEX.")
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response:
            return response.read()
    except OSError as err:
        raise HubError(f"cannot read {url}: {err}") from None


def load_index(location):
    """Read and check one module index.

    Parameters
    ----------
    location : str or Path
        Path or URL of an ``index.json``.

    Returns
    -------
    list of dict
        The entries, each with ``name``, ``version``, ``description``,
        ``url`` (made absolute: relative URLs are relative to the index),
        ``sha256`` and ``size`` (bytes), and where the index gives one, ``yanked``
        (why that version is no longer chosen for a bare name: :func:`find_entry`).
    """
    location = str(location)
    if _is_url(location):
        text, base = _read_url(location), location
    else:
        path = Path(location)
        if not path.is_file():
            raise HubError(f"module index {location} does not exist; check GALSIM_DEEP_INDEX")
        text, base = path.read_bytes(), path.resolve().as_uri()
    try:
        index = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HubError(f"module index {location} is not valid JSON: {err}") from None
    if not isinstance(index, dict) or not isinstance(index.get("modules"), list):
        raise HubError(f"module index {location} must be an object with a 'modules' list")
    if index.get("format_version", 1) > INDEX_FORMAT_VERSION:
        raise HubError(f"module index {location} has format_version "
                       f"{index['format_version']}, newer than this galsim_deep reads "
                       f"({INDEX_FORMAT_VERSION}); upgrade galsim_deep.")
    entries = []
    for i, entry in enumerate(index["modules"]):
        missing = [k for k in _INDEX_KEYS if k not in entry]
        if missing:
            raise HubError(f"module index {location}: entry {i} lacks {missing}")
        if not isinstance(entry.get("yanked", ""), str):
            raise HubError(f"module index {location}: entry {i}'s 'yanked' must be the "
                           f"reason (a string), got {entry['yanked']!r}")
        entry = dict(entry)
        entry["url"] = urllib.parse.urljoin(base, entry["url"])
        entry["index"] = location
        entries.append(entry)
    return entries


def _version_key(version):
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.\-+]", version))


def find_entry(name, version=None):
    """Return the index entry for a module name.

    Without ``version``, the newest version that is not *yanked* (an entry with a
    ``yanked`` reason, as PEP 592 yanks a release: kept for those who name its
    version, never chosen for a bare name).  A yanked version named explicitly
    resolves, with a :class:`YankedModuleWarning` giving the reason.

    Raises
    ------
    HubError
        If no index lists the name (or that version), naming the ones that exist, or if
        every version of the name is yanked.

    Examples
    --------
    >>> from galsim_deep.data.hub import find_entry
    >>> entry = find_entry("flow-vae-mock-cosmos-25.2", "1.1.2")
    >>> entry["name"], entry["version"], entry["yanked"][:40]
    ('flow-vae-mock-cosmos-25.2', '1.1.2', ...)
    >>> find_entry("flow-vae-mock-cosmos-25.2")["version"] != "1.1.2"  # never a bare name's
    True
    """
    candidates, known = [], set()
    for location in _index_locations():
        for entry in load_index(location):
            known.add(f"{entry['name']}@{entry['version']}")
            if entry["name"] == name and version in (None, entry["version"]):
                candidates.append(entry)
        if candidates:  # earlier indexes take precedence
            break
    if not candidates:
        import difflib

        what = f"{name}@{version}" if version else name
        names = sorted({k.partition("@")[0] for k in known})
        if name in names:  # a version the index does not list
            versions = sorted((k.partition("@")[2] for k in known if k.startswith(name + "@")),
                              key=_version_key)
            hint = f"its versions: {', '.join(versions)}."
        else:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = (f"did you mean {' or '.join(f'hub:{c}' for c in close)}?" if close else
                    f"available: {', '.join(names) or 'none'}.")
        raise HubError(f"no module {what!r} in the module index(es) {_index_locations()}; "
                       f"{hint} See `galsim-deep hub list`.")
    if version is None:
        kept = [e for e in candidates if not e.get("yanked")]
        if not kept:
            raise HubError(f"every version of {name!r} is yanked "
                           f"({', '.join(e['version'] for e in candidates)}); name one "
                           f"explicitly, hub:{name}@VERSION, if you must use it")
        return max(kept, key=lambda e: _version_key(e["version"]))
    entry = max(candidates, key=lambda e: _version_key(e["version"]))
    if entry.get("yanked"):
        warnings.warn(f"hub:{name}@{version} is yanked: {entry['yanked']}", YankedModuleWarning,
                      stacklevel=2)
    return entry


def has_module(name):
    """Whether a module index lists ``name`` (``hub:NAME`` or ``NAME``)."""
    name = name.split(":", 1)[1] if name.startswith("hub:") else name
    try:
        find_entry(name)
    except HubError:
        return False
    return True


def index_name(name):
    """``hub:NAME[@VERSION]`` for a model named as ``galsim-deep hub list`` prints it.

    Parameters
    ----------
    name : str
        ``NAME`` or ``NAME@VERSION`` of an index entry, or any other model name.

    Returns
    -------
    str
        ``hub:`` + ``name`` where an index lists ``NAME`` and no file or folder of that
        name exists here; else ``name`` unchanged (:func:`resolve` then explains).
    """
    name = str(name)
    if name.startswith("hub:") or _is_url(name) or Path(name).expanduser().exists():
        return name
    base, _, version = name.partition("@")
    if _NAME_RE.match(base) and (not version or _NAME_RE.match(version)) and has_module(base):
        return f"hub:{name}"
    return name


def is_shipped(entry):
    """Whether an index entry is one of the modules shipped with galsim_deep (its archive
    is in the package: nothing to download)."""
    return Path(entry["index"]) == shipped_index()


def entry_metadata(entry):
    """An index entry's module metadata, read without unpacking anything.

    Parameters
    ----------
    entry : dict
        An index entry (:func:`load_index`).

    Returns
    -------
    dict or None
        The metadata of its cached copy, else of its archive's metadata file where the
        archive is on this disk (a shipped module); None where neither is (an archive
        not yet downloaded) or it cannot be read (``galsim-deep hub verify`` says why).
    """
    key = f"{entry['name']}-{entry['version']}-{entry['sha256'][:12]}"
    try:
        if (cache_dir() / key / METADATA_FILE).is_file():
            return read_metadata(cache_dir() / key)
        url = urllib.parse.urlparse(entry["url"])
        if url.scheme != "file" or archive_missing(entry):
            return None
        with tarfile.open(urllib.request.url2pathname(url.path), "r:gz") as tar:
            for member in tar:
                if member.isfile() and Path(member.name).name == METADATA_FILE:
                    return json.load(tar.extractfile(member))
    except (ModuleFormatError, OSError, ValueError, tarfile.TarError, EOFError):
        pass
    return None


def _download(url, dest, expected_size=None):
    """Stream ``url`` into the file ``dest`` with a progress bar for large files."""
    from tqdm import tqdm

    scheme = urllib.parse.urlparse(url).scheme
    if is_offline() and scheme in ("http", "https"):
        raise HubError(f"GALSIM_DEEP_OFFLINE is set and {url} is not in the cache "
                       f"({cache_dir()}); run `galsim-deep hub download` while online, "
                       f"or unset GALSIM_DEEP_OFFLINE.")
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response, \
                open(dest, "wb") as out, \
                tqdm(total=expected_size, unit="B", unit_scale=True, leave=False,
                     desc=f"downloading {Path(urllib.parse.urlparse(url).path).name}",
                     disable=(expected_size or 0) < (8 << 20)) as bar:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                bar.update(len(block))
    except OSError as err:
        raise HubError(f"cannot download {url}: {err}") from None


def _unpack(archive, dest_parent, source):
    """Unpack a module archive into a new temporary folder; return the module directory.

    ``source`` (what the user gave: ``hub:NAME``, a URL or a path, and what to do about a
    bad archive) names the archive in the errors, not the cache's temporary copy.
    """
    what, fix = source
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest_parent))
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(tmp, filter="data")
    except (tarfile.TarError, EOFError, OSError, ValueError) as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise HubError(f"{what} is not a readable .tar.gz module archive ({err}): it is "
                       f"truncated or corrupt. {fix}") from None
    found = sorted(p.parent for p in tmp.rglob(METADATA_FILE))
    if len(found) != 1:
        shutil.rmtree(tmp, ignore_errors=True)
        raise HubError(f"{what} holds {len(found)} galsim_deep modules (files named "
                       f"{METADATA_FILE}); a module archive holds exactly one.")
    try:
        read_metadata(found[0])
    except ModuleFormatError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise HubError(f"{what}: {err}") from None
    return tmp, found[0]


def _cached_module(key, fetch, source, sha256=None, size=None):
    """Return the cached module ``key``, creating it with ``fetch(dest)`` under a lock.

    ``fetch`` writes the archive to the path it is given.  The archive is
    checked (sha256, size), unpacked and renamed into ``cache_dir()/key``.
    ``source`` is ``(what the user gave, what to do if its archive is bad)``.
    """
    from filelock import FileLock

    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    target = root / key
    if (target / METADATA_FILE).is_file():
        return target
    with FileLock(str(root / f"{key}.lock")):
        if (target / METADATA_FILE).is_file():  # another process finished it meanwhile
            return target
        with atomic_path(root / f"{key}.tar.gz") as archive:
            fetch(archive)
            got_size = archive.stat().st_size
            if size is not None and got_size != size:
                raise HubError(f"{key}: downloaded {got_size} bytes but the index says "
                               f"{size}: the download was truncated or the index is stale. "
                               f"Try again; if it persists, report it.")
            if sha256 is not None:
                got = sha256sum(archive)
                if got != sha256:
                    raise HubError(f"{key}: sha256 mismatch (index {sha256}, downloaded "
                                   f"{got}): the file is corrupt or was replaced. Nothing "
                                   f"was installed; try again.")
            tmp, module = _unpack(archive, root, source)
        try:
            if target.exists():  # a stale, incomplete leftover from an old crash
                shutil.rmtree(target)
            os.replace(module, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def archive_missing(entry):
    """Whether an index entry's archive is a file that is not on this disk (an older version
    of a shipped module in a plain install, which carries each name's newest only)."""
    url = urllib.parse.urlparse(entry["url"])
    return url.scheme == "file" and not Path(urllib.request.url2pathname(url.path)).is_file()


def _check_local_archive(name, entry):
    """Refuse, with the fix, an index entry whose archive is a file that is not on this disk:
    an older version of a shipped module, which a plain install leaves out."""
    if not archive_missing(entry):
        return
    if is_shipped(entry):
        raise HubError(f"{name} is listed in the shipped index, but its archive is not in this "
                       f"installation: a plain install carries the newest version of each "
                       f"module only.  Older versions are in a clone's hub_modules/: install "
                       f"from the clone with `pip install -e .`, or set GALSIM_DEEP_INDEX to "
                       f"the clone's hub_modules/index.json.")
    raise HubError(f"{name}: the archive {entry['url']} that its index ({entry['index']}) "
                   f"lists is not on this disk; restore it or fix the index's url.")


def resolve(file_name):
    """Turn a model name into a local, validated module directory.

    Parameters
    ----------
    file_name : str or Path
        ``hub:NAME``, ``hub:NAME@VERSION``, a module directory, a ``.tar.gz``
        archive, or an http(s)/file URL of an archive.

    Returns
    -------
    Path
        The module directory (in the cache for archives and URLs).

    Raises
    ------
    HubError
        If the name cannot be found, downloaded or unpacked.
    ModuleFormatError
        If a local directory is not a valid module.

    Examples
    --------
    >>> from galsim_deep.data.hub import resolve
    >>> path = resolve("hub:flow-vae-mock-cosmos-25.2")
    >>> (path / "galsim_deep_module.json").is_file()
    True
    >>> resolve("hub:no-such-model")
    Traceback (most recent call last):
    ...
    galsim_deep.data.hub.HubError: ...
    """
    if not isinstance(file_name, (str, os.PathLike)):
        raise InputTypeError(f"a model is named by a str or path, got {type(file_name).__name__}")
    name = str(file_name)
    if name.startswith("hub:"):
        spec = name[4:]
        base, _, version = spec.partition("@")
        if not _NAME_RE.match(base) or (version and not _NAME_RE.match(version)):
            raise HubError(f"{name!r} is not a valid hub name; use hub:NAME or "
                           f"hub:NAME@VERSION (letters, digits, '.', '_', '-')")
        entry = find_entry(base, version or None)
        key = f"{entry['name']}-{entry['version']}-{entry['sha256'][:12]}"
        if not (cache_dir() / key / METADATA_FILE).is_file():
            _check_local_archive(name, entry)
        source = (f"{name} (archive {entry['url']})",
                  "The index's sha256 matched, so the published archive itself is bad: "
                  "nothing was installed; report it to the index's maintainer, and run "
                  "`galsim-deep hub verify` to re-check the other cached modules.")
        return _cached_module(key, functools.partial(_download, entry["url"]), source,
                              entry["sha256"], entry["size"])
    if _is_url(name):
        import hashlib

        key = "url-" + hashlib.sha256(name.encode()).hexdigest()[:20]
        source = (name, "Nothing was installed; download it again (or check the URL), and "
                        "run `galsim-deep hub verify` to re-check the cached modules.")
        return _cached_module(key, functools.partial(_download, name), source)
    path = Path(name).expanduser()
    if path.is_dir():
        read_metadata(path)
        return path
    if path.is_file():
        if not (path.name.endswith(".tar.gz") or path.name.endswith(".tgz")):
            raise HubError(f"{path} is a file but not a .tar.gz module archive; give a "
                           f"module directory, an archive, a URL or hub:NAME")
        key = "archive-" + sha256sum(path)[:20]
        source = (str(path), "Nothing was installed; replace it with a complete copy "
                             "(download or export it again).")
        return _cached_module(key, lambda dest: shutil.copyfile(path, dest), source)
    listed = index_name(name)
    base, _, version = str(name).partition("@")
    if listed == name and _NAME_RE.match(base) and (not version or _NAME_RE.match(version)):
        try:  # a bare module name the index does not list: say which it does
            find_entry(base, version or None)
        except HubError as err:
            raise HubError(f"{name!r} is no file or folder here, and {err}") from None
    hint = f" Did you mean {listed!r}?" if listed != name else ""
    raise HubError(f"{name!r} is neither hub:NAME, a URL, nor an existing module directory "
                   f"or archive.{hint} See `galsim-deep hub list` for the shipped models.")


def verify_entry(entry, load=False):
    """Re-check the cached copy of an index entry.

    Parameters
    ----------
    entry : dict
        An index entry (see :func:`load_index`).
    load : bool
        Also load the SavedModel with TensorFlow and check its signatures.

    Returns
    -------
    str
        ``'ok'``, ``'not cached'``, or a description of the problem found.
    """
    key = f"{entry['name']}-{entry['version']}-{entry['sha256'][:12]}"
    target = cache_dir() / key
    if not target.exists():
        return "not cached"
    archive = cache_dir() / f"{key}.tar.gz"
    if archive.exists() and sha256sum(archive) != entry["sha256"]:
        return "corrupt: the cached archive's sha256 differs from the index"
    try:
        meta = read_metadata(target)
        if load:
            import tensorflow as tf

            from ..core.module_format import check_signatures

            check_signatures(tf.saved_model.load(str(target)), meta, source=str(target))
    except (ModuleFormatError, OSError, ValueError) as err:
        return f"corrupt: {err}"
    return "ok"
