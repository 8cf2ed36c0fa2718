"""The builder: determinism across processes, resume, protection of finished files, arguments."""
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from galsim_deep.data import build as build_module
from galsim_deep.data.build import build_dataset, partial_path, split_indices

SMALL = dict(stamp_size=32, pixel_scale=0.03, seed=3, progress=False)


def _arrays(path):
    with h5py.File(path, "r") as f:
        out = {k: f[k][...] for k in f if isinstance(f[k], h5py.Dataset)}
        out.update({f"conditions/{k}": f["conditions"][k][...] for k in f["conditions"]})
    return out


def _assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """12 galaxies, one process, chunks of 4."""
    out = tmp_path_factory.mktemp("ref") / "ref.h5"
    return build_dataset("mock-cosmos", 12, out, processes=1, chunk_size=4, **SMALL)


def test_same_seed_same_arrays_whatever_the_process_count(reference, tmp_path):
    two = build_dataset("mock-cosmos", 12, tmp_path / "two.h5", processes=2, chunk_size=3,
                        **SMALL)
    _assert_same_arrays(_arrays(reference), _arrays(two))
    assert not partial_path(two).exists()
    other = build_dataset("mock-cosmos", 12, tmp_path / "seed4.h5", processes=1, chunk_size=4,
                          **dict(SMALL, seed=4))
    assert not np.array_equal(_arrays(other)["stamp"], _arrays(reference)["stamp"])


def test_the_same_build_writes_the_same_bytes(reference, tmp_path):
    """A report's dataset SHA-256 names the data: no build time is stored in the file."""
    from galsim_deep.core.files import sha256sum

    time.sleep(1.1)  # a build time (to the second) would differ now
    again = build_dataset("mock-cosmos", 12, tmp_path / "again.h5", processes=1, chunk_size=4,
                          **SMALL)
    assert sha256sum(again) == sha256sum(reference)


def test_resume_after_an_exception(reference, tmp_path, monkeypatch):
    out = tmp_path / "resumed.h5"
    real_write = build_module._write_chunk
    calls = []

    def failing(source, partial, c, start, stop):
        if len(calls) == 2:
            raise KeyboardInterrupt("simulated interruption")
        calls.append(c)
        return real_write(source, partial, c, start, stop)

    monkeypatch.setattr(build_module, "_write_chunk", failing)
    with pytest.raises(KeyboardInterrupt):
        build_dataset("mock-cosmos", 12, out, processes=1, chunk_size=4, **SMALL)
    assert not out.exists()
    chunks = sorted(p.name for p in partial_path(out).glob("chunk_*.npz"))
    assert chunks == ["chunk_000000.npz", "chunk_000001.npz"]
    monkeypatch.setattr(build_module, "_write_chunk", real_write)
    redrawn = []
    monkeypatch.setattr(build_module, "_write_chunk",
                        lambda *a: redrawn.append(a[2]) or real_write(*a))
    build_dataset("mock-cosmos", 12, out, processes=1, chunk_size=4, **SMALL)
    assert redrawn == [2]  # only the missing chunk was drawn
    assert not partial_path(out).exists()
    _assert_same_arrays(_arrays(reference), _arrays(out))


