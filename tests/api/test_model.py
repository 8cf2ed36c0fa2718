"""GenerativeGalaxyModel: catalogs, validation, reproducibility, centring, flux."""
import pickle
import warnings

import galsim
import numpy as np
import pytest
from astropy.table import Table

import galsim_deep
from galsim_deep import GenerativeGalaxyModel, OutOfRangeWarning
from galsim_deep.core.catalog import reset_range_warnings


def _cat(n=3):
    return {"flux_radius": np.linspace(5, 20, n), "mag_auto": np.full(n, 24.0),
            "zphot": np.full(n, 0.5)}


@pytest.fixture(scope="module")
def model(tiny_module_path):
    return GenerativeGalaxyModel(str(tiny_module_path))


def test_attributes(model):
    assert model.quantities == ["mag_auto", "flux_radius", "zphot"]
    assert model.stamp_size == 32 and model.pixel_scale == 0.03 and model.latent_size == 5
    assert model.metadata["family"] == "toy"
    assert model.random_variables == ["random_normal"]
    assert model.sample_req_params == {"mag_auto": float, "flux_radius": float, "zphot": float}


def test_readme_snippet(model):
    cat = Table([[5., 10., 20.], [24., 24., 24.], [0.5, 0.5, 0.5]],
                names=["flux_radius", "mag_auto", "zphot"])
    ims = model.sample(cat)
    psf = galsim.Gaussian(sigma=0.06)
    ims = [galsim.Convolve(im, psf) for im in ims]
    assert len(ims) == 3
    stamp = ims[0].drawImage(nx=40, ny=40, scale=0.03)
    assert stamp.array.sum() > 0


@pytest.mark.parametrize("kind", ["table", "structured", "recarray", "dict", "pandas", "row"])
def test_catalog_types_give_identical_images(model, kind):
    ref = [im.image.array for im in model.sample(_cat(), rng=5)]
    d = _cat()
    if kind == "table":
        cat = Table(d)
        cat["extra"] = ["a", "b", "c"]  # extra columns are ignored
    elif kind == "structured":
        cat = np.array(list(zip(*d.values())), dtype=[(k, float) for k in d])
    elif kind == "recarray":
        cat = np.rec.fromarrays(list(d.values()), names=list(d))
    elif kind == "pandas":
        import pandas as pd
        cat = pd.DataFrame(d)
    elif kind == "row":  # one row: scalars, still a list back
        cat = {k: v[0] for k, v in d.items()}
        out = model.sample(cat, rng=5)
        assert isinstance(out, list) and len(out) == 1
        np.testing.assert_array_equal(out[0].image.array, ref[0])
        return
    else:
        cat = d
    out = model.sample(cat, rng=5)
    assert all(isinstance(im, galsim.InterpolatedImage) for im in out)
    for a, b in zip(out, ref):
        np.testing.assert_array_equal(a.image.array, b)


def test_column_map(model):
    d = _cat()
    renamed = {"FLUX_RADIUS": d["flux_radius"], "MAG": d["mag_auto"], "zphot": d["zphot"]}
    a = model.sample(renamed, rng=1, column_map={"flux_radius": "FLUX_RADIUS", "mag_auto": "MAG"})
    b = model.sample(d, rng=1)
    np.testing.assert_array_equal(a[1].image.array, b[1].image.array)


def test_a_keyword_in_the_wrong_call_is_refused_naming_the_right_one(model,
                                                                    tiny_module_path):
    from galsim_deep.core.errors import InputTypeError

    with pytest.raises(InputTypeError, match=r"model.sample\(cat, \.\.\.\) takes no "
                                             r"colours=: colours= belongs to "
                                             r"GenerativeGalaxyModel\(NAME, \.\.\.\) or "
                                             r"\.with_colours"):
        model.sample(_cat(), colours="catalog")
    with pytest.raises(TypeError, match=r"column_map= belongs to model.sample\(cat, \.\.\.\)"):
        GenerativeGalaxyModel(str(tiny_module_path), column_map={"mag_auto": "MAG"})
    with pytest.raises(TypeError, match="runtime= belongs to GenerativeGalaxyModel"):
        model.draw(_cat(), galsim.Gaussian(fwhm=0.1), 32, 0.03, runtime="onnx")
    with pytest.raises(TypeError, match="colour= is a keyword of no call"):
        list(model.sample_arrays(_cat(), colour="x"))


def test_missing_column_names_missing_and_available(model):
    d = _cat()
    del d["zphot"]
    with pytest.raises(KeyError) as err:
        model.sample(d)
    msg = str(err.value)
    assert "zphot" in msg and "flux_radius" in msg and "mag_auto" in msg


