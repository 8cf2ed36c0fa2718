"""Readers: StampDataset, iterate_numpy, make_tf_dataset and the D4 augmentation."""
import h5py
import numpy as np
import pytest

from galsim_deep.data.augment import augment_numpy, augment_tf
from galsim_deep.data.reader import StampDataset, iterate_numpy, make_tf_dataset

ALL_IMAGES = ("stamp", "truth", "psf", "noise_power")


def test_stamp_dataset_properties(mock_dataset_path):
    with StampDataset(mock_dataset_path) as ds:
        assert ds.source == "mock-cosmos"
        assert ds.pixel_scale == pytest.approx(0.03)
        assert ds.stamp_size == 32 and ds.n_examples == 24 and len(ds) == 24
        assert ds.condition_names == ["mag_auto", "flux_radius", "zphot"]
        assert ds.condition_units == ["mag (AB)", "pixel (0.03 arcsec)", ""]
        assert ds.class_names[0] == "spheroid" and len(ds.class_names) == 6
        assert ds.attrs["selection"]["max_flux_radius_pixels_0.03"] == pytest.approx(8.0)
        train, test = ds.indices("train"), ds.indices("test")
        assert len(train) + len(test) == 24 and not set(train) & set(test)
        np.testing.assert_array_equal(ds.indices("all"), np.arange(24))
        a = ds.arrays("train", ["conditions", "stamp"])
        assert a["conditions"].shape == (len(train), 3) and a["conditions"].dtype == np.float32
        with h5py.File(mock_dataset_path, "r") as f:
            np.testing.assert_array_equal(a["conditions"][:, 1], f["conditions/flux_radius"][train])
            np.testing.assert_array_equal(a["stamp"], f["stamp"][train])
            r = ds.read([5, 2, 5], ["stamp", "label"])
            np.testing.assert_array_equal(r["stamp"], f["stamp"][...][[5, 2, 5]])
        with pytest.raises(ValueError, match="unknown split"):
            ds.indices("validation")
        with pytest.raises(IndexError):
            ds.read([24])
        with pytest.raises(KeyError, match="available"):
            ds.arrays("all", ["weight"])
    assert ds._file is None  # closed by the context manager


def test_missing_field_of_a_cosmos_file(tmp_path, mock_dataset_path):
    path = tmp_path / "notruth.h5"
    path.write_bytes(mock_dataset_path.read_bytes())
    with h5py.File(path, "a") as f:
        del f["truth"]
    with StampDataset(path) as ds:
        with pytest.raises(KeyError, match="truth.*only mock"):
            ds.arrays("all", ["truth"])


def test_bad_files(tmp_path, mock_dataset_path):
    with pytest.raises(FileNotFoundError, match="galsim-deep dataset build"):
        StampDataset(tmp_path / "missing.h5")
    (tmp_path / "unfinished.h5.partial").mkdir()
    with pytest.raises(FileNotFoundError, match="resume"):
        StampDataset(tmp_path / "unfinished.h5")
    with pytest.raises(ValueError, match="unfinished build"):
        StampDataset(tmp_path / "unfinished.h5.partial")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(mock_dataset_path.read_bytes()[:5000])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        StampDataset(truncated)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="not a galsim_deep stamp dataset"):
        StampDataset(other)
    newer = tmp_path / "newer.h5"
    newer.write_bytes(mock_dataset_path.read_bytes())
    with h5py.File(newer, "a") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(ValueError, match="upgrade"):
        StampDataset(newer)
    broken = tmp_path / "broken.h5"
    broken.write_bytes(mock_dataset_path.read_bytes())
    with h5py.File(broken, "a") as f:
        del f["psf"]
    with pytest.raises(ValueError, match="'psf'"):
        StampDataset(broken)


def test_iterate_numpy(mock_dataset_path):
    with StampDataset(mock_dataset_path) as ds:
        train = ds.indices("train")
        ref = ds.arrays("train", ["stamp", "ident"])
    batches = list(iterate_numpy(mock_dataset_path, batch_size=8, fields=["stamp", "ident"]))
    assert [len(b["ident"]) for b in batches] == [8, 8, len(train) - 16]
    np.testing.assert_array_equal(np.concatenate([b["stamp"] for b in batches]), ref["stamp"])
    shuffled = list(iterate_numpy(mock_dataset_path, batch_size=8, shuffle=True, seed=2,
                                  fields=["ident"]))
    order = np.concatenate([b["ident"] for b in shuffled])
    assert sorted(order) == sorted(ref["ident"]) and not np.array_equal(order, ref["ident"])
    again = np.concatenate([b["ident"] for b in iterate_numpy(
        mock_dataset_path, batch_size=8, shuffle=True, seed=2, fields=["ident"])])
    np.testing.assert_array_equal(order, again)
    dropped = list(iterate_numpy(mock_dataset_path, batch_size=8, drop_remainder=True))
    assert len(dropped) == len(train) // 8
    with pytest.raises(ValueError, match="batch_size"):
        next(iterate_numpy(mock_dataset_path, batch_size=0))