def test_resume_after_killing_the_build(reference, tmp_path):
    out = tmp_path / "killed.h5"
    # A build slowed down to 0.2 s per galaxy, killed (SIGKILL) after 3 finished chunks.
    code = ("import time\n"
            "import galsim_deep.data.build as b\n"
            "write = b._write_chunk\n"
            "b._write_chunk = lambda *a: (time.sleep(0.2), write(*a))[1]\n"
            f"b.build_dataset('mock-cosmos', 12, {str(out)!r}, stamp_size=32, pixel_scale=0.03, "
            "seed=3, processes=1, chunk_size=1, progress=False)\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    partial = partial_path(out)
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            if len(list(partial.glob("chunk_*.npz"))) >= 3 or out.exists():
                break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = len(list(partial.glob("chunk_*.npz")))
    assert not out.exists() and 3 <= done < 12
    build_dataset("mock-cosmos", 12, out, processes=1, chunk_size=1, **SMALL)
    _assert_same_arrays(_arrays(reference), _arrays(out))
    assert not partial.exists()


def test_an_unguarded_script_gets_an_error_not_a_hang(tmp_path):
    # Each spawned worker re-runs a script without a __main__ guard, and dies starting a
    # pool of its own: the build must stop with the fix, not wait for the workers forever.
    script = tmp_path / "unguarded.py"
    script.write_text("from galsim_deep.data.build import build_dataset\n"
                      f"build_dataset('mock-cosmos', 4, {str(tmp_path / 'u.h5')!r}, "
                      "stamp_size=32, processes=2, chunk_size=2, progress=False)\n")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode != 0
    assert "WorkerError" in done.stderr and 'if __name__ == "__main__":' in done.stderr
    assert "--processes 1" in done.stderr


def test_finished_file_is_never_overwritten(reference, tmp_path):
    out = tmp_path / "done.h5"
    out.write_bytes(reference.read_bytes())
    before = out.read_bytes()
    with pytest.raises(ValueError, match="already exists.*overwrite"):
        build_dataset("mock-cosmos", 4, out, processes=1, **SMALL)
    assert out.read_bytes() == before
    build_dataset("mock-cosmos", 4, out, processes=1, overwrite=True, **SMALL)
    with h5py.File(out, "r") as f:
        assert f.attrs["n_examples"] == 4


def test_partial_build_with_other_settings(tmp_path, monkeypatch):
    out = tmp_path / "p.h5"

    def boom(*args):
        raise RuntimeError("stop")

    real_write = build_module._write_chunk
    calls = []
    monkeypatch.setattr(build_module, "_write_chunk",
                        lambda *a: boom() if calls else calls.append(1) or real_write(*a))
    with pytest.raises(RuntimeError):
        build_dataset("mock-cosmos", 8, out, processes=1, chunk_size=4, **SMALL)
    monkeypatch.setattr(build_module, "_write_chunk", real_write)
    with pytest.raises(ValueError, match="other settings.*seed"):
        build_dataset("mock-cosmos", 8, out, processes=1, chunk_size=4, **dict(SMALL, seed=9))
    build_dataset("mock-cosmos", 8, out, processes=1, chunk_size=4, overwrite=True,
                  **dict(SMALL, seed=9))
    with h5py.File(out, "r") as f:
        assert f.attrs["seed"] == 9


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(source="galaxies"), ValueError, "unknown source"),
    (dict(n=-1), ValueError, "n must be >= 1"),
    (dict(n=0), ValueError, "n must be >= 1"),
    (dict(n=2.5), TypeError, "n must be an integer"),
    (dict(n=None), ValueError, "only possible for the cosmos"),
    (dict(stamp_size=8), ValueError, "stamp_size must be >= 16"),
    (dict(stamp_size=4096), ValueError, "stamp_size must be <= 1024"),
    (dict(pixel_scale=-0.03), ValueError, "pixel_scale must be a positive"),
    (dict(pixel_scale="big"), TypeError, "pixel_scale"),
    (dict(seed=-2), ValueError, "seed must be >= 0"),
    (dict(processes=0), ValueError, "processes must be >= 1"),
    (dict(test_fraction=1.5), ValueError, "test_fraction"),
    (dict(n_test=9), ValueError, "n_test must be <= 8"),
    (dict(colour="red"), ValueError, "unknown option.*colour"),
])
def test_bad_arguments(tmp_path, kwargs, error, match):
    args = dict(source="mock-cosmos", n=8, out=tmp_path / "x.h5", progress=False)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        build_dataset(**args)
    assert not (tmp_path / "x.h5").exists()


def test_evaluation_file_is_all_test(tmp_path):
    """n_test == n: an evaluation file, every galaxy in the test split, none to train on."""
    from galsim_deep.data.reader import make_tf_dataset

    out = tmp_path / "eval.h5"
    build_dataset("mock-cosmos", 4, out, n_test=4, processes=1, progress=False)
    with h5py.File(out, "r") as f:
        assert f.attrs["n_test"] == 4 and f["split"][:].tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="no examples in split 'train'"):
        make_tf_dataset(out, split="train", batch_size=2)


def test_directory_as_output(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        build_dataset("mock-cosmos", 4, tmp_path, progress=False)


def test_split_is_fixed_by_the_seed(reference):
    s = split_indices(100, 10, 3)
    assert s.dtype == np.uint8 and s.sum() == 10
    np.testing.assert_array_equal(s, split_indices(100, 10, 3))
    assert not np.array_equal(s, split_indices(100, 10, 4))
    assert split_indices(5, 0, 1).sum() == 0
    with h5py.File(reference, "r") as f:
        np.testing.assert_array_equal(f["split"][...], split_indices(12, 1, 3))
        assert f.attrs["n_test"] == 1 and f.attrs["n_train"] == 11


def test_n_test_option(tmp_path):
    out = build_dataset("mock-cosmos", 6, tmp_path / "t.h5", processes=1, n_test=3, **SMALL)
    with h5py.File(out, "r") as f:
        assert f["split"][...].sum() == 3
