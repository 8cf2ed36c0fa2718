"""Module resolution: directories, archives, hub: names, HTTP downloads, cache, offline."""
import http.server
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from galsim_deep.core.module_format import METADATA_FILE, ModuleFormatError
from galsim_deep.data import hub
from galsim_deep.training.export import make_archive


@pytest.fixture(scope="module")
def archive(tiny_module_path, tmp_path_factory):
    """The toy module packed as a .tar.gz, with its sha256 and size."""
    out = tmp_path_factory.mktemp("archives") / "toy-network-0.0.1.tar.gz"
    return make_archive(tiny_module_path, out)


class _Server:
    """A static file server on 127.0.0.1 that counts requests per path."""

    def __init__(self, root):
        counts = self.counts = {}

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                counts[self.path] = counts.get(self.path, 0) + 1
                return super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    srv = _Server(root)
    srv.root = root
    yield srv
    srv.close()


def _publish(server, archive, name="toy", version="1.0", sha256=None, size=None, data=None):
    """Put an archive (or other bytes) and an index.json entry on the server."""
    fname = f"{name}-{version}.tar.gz"
    if data is None:
        shutil.copyfile(archive["path"], server.root / fname)
    else:
        (server.root / fname).write_bytes(data)
    index_path = server.root / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {
        "format_version": 1, "modules": []}
    index["modules"].append({"name": name, "version": version, "description": "toy",
                             "url": fname, "sha256": sha256 or archive["sha256"],
                             "size": archive["size"] if size is None else size})
    index_path.write_text(json.dumps(index))
    return f"{server.url}/index.json"


def test_local_directory_and_archive(tiny_module_path, archive):
    assert hub.resolve(tiny_module_path) == Path(tiny_module_path)
    unpacked = hub.resolve(archive["path"])
    assert (unpacked / METADATA_FILE).is_file()
    assert unpacked.parent == hub.cache_dir()
    assert hub.resolve(str(archive["path"])) == unpacked  # cached, same place


def test_archive_bytes_are_reproducible(tiny_module_path, tmp_path, archive):
    again = make_archive(tiny_module_path, tmp_path / "again.tar.gz")
    assert again["sha256"] == archive["sha256"] and again["size"] == archive["size"]


def test_hub_name_downloads_over_http_and_caches(server, archive, monkeypatch):
    monkeypatch.setenv("GALSIM_DEEP_INDEX", _publish(server, archive, version="1.0"))
    _publish(server, archive, version="1.10")
    path = hub.resolve("hub:toy")  # newest version: 1.10 > 1.0 numerically
    assert path.name.startswith("toy-1.10-")
    assert hub.resolve("hub:toy@1.0").name.startswith("toy-1.0-")
    hub.resolve("hub:toy")
    assert server.counts["/toy-1.10.tar.gz"] == 1  # the second call used the cache
    import galsim_deep

    model = galsim_deep.GenerativeGalaxyModel("hub:toy@1.0")
    assert model.metadata["name"] == "toy-network"


def _yank(server, version, reason):
    index_path = server.root / "index.json"
    index = json.loads(index_path.read_text())
    for entry in index["modules"]:
        if entry["version"] == version:
            entry["yanked"] = reason
    index_path.write_text(json.dumps(index))


def test_a_yanked_version_is_never_the_bare_name(server, archive, monkeypatch):
    monkeypatch.setenv("GALSIM_DEEP_INDEX", _publish(server, archive, version="1.0"))
    _publish(server, archive, version="1.1")
    _yank(server, "1.1", "worse than 1.0 in every survey view")
    assert hub.find_entry("toy")["version"] == "1.0"  # the newest one not yanked
    with pytest.warns(hub.YankedModuleWarning, match="worse than 1.0 in every survey view"):
        assert hub.resolve("hub:toy@1.1").name.startswith("toy-1.1-")
    _yank(server, "1.0", "also bad")
    with pytest.raises(hub.HubError, match=r"every version of 'toy' is yanked \(1.0, 1.1\)"):
        hub.resolve("hub:toy")
    _yank(server, "1.0", 1)
    with pytest.raises(hub.HubError, match="'yanked' must be the reason"):
        hub.find_entry("toy")