def _fft_convolve(image, psf):
    return np.fft.irfft2(np.fft.rfft2(image) * np.fft.rfft2(np.fft.ifftshift(psf)),
                         s=image.shape[-2:])


@pytest.mark.parametrize("size", [32, 33])
def test_augmentation_keeps_the_physics(size):
    rng = np.random.default_rng(size)
    truth = rng.random((size, size)) ** 4
    psf = rng.random((size, size)) ** 8
    psf /= psf.sum()
    noise = rng.normal(size=(size, size)) * np.linspace(0.2, 2.0, size)  # anisotropic
    power = np.abs(np.fft.rfft2(noise)) ** 2 / size ** 2
    stamp = _fft_convolve(truth, psf)
    seen = set()
    for rotation in range(4):
        for flip in (False, True):
            out = augment_numpy({"stamp": stamp, "truth": truth, "psf": psf,
                                 "noise_power": power, "noise_variance": 1.0}, rotation, flip)
            # stamp = truth * psf still holds after the transform ...
            np.testing.assert_allclose(out["stamp"], _fft_convolve(out["truth"], out["psf"]),
                                       atol=1e-12)
            # ... the PSF keeps its centre pixel (S//2, S//2) ...
            assert out["psf"][size // 2, size // 2] == psf[size // 2, size // 2]
            # ... and noise_power is the power spectrum of the transformed noise.
            moved = augment_numpy({"stamp": noise}, rotation, flip)["stamp"]
            np.testing.assert_allclose(out["noise_power"],
                                       np.abs(np.fft.rfft2(moved)) ** 2 / size ** 2, rtol=1e-9,
                                       atol=1e-12)
            assert out["noise_variance"] == 1.0
            seen.add(out["truth"].tobytes())
    assert len(seen) == 8  # the eight symmetries of the square are distinct


def test_augment_tf_matches_numpy(mock_dataset_path):
    import tensorflow as tf

    with StampDataset(mock_dataset_path) as ds:
        a = ds.read(np.arange(8), list(ALL_IMAGES))
    rotation = np.array([0, 1, 2, 3, 0, 1, 2, 3], np.int32)
    flip = np.array([0, 0, 0, 0, 1, 1, 1, 1], bool)
    out = augment_tf({k: tf.constant(v) for k, v in a.items()}, tf.constant(rotation),
                     tf.constant(flip))
    for i in range(8):
        ref = augment_numpy({k: v[i] for k, v in a.items()}, rotation[i], flip[i])
        for k in ALL_IMAGES:
            np.testing.assert_array_equal(out[k][i].numpy(), ref[k], err_msg=f"{k} {i}")


def test_make_tf_dataset_batches(mock_dataset_path):
    import tensorflow as tf

    ds = make_tf_dataset(mock_dataset_path, batch_size=5, seed=1)
    batch = next(iter(ds))
    assert set(batch) == {"stamp", "psf", "noise_variance", "noise_power", "conditions"}
    assert batch["stamp"].shape == (5, 32, 32) and batch["stamp"].dtype == tf.float32
    assert batch["psf"].shape == (5, 32, 32)
    assert batch["noise_power"].shape == (5, 32, 17)
    assert batch["noise_variance"].shape == (5,) and batch["conditions"].shape == (5, 3)
    assert all(v.dtype == tf.float32 for v in batch.values())
    # Repeats forever by default.
    assert len(list(ds.take(20))) == 20
    with StampDataset(mock_dataset_path) as meta:
        n_train = len(meta.indices("train"))
        train_ident = meta.arrays("train", ["ident"])["ident"]
    once = list(make_tf_dataset(mock_dataset_path, batch_size=8, repeat=False,
                                fields=("ident", "label")))
    assert len(once) == int(np.ceil(n_train / 8))
    idents = np.concatenate([b["ident"].numpy() for b in once])
    assert sorted(idents) == sorted(train_ident)
    assert once[0]["ident"].dtype == tf.int64 and once[0]["label"].dtype == tf.int32
    test = list(make_tf_dataset(mock_dataset_path, split="test", batch_size=8, repeat=False,
                                shuffle=False, fields=("stamp",)))
    assert sum(len(b["stamp"]) for b in test) == 24 - n_train
    with pytest.raises(KeyError, match="weight"):
        make_tf_dataset(mock_dataset_path, fields=("weight",))


def test_make_tf_dataset_repeats_oversample(mock_dataset_path):
    """``repeats`` sets how often each example appears per epoch."""
    with StampDataset(mock_dataset_path) as meta:
        train_ident = meta.arrays("train", ["ident"])["ident"]
    n = len(train_ident)
    repeats = np.ones(n, int)
    repeats[0], repeats[1] = 3, 0
    once = make_tf_dataset(mock_dataset_path, batch_size=5, repeat=False, fields=("ident",),
                           repeats=repeats)
    idents = np.concatenate([b["ident"].numpy() for b in once])
    assert len(idents) == n + 1
    assert np.sum(idents == train_ident[0]) == 3 and np.sum(idents == train_ident[1]) == 0
    assert sorted(set(idents)) == sorted(set(train_ident) - {train_ident[1]})
    for bad in (np.ones(n - 1, int), np.zeros(n, int), -repeats, repeats.astype(float)):
        with pytest.raises(ValueError, match="repeats must be"):
            make_tf_dataset(mock_dataset_path, fields=("ident",), repeats=bad)


def test_training_oversamples_bright_galaxies(mock_dataset_path, tmp_path):
    from galsim_deep.training.data import oversampling_repeats
    from galsim_deep.training.recipes import load_recipe

    with StampDataset(mock_dataset_path) as meta:
        mag = meta.arrays("train", ["conditions"])["conditions"][:, 0]
    sets = [f"dataset.path={mock_dataset_path}", f"output_dir={tmp_path}"]
    assert oversampling_repeats(load_recipe("tiny", sets)) is None
    cut = float(np.median(mag))
    repeats = oversampling_repeats(load_recipe("tiny", sets + [
        f"dataset.oversample_below_mag={cut}", "dataset.oversample_factor=4"]))
    np.testing.assert_array_equal(repeats, np.where(mag < cut, 4, 1))
    with pytest.raises(ValueError,
                       match=r"oversample_below_mag must be null or a number \(AB mag\)"):
        load_recipe("tiny", sets + ["dataset.oversample_below_mag=bright"])


def test_make_tf_dataset_is_seeded(mock_dataset_path):
    def first_idents(seed, **kw):
        ds = make_tf_dataset(mock_dataset_path, batch_size=4, seed=seed, fields=("ident",), **kw)
        return np.concatenate([b["ident"].numpy() for b in ds.take(10)])

    a = first_idents(3)
    np.testing.assert_array_equal(a, first_idents(3))
    assert not np.array_equal(a, first_idents(4))
    # Reading batch by batch from the file gives the same stream as in memory.
    np.testing.assert_array_equal(a, first_idents(3, in_memory=False))


def test_make_tf_dataset_augmentation(mock_dataset_path):
    fields = ("stamp", "truth", "psf", "noise_power", "ident", "noise_variance")
    plain = make_tf_dataset(mock_dataset_path, batch_size=6, seed=5, fields=fields)
    aug = make_tf_dataset(mock_dataset_path, batch_size=6, seed=5, fields=fields, augment=True)
    aug2 = make_tf_dataset(mock_dataset_path, batch_size=6, seed=5, fields=fields, augment=True,
                           in_memory=False)
    changed = 0
    for p, a, a2 in zip(plain.take(4), aug.take(4), aug2.take(4)):
        np.testing.assert_array_equal(p["ident"].numpy(), a["ident"].numpy())
        np.testing.assert_array_equal(p["noise_variance"].numpy(), a["noise_variance"].numpy())
        for k in ("stamp", "truth", "psf", "noise_power"):
            np.testing.assert_array_equal(a[k].numpy(), a2[k].numpy())
        for i in range(len(p["ident"])):
            # Each augmented example is one of the 8 symmetries, the same for every field.
            example = {k: p[k][i].numpy() for k in ("stamp", "truth", "psf", "noise_power")}
            matches = [(r, f) for r in range(4) for f in (False, True)
                       if all(np.array_equal(augment_numpy(example, r, f)[k], a[k][i])
                              for k in ("stamp", "truth", "psf", "noise_power"))]
            assert matches, f"example {i}: no single symmetry maps every field"
            changed += (0, False) not in matches
    assert changed > 8
