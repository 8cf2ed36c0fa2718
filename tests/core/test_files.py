"""Arrays kept with the key of what computed them (:mod:`galsim_deep.core.files`)."""
import numpy as np

from galsim_deep.core.files import read_keyed_arrays, write_keyed_arrays


def test_kept_arrays_come_back_only_for_their_key(tmp_path):
    path = tmp_path / "part.npz"
    arrays = {"mean": np.arange(6.0).reshape(2, 3), "rows": np.array([4, 7])}
    write_keyed_arrays(path, "encoder ckpt-5", arrays)
    assert [p.name for p in tmp_path.iterdir()] == ["part.npz"]  # no temporary left
    back = read_keyed_arrays(path, "encoder ckpt-5", ("mean", "rows"))
    assert set(back) == {"mean", "rows"}
    np.testing.assert_array_equal(back["mean"], arrays["mean"])
    np.testing.assert_array_equal(back["rows"], arrays["rows"])
    assert read_keyed_arrays(path, "encoder ckpt-6", ("mean",)) is None  # stale
    assert read_keyed_arrays(path, "encoder ckpt-5", ("missing",)) is None  # other fields
    assert read_keyed_arrays(tmp_path / "none.npz", "encoder ckpt-5", ("mean",)) is None
    assert read_keyed_arrays(None, "encoder ckpt-5", ("mean",)) is None
    path.write_bytes(path.read_bytes()[:40])  # cut short, as by a full disk
    assert read_keyed_arrays(path, "encoder ckpt-5", ("mean",)) is None