def test_masked_values_and_impossible_sizes_are_refused_naming_the_rows(model):
    from astropy.table import MaskedColumn

    d = Table(_cat(4))
    d["mag_auto"] = MaskedColumn(d["mag_auto"], mask=[False, True, False, False])
    with pytest.raises(ValueError, match=r"'mag_auto' is masked \(no value\) in 1 row\(s\): 1;"):
        model.sample(d, rng=1)
    d = _cat(4)
    d["flux_radius"][2] = -99.0  # a catalog's missing-value code
    for policy in ("warn", "clip"):  # refused whatever the range policy: no galaxy is that
        with pytest.raises(ValueError, match=r"'flux_radius' is a size .* zero or negative in "
                                             r"1 row\(s\): 2 \(e.g. -99\)"):
            model.sample(d, rng=1, range_policy=policy)


def test_nan_names_rows(model):
    d = _cat(5)
    d["mag_auto"][[1, 3]] = [np.nan, np.inf]
    with pytest.raises(ValueError, match=r"mag_auto.*2 row\(s\): 1, 3"):
        model.sample(d)


def test_wrong_types(model):
    with pytest.raises(TypeError, match="catalog of type list"):
        model.sample([1, 2, 3])
    with pytest.raises(TypeError, match="numeric"):
        model.sample({"flux_radius": ["a"], "mag_auto": [24.], "zphot": [0.5]})
    with pytest.raises(TypeError, match="rng"):
        model.sample(_cat(), rng="seed")
    with pytest.raises(ValueError, match="batch_size"):
        model.sample(_cat(), batch_size=0)


def test_out_of_range_policies(model):
    d = _cat()
    d["mag_auto"][0] = 27.5  # training range is [20, 25.2]
    reset_range_warnings()
    with pytest.warns(OutOfRangeWarning, match=r"mag_auto.*rows 0"):
        warned = model.sample(d, rng=2)
    with pytest.raises(ValueError, match="outside the training range"):
        model.sample(d, range_policy="error")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clipped = model.sample(d, rng=2, range_policy="clip")
    d["mag_auto"][0] = 25.2
    at_edge = model.sample(d, rng=2)
    np.testing.assert_array_equal(clipped[0].image.array, at_edge[0].image.array)
    assert not np.array_equal(warned[0].image.array, clipped[0].image.array)
    with pytest.raises(ValueError, match="range_policy"):
        model.sample(d, range_policy="ignore")


@pytest.mark.parametrize("batch_size", [1, 3, 17])
def test_same_seed_identical_whatever_batch_size(model, batch_size):
    cat = _cat(40)
    ref = model.sample(cat, rng=galsim.BaseDeviate(11), batch_size=64)
    out = model.sample(cat, rng=11, batch_size=batch_size)
    for a, b in zip(out, ref):
        np.testing.assert_array_equal(a.image.array, b.image.array)


def test_seed_zero_is_reproducible(model):
    """GalSim reads BaseDeviate(0) as 'seed from the clock'; here 0 is a seed like any other."""
    a = model.sample(_cat(), rng=0)
    b = model.sample(_cat(), rng=0)
    np.testing.assert_array_equal(a[0].image.array, b[0].image.array)


def test_different_seeds_differ_and_deviate_advances(model):
    a = model.sample(_cat(), rng=1)
    b = model.sample(_cat(), rng=2)
    assert not np.allclose(a[0].image.array, b[0].image.array)
    rng = galsim.BaseDeviate(3)
    first = model.sample(_cat(), rng=rng)
    second = model.sample(_cat(), rng=rng)  # the deviate moved on
    assert not np.allclose(first[0].image.array, second[0].image.array)


def test_images_non_negative_and_sized(model):
    arrays = np.concatenate(list(model.sample_arrays(_cat(10), rng=0, batch_size=4,
                                                     rotate=False)))
    assert arrays.shape == (10, 32, 32) and arrays.dtype == np.float32
    assert arrays.min() >= 0