def test_the_index_of_a_checkout_imported_from_its_root(monkeypatch):
    """Python started in a checkout's root imports its galsim_deep/, which lacks the
    installed package's galsim_deep.hub_modules: the checkout's hub_modules/ is the index."""
    import galsim_deep

    installed = hub.shipped_index()
    monkeypatch.setitem(sys.modules, "galsim_deep.hub_modules", None)  # import fails
    monkeypatch.delattr(galsim_deep, "hub_modules", raising=False)
    checkout = Path(galsim_deep.__file__).resolve().parents[1] / "hub_modules" / "index.json"
    assert hub.shipped_index() == checkout
    assert installed.read_bytes() == checkout.read_bytes()
    assert hub.find_entry("flow-vae-mock-cosmos-25.2")["index"] == str(checkout)


def test_plain_url(server, archive):
    shutil.copyfile(archive["path"], server.root / "m.tar.gz")
    path = hub.resolve(f"{server.url}/m.tar.gz")
    assert (path / METADATA_FILE).is_file()


def test_truncated_archive_is_rejected_and_nothing_installed(server, archive, monkeypatch):
    data = archive["path"].read_bytes()
    monkeypatch.setenv("GALSIM_DEEP_INDEX",
                       _publish(server, archive, data=data[: len(data) // 2]))
    with pytest.raises(hub.HubError, match="truncated"):
        hub.resolve("hub:toy")
    assert not [p for p in hub.cache_dir().iterdir() if p.is_dir()]
    # A truncated archive without an index entry (no size to compare) fails at unpacking.
    (server.root / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(hub.HubError, match="truncated or corrupt") as info:
        hub.resolve(f"{server.url}/cut.tar.gz")
    # named by the URL the user gave, not the cache's temporary copy, and what to do
    message = str(info.value)
    assert message.startswith(f"{server.url}/cut.tar.gz is not a readable")
    assert ".tmp" not in message and "galsim-deep hub verify" in message


def test_corrupt_local_archive_is_named_by_its_path(tmp_path):
    bad = tmp_path / "my-module.tar.gz"
    bad.write_bytes(b"not an archive at all")
    with pytest.raises(hub.HubError) as info:
        hub.resolve(str(bad))
    message = str(info.value)
    assert message.startswith(f"{bad} is not a readable .tar.gz module archive")
    assert "truncated or corrupt" in message and "replace it" in message
    assert ".tmp" not in message and str(hub.cache_dir()) not in message
    assert not [p for p in hub.cache_dir().iterdir() if p.is_dir()]  # nothing installed


def test_wrong_checksum_is_rejected(server, archive, monkeypatch):
    monkeypatch.setenv("GALSIM_DEEP_INDEX", _publish(server, archive, sha256="0" * 64))
    with pytest.raises(hub.HubError, match="sha256 mismatch"):
        hub.resolve("hub:toy")
    assert not [p for p in hub.cache_dir().iterdir() if p.is_dir()]


def test_two_processes_downloading_at_once(server, archive, monkeypatch, tmp_path):
    index = _publish(server, archive)
    script = ("import sys; from galsim_deep.data import hub; "
              "p = hub.resolve('hub:toy'); "
              "from galsim_deep.core.module_format import read_metadata; "
              "read_metadata(p); print(p)")
    env = dict(__import__("os").environ, GALSIM_DEEP_INDEX=index)
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    assert outs[0][0].strip() == outs[1][0].strip()
    assert server.counts["/toy-1.0.tar.gz"] == 1  # the lock made the second one wait
    leftovers = [p.name for p in hub.cache_dir().iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_offline_never_touches_the_network(server, archive, monkeypatch):
    # The same index read from disk: its relative URLs become file:// URLs.
    local_index = _publish(server, archive).replace(server.url, str(server.root))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", local_index)
    monkeypatch.setenv("GALSIM_DEEP_OFFLINE", "1")
    shutil.copyfile(archive["path"], server.root / "m.tar.gz")
    with pytest.raises(hub.HubError, match="OFFLINE"):
        hub.resolve(f"{server.url}/m.tar.gz")
    assert "/m.tar.gz" not in server.counts
    # local files still resolve offline
    assert (hub.resolve("hub:toy") / METADATA_FILE).is_file()


def test_unknown_names_list_what_exists(server, archive, monkeypatch):
    monkeypatch.setenv("GALSIM_DEEP_INDEX", _publish(server, archive))
    _publish(server, archive, name="galaxy-model")
    with pytest.raises(hub.HubError,
                       match=r"no module 'nope'.*available: .*galaxy-model, .*toy\."):
        hub.resolve("hub:nope")
    with pytest.raises(hub.HubError, match=r"did you mean hub:galaxy-model\?"):
        hub.resolve("hub:galaxy-modle")
    with pytest.raises(hub.HubError, match=r"no module 'toy@9'.*its versions: 1.0\."):
        hub.resolve("hub:toy@9")
    with pytest.raises(hub.HubError, match="not a valid hub name"):
        hub.resolve("hub:../etc")


def test_bad_index_and_files(tmp_path, monkeypatch, tiny_module_path):
    bad = tmp_path / "index.json"
    bad.write_text("{not json")
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(bad))
    with pytest.raises(hub.HubError, match="not valid JSON"):
        hub.resolve("hub:x")
    bad.write_text(json.dumps({"format_version": 99, "modules": []}))
    with pytest.raises(hub.HubError, match="newer"):
        hub.resolve("hub:x")
    junk = tmp_path / "model.txt"
    junk.write_text("hello")
    with pytest.raises(hub.HubError, match="not a .tar.gz"):
        hub.resolve(junk)
    # a directory that is not a module
    broken = tmp_path / "broken"
    shutil.copytree(tiny_module_path, broken)
    (broken / "saved_model.pb").unlink()
    with pytest.raises(ModuleFormatError, match="saved_model.pb"):
        hub.resolve(broken)


def test_verify_reports_corruption(server, archive, monkeypatch):
    monkeypatch.setenv("GALSIM_DEEP_INDEX", _publish(server, archive))
    entry = hub.find_entry("toy")
    assert hub.verify_entry(entry) == "not cached"
    path = hub.resolve("hub:toy")
    assert hub.verify_entry(entry, load=True) == "ok"
    (path / METADATA_FILE).write_text("{")
    assert hub.verify_entry(entry).startswith("corrupt")


def _packaged_archives():
    """The hub archives setup.cfg's package_data puts in a plain install."""
    import configparser

    config = configparser.ConfigParser()
    config.read(Path(__file__).resolve().parents[2] / "setup.cfg")
    patterns = config["options.package_data"]["galsim_deep.hub_modules"].split()
    return {p for p in patterns if p.endswith(".tar.gz")}


def test_a_plain_install_carries_what_each_bare_name_resolves_to_and_nothing_older():
    index = hub.load_index(hub.shipped_index())
    newest = {Path(hub.find_entry(name)["url"]).name for name in {e["name"] for e in index}}
    assert _packaged_archives() == newest
    assert all("*" not in p for p in _packaged_archives())  # named, never a glob


def test_an_older_version_missing_from_a_plain_install_names_the_fix(tmp_path, monkeypatch,
                                                                     archive):
    """A plain install leaves the older archives out: naming one says where they are; an
    extra index's missing archive names that index."""
    shipped = tmp_path / "installed" / "index.json"
    shipped.parent.mkdir()
    shutil.copyfile(archive["path"], shipped.parent / "toy-2.0.tar.gz")
    entries = [{"name": "toy", "version": v, "description": "toy", "url": f"toy-{v}.tar.gz",
                "sha256": archive["sha256"], "size": archive["size"]} for v in ("1.0", "2.0")]
    shipped.write_text(json.dumps({"format_version": 1, "modules": entries}))
    monkeypatch.setattr(hub, "shipped_index", lambda: shipped)
    monkeypatch.delenv("GALSIM_DEEP_INDEX", raising=False)
    assert (hub.resolve("hub:toy") / METADATA_FILE).is_file()  # the newest is there
    with pytest.raises(hub.HubError, match="not in this installation.*newest version of "
                                           "each module only.*pip install -e"):
        hub.resolve("hub:toy@1.0")
    from galsim_deep.cli.hub import _status

    assert [_status(hub.find_entry("toy", v)) for v in ("1.0", "2.0")] == ["absent", "cached"]
    extra = tmp_path / "extra" / "index.json"
    extra.parent.mkdir()
    extra.write_text(json.dumps({"format_version": 1, "modules": [
        dict(entries[0], name="other")]}))
    monkeypatch.setenv("GALSIM_DEEP_INDEX", str(extra))
    with pytest.raises(hub.HubError, match="other.*is not on this disk.*fix the index"):
        hub.resolve("hub:other")
