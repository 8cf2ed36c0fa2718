"""The cosmos source and the real-format COSMOS example directory."""
import shutil

import numpy as np
import pytest

from galsim_deep.data.cosmos_example import (EXAMPLE_FILE_NAME, EXAMPLE_IMAGE_FILE,
                                                 build_example_directory, is_example_directory,
                                                 load_example_catalog)

COSMOS_OPTIONS = dict(file_name=EXAMPLE_FILE_NAME, sample="23.5")


@pytest.fixture(scope="module")
def example_dir(tmp_path_factory):
    # Shared across test files through the cache of build_example_directory.
    return build_example_directory(tmp_path_factory.getbasetemp() / "cosmos_example_seed1", seed=1)


@pytest.fixture(scope="module")
def cosmos_dataset(example_dir, tmp_path_factory):
    from galsim_deep.data.build import build_dataset

    out = tmp_path_factory.mktemp("cosmos") / "cosmos.h5"
    return build_dataset("cosmos", 12, out, stamp_size=48, seed=4, processes=1, progress=False,
                         cosmos_dir=example_dir, **COSMOS_OPTIONS)


@pytest.mark.slow
def test_example_directory_loads_as_real_cosmos_data(example_dir):
    import galsim

    assert is_example_directory(example_dir, seed=1)
    assert (example_dir / EXAMPLE_IMAGE_FILE).is_file()
    cat = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=str(example_dir))
    assert cat.nobjects == 96  # exclusion_level='marginal'
    rgc = galsim.RealGalaxyCatalog(EXAMPLE_FILE_NAME, dir=str(example_dir))
    assert rgc.nobjects == 100
    gal = cat.makeGalaxy(0, gal_type="real", noise_pad_size=2.0, rng=galsim.BaseDeviate(3))
    assert isinstance(gal, galsim.RealGalaxy)
    image = galsim.Convolve(gal, galsim.Gaussian(fwhm=0.12)).drawImage(nx=96, ny=96, scale=0.03)
    assert np.isfinite(image.array).all()
    # The stamp holds the parametric fit's flux (plus noise) at the catalog noise level.
    idx = int(cat.orig_index[0])
    stamp = rgc.getGalImage(idx).array
    fit_flux = cat.param_cat["flux"][idx, 0]
    assert stamp.sum() == pytest.approx(fit_flux, rel=0.2)
    corner = stamp[:16, :16]
    assert corner.std() == pytest.approx(np.sqrt(rgc.variance[idx]), rel=0.3)


def test_example_directory_is_cached_and_protected(example_dir, tmp_path):
    before = (example_dir / EXAMPLE_IMAGE_FILE).stat().st_mtime_ns
    assert build_example_directory(example_dir, seed=1) == example_dir
    assert (example_dir / EXAMPLE_IMAGE_FILE).stat().st_mtime_ns == before
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="overwrite=True"):
        build_example_directory(other, seed=1)
    assert (other / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="seed"):
        build_example_directory(tmp_path / "x", seed=-1)


def test_cosmos_dataset_matches_catalog(cosmos_dataset, example_dir):
    import galsim

    from galsim_deep.data.reader import StampDataset

    with StampDataset(cosmos_dataset) as ds:
        assert ds.source == "cosmos"
        assert "truth" not in ds.fields and "label" not in ds.fields
        assert ds.class_names == []
        a = ds.arrays("all")
        attrs = ds.attrs
    assert attrs["selection"]["exclusion_level"] == "marginal"
    assert attrs["selection"]["n_available"] == 96
    cat = load_example_catalog("marginal")
    rows = {int(i): k for k, i in enumerate(cat["IDENT"])}
    for j, ident in enumerate(a["ident"]):
        k = rows[int(ident)]  # every chosen galaxy passes the cut
        np.testing.assert_allclose(a["conditions"][j],
                                   [cat["mag_auto"][k], cat["flux_radius"][k], cat["zphot"][k]],
                                   rtol=1e-6)
        assert a["parametric"][j][0] == pytest.approx(cat["sersic_flux"][k], rel=1e-6)
        assert a["parametric"][j][1] == pytest.approx(cat["sersic_hlr"][k], rel=1e-6)
        assert a["noise_variance"][j] == pytest.approx(cat["NOISE_VARIANCE"][k], rel=1e-6)
        assert a["psf_id"][j] == cat["PSF_HDU"][k]
    np.testing.assert_allclose(a["psf"].sum(axis=(1, 2)), 1.0, atol=1e-5)
    # The stamp holds the original pixels: the centre of the real image, unchanged.
    rgc = galsim.RealGalaxyCatalog(EXAMPLE_FILE_NAME, dir=str(example_dir))
    orig = rgc.getIndexForID(int(a["ident"][0]))
    real = rgc.getGalImage(orig).array
    n = real.shape[0]
    start = (n - 48) // 2
    np.testing.assert_allclose(a["stamp"][0], real[start:start + 48, start:start + 48],
                               rtol=1e-6, atol=0)