def test_rotation_resamples_the_exact_rotation_and_leaves_the_network_draw(model):
    """Rotated profiles are the network's own profiles turned by the engine's angles:
    ``"exact"`` on a rotated pixel grid, the default resampled on an axis-aligned grid
    that holds the turned stamp; the same draws whatever the batch size."""
    from galsim_deep.engine import galaxy_draws, object_seeds

    cat = _cat(40)
    plain = model.sample(cat, rng=7, rotate=False)
    exact = model.sample(cat, rng=7, rotate="exact")
    turned = model.sample(cat, rng=7)
    angles = galaxy_draws(object_seeds(7, 40), model.latent_size)[1]
    assert np.all((angles >= 0) & (angles < 2 * np.pi))
    side = model.rotated_stamp_size
    assert side == 46  # the smallest even side >= 32 sqrt(2)
    for a, e, b, theta in zip(plain, exact, turned, angles):
        assert isinstance(b, galsim.InterpolatedImage) and b.image.array.shape == (side, side)
        np.testing.assert_array_equal(a.image.array, e.image.array)  # one network draw
        want = a.rotate(theta * galsim.radians).drawImage(nx=24, ny=24, scale=0.04).array
        np.testing.assert_allclose(e.drawImage(nx=24, ny=24, scale=0.04).array, want,
                                   rtol=1e-5, atol=1e-6 * want.max())
        assert b.flux == pytest.approx(a.flux, rel=1e-5)  # resampled, the flux is kept
    again = model.sample(cat, rng=7, batch_size=3)
    for a, b in zip(turned, again):
        np.testing.assert_array_equal(a.image.array, b.image.array)
    # sample_arrays gives the profiles' central pixels, on the module's grid
    rotated = np.concatenate(list(model.sample_arrays(cat, rng=7, batch_size=5)))
    assert rotated.shape == (40, 32, 32)
    for a, b in zip(rotated, turned):
        np.testing.assert_array_equal(a, b.image.array[7:39, 7:39])
    with pytest.raises(ValueError, match="rotate must be"):
        model.sample(cat, rng=7, rotate="fast")


def test_symmetric_profile_comes_back_centred(gaussian_module_path):
    """A round Gaussian drawn by the module is centred on the origin to < 0.01 pixel."""
    model = GenerativeGalaxyModel(gaussian_module_path)
    assert model.stamp_size % 2 == 0  # the even case: the centre falls between pixels
    (gal,) = model.sample({"mag_auto": [22.0], "flux_radius": [3.0], "zphot": [1.0]}, rng=3)
    # Draw on an odd grid, whose centre pixel is the origin, then on a shifted grid.
    image = gal.drawImage(nx=65, ny=65, scale=0.03, method="no_pixel")
    mom = image.FindAdaptiveMom()
    centre = image.true_center
    assert abs(mom.moments_centroid.x - centre.x) < 0.01
    assert abs(mom.moments_centroid.y - centre.y) < 0.01
    # and the flux is the module's: 10**(-0.4 (22 - 25.94)) counts/s
    np.testing.assert_allclose(image.array.sum(), 10 ** (-0.4 * (22 - 25.94)), rtol=1e-3)


def test_flux_rescaling(gaussian_module_path):
    model = GenerativeGalaxyModel(gaussian_module_path)
    cat = {"mag_auto": [22.0, 23.0], "flux_radius": [6.0, 6.0], "zphot": [1.0, 1.0]}
    base = model.sample(cat, rng=3)
    hst_area = model.metadata["flux"]["collecting_area_cm2"]
    lsst = model.sample(cat, rng=3, area=hst_area * 8.0, exptime=30.0)
    np.testing.assert_allclose(lsst[0].flux, base[0].flux * 240.0, rtol=1e-6)
    zp = model.sample(cat, rng=3, zero_point=30.0)
    np.testing.assert_allclose([p.flux for p in zp], 10 ** (-0.4 * (np.array([22, 23]) - 30.0)),
                               rtol=1e-5)
    scaled = model.sample(cat, rng=3, flux_scaling=0.5)
    np.testing.assert_allclose(scaled[1].flux, base[1].flux * 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="not both"):
        model.sample(cat, zero_point=30.0, exptime=10.0)


def test_interpolated_image_options_pass_through(model):
    (im,) = model.sample({k: v[:1] for k, v in _cat().items()}, rng=0, x_interpolant="linear",
                         pad_factor=2, gsparams=galsim.GSParams(maxk_threshold=1e-2))
    assert isinstance(im.x_interpolant, galsim.Linear)
    assert im.gsparams.maxk_threshold == 1e-2


def test_pickle_round_trip_reloads_lazily(model):
    model.sample(_cat(), rng=9)  # the graph is loaded in this process...
    state = pickle.dumps(model)
    assert len(state) < 20_000  # ...but not pickled: a copy reloads it from module_dir
    clone = pickle.loads(state)
    a = clone.sample(_cat(), rng=9)
    b = model.sample(_cat(), rng=9)
    np.testing.assert_array_equal(a[2].image.array, b[2].image.array)


def test_bad_constructor_arguments(tiny_module_path, tmp_path):
    with pytest.raises(ValueError, match="batch_size"):
        GenerativeGalaxyModel(tiny_module_path, batch_size=-1)
    with pytest.raises(ValueError, match="range_policy"):
        GenerativeGalaxyModel(tiny_module_path, range_policy="maybe")
    with pytest.raises(galsim_deep.HubError, match="neither"):
        GenerativeGalaxyModel(tmp_path / "nothing-here")
    with pytest.raises(TypeError):
        GenerativeGalaxyModel(42)


def test_check_stamp_geometry_names_both_geometries_and_the_fix(tiny_module_path):
    model = galsim_deep.GenerativeGalaxyModel(str(tiny_module_path))
    model.latent.check_stamp_geometry(32, 0.03, "ok.h5")  # the module's own geometry passes
    with pytest.raises(ValueError, match=r"d\.h5 has 64x64 stamps.*32x32.*--stamp-size 32"):
        model.latent.check_stamp_geometry(64, 0.03, "d.h5")
    with pytest.raises(ValueError, match="--pixel-scale 0.03"):
        model.latent.check_stamp_geometry(32, 0.05, "d.h5")


@pytest.mark.parametrize("kind", ["table", "dict", "structured"])
def test_empty_catalog_gives_empty_list(model, kind):
    names = ["flux_radius", "mag_auto", "zphot"]
    if kind == "table":
        cat = Table(names=names, dtype=[float] * 3)
    elif kind == "dict":
        cat = {k: np.zeros(0) for k in names}
    else:
        cat = np.zeros(0, dtype=[(k, float) for k in names])
    assert model.sample(cat, rng=1) == []
    assert [a.shape for a in model.sample_arrays(cat, rng=1)] == []
    # ...and the deviate is left where it was: the next galaxy is the same either way.
    rng_a, rng_b = galsim.BaseDeviate(3), galsim.BaseDeviate(3)
    model.sample(cat, rng=rng_a)
    np.testing.assert_array_equal(model.sample(_cat(1), rng=rng_a)[0].image.array,
                                  model.sample(_cat(1), rng=rng_b)[0].image.array)


def test_out_of_range_warning_points_at_the_callers_line_once_per_condition(model):
    d = _cat()
    d["mag_auto"][:] = 27.5
    d["zphot"][1] = 9.0
    reset_range_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.sample(d, rng=2)
        list(model.sample_arrays(d, rng=2))  # the same model and conditions: not again
        model.sample(d, rng=2, range_policy="clip")  # clipped: nothing to report
    ranges = [w for w in caught if issubclass(w.category, OutOfRangeWarning)]
    assert sorted(w.message.condition for w in ranges) == ["mag_auto", "zphot"]
    for w in ranges:
        assert w.filename == __file__, w.filename  # the user's line, not galsim_deep/api/model.py
        assert "range_policy='clip'" in str(w.message)
        assert "not reported again" in str(w.message)
    mag = next(w.message for w in ranges if w.message.condition == "mag_auto")
    lo, hi = model.condition_ranges["mag_auto"]
    assert (mag.low, mag.high) == (lo, hi) and f"[{lo:g}, {hi:g}]" in str(mag)
    assert mag.rows.tolist() == [0, 1, 2]
    # Another model object of the same module reports them too (once); a reset reports
    # again.
    other = GenerativeGalaxyModel(model.file_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        other.sample(d, rng=2)
        other.sample(d, rng=2)
        reset_range_warnings()
        other.sample(d, rng=2)
    assert len([w for w in caught if issubclass(w.category, OutOfRangeWarning)]) == 4


def test_condition_ranges_and_in_range(model):
    ranges = model.condition_ranges
    assert list(ranges) == model.quantities
    assert all(lo < hi for lo, hi in ranges.values())
    d = _cat(4)
    for name, (lo, hi) in ranges.items():
        d[name][:] = 0.5 * (lo + hi)
    d["mag_auto"][1] = ranges["mag_auto"][1] + 0.1
    d["zphot"][3] = np.nan
    np.testing.assert_array_equal(model.in_range(d), [True, False, True, False])
    renamed = {("MAG" if k == "mag_auto" else k): v for k, v in d.items()}
    np.testing.assert_array_equal(model.in_range(renamed, column_map={"mag_auto": "MAG"}),
                                  [True, False, True, False])
    with pytest.raises(KeyError, match="mag_auto"):
        model.in_range(renamed)


def test_n_clusters_attribute(model):
    assert model.n_clusters is None  # a module without a mixture prior