def test_cosmos_noise_padding_small_original(example_dir, tmp_path):
    from galsim_deep.data.build import build_dataset
    from galsim_deep.data.cosmos import _paste_centred
    from galsim_deep.data.reader import StampDataset

    # 200-pixel stamps are larger than most originals: the rest is padded with noise.
    out = build_dataset("cosmos", 2, tmp_path / "big.h5", stamp_size=200, seed=0, processes=1,
                        progress=False, cosmos_dir=example_dir, **COSMOS_OPTIONS)
    with StampDataset(out) as ds:
        a = ds.arrays("all", ["stamp", "noise_variance"])
    edge = np.concatenate([a["stamp"][:, :5].ravel(), a["stamp"][:, -5:].ravel()])
    sigma = np.sqrt(a["noise_variance"].mean())
    assert edge.std() == pytest.approx(sigma, rel=0.25)
    assert abs(edge.mean()) < 0.2 * sigma
    dst = np.zeros((6, 6))
    _paste_centred(dst, np.ones((2, 3)))
    assert dst.sum() == 6 and dst[2:4, 1:4].sum() == 6


def test_missing_cosmos_directory_says_how_to_get_it(tmp_path):
    from galsim_deep.data.build import build_dataset

    with pytest.raises(FileNotFoundError, match="galsim_download_cosmos"):
        build_dataset("cosmos", 4, tmp_path / "x.h5", cosmos_dir=tmp_path / "missing",
                      progress=False)
    assert not (tmp_path / "x.h5").exists()


def test_incomplete_cosmos_directory_says_how_to_get_it(example_dir, tmp_path):
    from galsim_deep.data.build import build_dataset

    partial = tmp_path / "partial"
    shutil.copytree(example_dir, partial)
    (partial / EXAMPLE_IMAGE_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="galsim_download_cosmos.*") as err:
        build_dataset("cosmos", 4, tmp_path / "x.h5", cosmos_dir=partial, progress=False,
                      **COSMOS_OPTIONS)
    assert EXAMPLE_IMAGE_FILE in str(err.value) and "incomplete" in str(err.value)
    (partial / EXAMPLE_FILE_NAME.replace(".fits", "_fits.fits")).unlink()
    with pytest.raises(FileNotFoundError, match="incomplete"):
        build_dataset("cosmos", 4, tmp_path / "x.h5", cosmos_dir=partial, progress=False,
                      **COSMOS_OPTIONS)


def test_cosmos_bad_arguments(example_dir, tmp_path):
    from galsim_deep.data.build import build_dataset

    with pytest.raises(ValueError, match="only 96"):
        build_dataset("cosmos", 500, tmp_path / "x.h5", cosmos_dir=example_dir, progress=False,
                      **COSMOS_OPTIONS)
    with pytest.raises(ValueError, match="pixel_scale=0.03"):
        build_dataset("cosmos", 4, tmp_path / "x.h5", pixel_scale=0.05, cosmos_dir=example_dir,
                      progress=False, **COSMOS_OPTIONS)
    with pytest.raises(ValueError, match="unknown COSMOS sample"):
        build_dataset("cosmos", 4, tmp_path / "x.h5", cosmos_dir=example_dir, sample="24",
                      progress=False)
    with pytest.raises(ValueError, match="exclusion_level"):
        build_dataset("cosmos", 4, tmp_path / "x.h5", cosmos_dir=example_dir,
                      exclusion_level="strict", progress=False, **COSMOS_OPTIONS)
    with pytest.raises(ValueError, match="unknown option"):
        build_dataset("cosmos", 4, tmp_path / "x.h5", cosmos_dir=example_dir, psf="hst",
                      progress=False, **COSMOS_OPTIONS)
