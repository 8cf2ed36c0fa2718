"""A chromatic module end to end: train the tiny chromatic recipe, export, sample colour
galaxies through GalSim bandpasses and as band arrays."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

import galsim  # noqa: E402

from galsim_deep import GenerativeGalaxyModel  # noqa: E402
from galsim_deep.physics import bands as B  # noqa: E402
from galsim_deep.core.errors import InputError  # noqa: E402

pytestmark = [pytest.mark.usefixtures("restore_op_determinism"), pytest.mark.slow]
BANDS = ["F814W", "F606W"]


@pytest.fixture(scope="module")
def colour_module(tmp_path_factory):
    from tests.toy_modules import train_colour_module

    return train_colour_module(tmp_path_factory.mktemp("colour_module"), BANDS)


def _catalog(n=4):
    return {"mag_auto": np.linspace(20.5, 22.5, n), "flux_radius": np.full(n, 6.0),
            "zphot": np.linspace(0.3, 1.2, n), "mag_f606w": np.linspace(21.0, 23.5, n)}


def test_metadata_and_signatures_of_a_chromatic_module(colour_module):
    model = GenerativeGalaxyModel(str(colour_module))
    info = model.chromatic
    assert info["bands"] == BANDS and info["n_components"] == 2
    assert info["sed_templates"] == list(B.SED_TEMPLATES)
    assert {"sample_components", "decode_components"} <= set(model.signatures)
    assert model.quantities == ["mag_auto", "flux_radius", "zphot", "mag_f606w"]


def test_chromatic_profiles_keep_the_reference_band_and_draw_through_any_bandpass(
        colour_module):
    model = GenerativeGalaxyModel(str(colour_module))
    cat = _catalog()
    # Unrotated, so that the arrays keep every pixel of the profiles (a rotated array is
    # cropped to the module's square, a rotated profile is not).
    profiles = model.sample(cat, rng=5, rotate=False)
    assert all(isinstance(p, galsim.ChromaticObject) for p in profiles)
    # The sum of the components is the mono sample.
    mono = np.concatenate(list(model.sample_arrays(cat, rng=5, rotate=False)))
    arrays = np.concatenate(list(model.sample_arrays(
        cat, rng=5, rotate=False, bands=["F814W", "F606W", "LSST_r"])))
    assert arrays.shape == (4, 3, 32, 32)
    np.testing.assert_allclose(arrays[:, 0], mono, rtol=1e-4, atol=1e-6 * mono.max())
    # Each profile has the catalog's F814W magnitude and its arrays' colours.
    for i, gal in enumerate(profiles):
        reference = gal.calculateMagnitude(B.get_bandpass("F814W"))
        assert reference == pytest.approx(cat["mag_auto"][i], abs=1e-4)
        for j, band in enumerate(["F814W", "F606W", "LSST_r"]):
            colour = (B.zero_point(band) - B.zero_point("F814W")
                      - 2.5 * np.log10(arrays[i, j].sum() / arrays[i, 0].sum()))
            assert gal.calculateMagnitude(B.get_bandpass(band)) - reference == pytest.approx(
                colour, abs=0.01)
    # Drawn through a survey's bandpass with its area and exposure, like any GalSim galaxy.
    image = model.sample(cat, rng=5)[0].drawImage(B.get_bandpass("LSST_g"), nx=40, ny=40,
                                                  scale=0.2, area=3.2e5, exptime=30.0)
    assert np.isfinite(image.array).all() and image.array.sum() > 0


def test_catalog_colours_by_default_and_the_network_s_on_request(colour_module):
    cat = _catalog()
    matched = GenerativeGalaxyModel(str(colour_module))
    own = GenerativeGalaxyModel(str(colour_module), colours="model")
    assert (matched.colours, own.colours) == ("catalog", "model")
    bands = ["F814W", "F606W", "LSST_g"]

    def colours(model):
        arrays = np.concatenate(list(model.sample_arrays(cat, rng=3, rotate=False,
                                                         bands=bands)))
        flux = arrays.sum(axis=(2, 3))
        return np.array([B.zero_point(b) - B.zero_point("F814W") for b in bands]) - 2.5 * \
            np.log10(flux / flux[:, :1]), arrays

    (got, arrays), (theirs, own_arrays) = colours(matched), colours(own)
    # with_colours: the same network in the other mode, the same galaxies.
    switched = matched.with_colours("model")
    assert switched.network is matched.network and matched.colours == "catalog"
    np.testing.assert_array_equal(colours(switched)[1], own_arrays)
    with pytest.raises(InputError, match="colours must be one of"):
        matched.with_colours("sed")
    np.testing.assert_allclose(got[:, 1], cat["mag_f606w"] - cat["mag_auto"], atol=2e-3)
    # The reference-band images are the network's either way (to float rounding of the
    # weights' sum); only the SEDs move.
    np.testing.assert_allclose(arrays[:, 0], own_arrays[:, 0], rtol=1e-6)
    assert np.abs(theirs[:, 1] - got[:, 1]).max() > 0.01
    # The GalSim profile carries the same colour.
    gal = matched.sample(cat, rng=3, rotate=False)[2]
    colour = gal.calculateMagnitude(B.get_bandpass("F606W")) - gal.calculateMagnitude(
        B.get_bandpass("F814W"))
    assert colour == pytest.approx(cat["mag_f606w"][2] - cat["mag_auto"][2], abs=0.01)


def test_same_seed_same_colour_galaxies_whatever_the_batch(colour_module):
    model = GenerativeGalaxyModel(str(colour_module))
    a = np.concatenate(list(model.sample_arrays(_catalog(5), rng=9, bands=["LSST_g"],
                                                batch_size=2)))
    b = np.concatenate(list(model.sample_arrays(_catalog(5), rng=9, bands=["LSST_g"])))
    np.testing.assert_array_equal(a, b)


def test_colour_errors_name_the_fix(colour_module, tiny_module_path):
    model = GenerativeGalaxyModel(str(colour_module))
    with pytest.raises(InputError, match="unknown band 'LSST_w'"):
        next(model.sample_arrays(_catalog(), rng=1, bands=["LSST_w"]))
    with pytest.raises(InputError, match="drawImage\\(bandpass, area"):
        model.sample(_catalog(), rng=1, area=1e4)
    with pytest.raises(InputError, match="outside the SED templates"):
        next(model.sample_arrays(dict(_catalog(), zphot=np.full(4, 0.01)), rng=1,
                                 bands=["Roman_K213"]))
    with pytest.raises(InputError, match="colours must be one of"):
        GenerativeGalaxyModel(str(colour_module), colours="sed")
    # A catalog without the colour column: the error names it and the columns there are.
    no_colour = {k: v for k, v in _catalog().items() if k != "mag_f606w"}
    with pytest.raises(KeyError, match="mag_f606w") as err:
        model.sample(no_colour, rng=1)
    assert "zphot" in str(err.value)
    with pytest.raises(InputError, match="needs a chromatic module"):
        GenerativeGalaxyModel(str(tiny_module_path), colours="catalog")
    # A chromatic encoder takes one stamp per training band.
    with pytest.raises(InputError, match=r"\[N, 2, 32, 32\] \(the bands F814W, F606W\)"):
        model.encode(np.zeros((3, 32, 32)), np.zeros((3, 32, 32)))
    mean, stddev = model.encode(np.random.default_rng(0).normal(0, 1e-3, (3, 2, 32, 32)),
                                np.full((2, 32, 32), 1 / 32 ** 2))
    assert mean.shape == stddev.shape == (3, model.latent_size) and np.isfinite(mean).all()
    mono = GenerativeGalaxyModel(str(tiny_module_path))
    with pytest.raises(InputError, match="bands= needs a chromatic module"):
        next(mono.sample_arrays({q: np.ones(2) for q in mono.quantities}, rng=1,
                                bands=["LSST_r"]))


def test_yaml_draws_the_api_colour_galaxy_through_the_image_bandpass(colour_module):
    from galsim_deep.api.config import batching

    gal = {"type": "GenerativeModelGalaxy", "mag_auto": 21.0, "flux_radius": 6.0,
           "zphot": 0.6, "mag_f606w": 21.8}
    def config(colours=None, **bandpass):
        image = {"type": "Single", "size": 32, "pixel_scale": 0.03, "random_seed": 7,
                 **bandpass}
        model = {"file_name": str(colour_module)}
        if colours:
            model["colours"] = colours
        return {"gal": dict(gal), "image": image, "stamp": {"draw_method": "no_pixel"},
                "input": {"generative_model": model}}

    batching._GROUPS.clear()
    image = galsim.config.BuildImage(config(bandpass={"file_name": "LSST_r.dat",
                                                      "wave_type": "nm"}))
    model = GenerativeGalaxyModel(str(colour_module))
    (galaxy,) = model.sample({k: [v] for k, v in gal.items() if k != "type"}, rng=7)
    bandpass = galsim.Bandpass("LSST_r.dat", wave_type="nm")
    expected = galaxy.drawImage(bandpass, nx=32, ny=32, scale=0.03, method="no_pixel").array
    np.testing.assert_allclose(image.array, expected, rtol=0, atol=1e-5 * expected.max())
    # The input's `colours: model` is the API's colours='model': the network's own colours.
    batching._GROUPS.clear()
    own_image = galsim.config.BuildImage(config("model", bandpass={"file_name": "LSST_r.dat",
                                                                  "wave_type": "nm"}))
    (own,) = GenerativeGalaxyModel(str(colour_module), colours="model").sample(
        {k: [v] for k, v in gal.items() if k != "type"}, rng=7)
    own_expected = own.drawImage(bandpass, nx=32, ny=32, scale=0.03, method="no_pixel").array
    np.testing.assert_allclose(own_image.array, own_expected, rtol=0,
                               atol=1e-5 * own_expected.max())
    assert np.abs(own_expected - expected).max() > 1e-3 * expected.max()
    # Without a bandpass, the config says how to give one.
    batching._GROUPS.clear()
    with pytest.raises(galsim.GalSimConfigError, match="image.bandpass"):
        galsim.config.BuildImage(config())


def test_validation_report_measures_the_colours(colour_module, tmp_path):
    import json

    from galsim_deep.tools.validation import validate

    out = tmp_path / "report"
    validate(str(colour_module), colour_module.parent / "c.h5", out, n=12, split="all",
             seed=0, processes=1, measures="colours", progress=False,
             reference_cache=tmp_path / "refs")
    section = json.loads((out / "summary.json").read_text())["colours"]
    assert section["bands"] == BANDS and section["n"] == 12
    entry = section["per_band"]["F606W"]
    # The truth's colours are the catalog's up to the light outside the stamp.
    assert entry["colour"]["truth"]["median"] < 0.1
    assert entry["colour"]["generated"]["median"] is not None
    assert entry["hlr_ratio"]["wasserstein_sersic"] > 0
    # The default matches the catalog's colours; the network's own are reported beside.
    assert section["mode"] == "catalog"
    assert entry["colour"]["generated"]["median"] < 2e-3 < entry["colour"]["network"]["median"]
    # The module's reconstructions of the observed test galaxies, with the network's SEDs.
    assert entry["colour"]["autoencoder"]["median"] > 0
    # The true profiles fitted to the noisy stamps: noise, so not 0, but no model error.
    assert 0 < entry["colour"]["matched_filter"]["median"] < 0.5
    assert "the autoencoder's" in (out / "summary.md").read_text()
    held = section["held_out"]["per_band"]
    assert set(held) == {"F435W", "LSST_u", "LSST_g", "LSST_z", "LSST_y", "Roman_H158"}
    assert set(held["LSST_g"]["generated"]) == {"catalog", "model"}
    assert held["LSST_g"]["generated"]["model"]["median_abs"]["median"] > 0
    assert 0.0 <= section["held_out"]["one_template"] <= 1.0
    text = (out / "summary.md").read_text()
    assert "## Colours" in text and "W(Sérsic, truth)" in text
    assert "bands the model was not trained on" in text


def test_demo_writes_the_gri_field_and_colour_gallery(colour_module, tmp_path):
    import json

    from galsim_deep.tools.demo import run_demo

    paths = run_demo(tmp_path / "demo", model_name=str(colour_module), n_galaxies=20,
                     field_size=96, progress=False)
    for key in ("field", "preview", "gallery", "field_gri", "gallery_gri"):
        assert paths[key].is_file(), key
    assert paths["field_gri"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(paths["summary"].read_text())
    assert summary["colour_module"] == summary["module"]


def test_the_release_check_observes_a_colour_module_in_its_reference_band(colour_module):
    """The release check's truths are F814W light, so a colour module's row is its
    galaxies' F814W profiles: one-band ``InterpolatedImage`` objects holding each
    reference-band stamp's light (a ``ChromaticObject`` could not be drawn in a view)."""
    from galsim_deep.diagnostics.release_check import _EngineProfiles

    model = GenerativeGalaxyModel(str(colour_module))
    batches = list(model.batches(_catalog(), rng=2))
    profiles = _EngineProfiles(batches)
    assert len(profiles) == 4
    stamps = np.concatenate([batch.stamps for batch in batches])
    chromatic = batches[0].galaxies(rows=[0])[0]
    assert isinstance(chromatic, galsim.ChromaticObject)
    for i in range(4):
        assert isinstance(profiles[i], galsim.InterpolatedImage)
        assert profiles[i].flux == pytest.approx(stamps[i].sum(), rel=1e-5)


def test_mock_truth_profile_keeps_the_f814w_magnitude():
    from galsim_deep.tools.demo.colour import mock_truth_profile

    row = {"mag_auto": 22.0, "flux_radius": 6.0, "zphot": 0.7}
    truth = mock_truth_profile(row, seed=3)
    assert truth.calculateMagnitude(B.get_bandpass("F814W")) == pytest.approx(22.0, abs=1e-3)
    # Its colour is its components' templates': every template is redder than a flat
    # spectrum (F606W - F814W > 0 in AB) at z = 0.7.
    assert truth.calculateMagnitude(B.get_bandpass("F606W")) > 22.0


def test_unreachable_colours_warn_clip_or_refuse_alike_in_the_api_and_yaml(colour_module):
    import warnings

    from galsim_deep import ColourRangeWarning
    from galsim_deep.api.config import batching
    from galsim_deep.core.catalog import reset_range_warnings
    from galsim_deep.engine.colour_range import reachable_colours

    model = GenerativeGalaxyModel(str(colour_module))
    # Every condition inside the training ranges: only the colours are out of reach.
    cat = _catalog(4)
    cat["mag_auto"] = np.array([21.0, 21.5, 23.0, 22.0])
    cat["zphot"] = np.array([0.3, 0.1, 0.1, 0.9])
    cat["mag_f606w"] = cat["mag_auto"] + np.array([0.5, 3.0, -2.0, 1.0])
    bluest, reddest = reachable_colours(model.metadata, cat["zphot"])["F606W"]
    assert reddest[1] < 3.0 and bluest[2] > -2.0
    assert bluest[0] < 0.5 < reddest[0] and bluest[3] < 1.0 < reddest[3]
    expected = np.clip(cat["mag_f606w"] - cat["mag_auto"], bluest, reddest)

    def colours(policy):
        arrays = np.concatenate(list(model.sample_arrays(cat, rng=3, rotate=False,
                                                         bands=["F814W", "F606W"],
                                                         range_policy=policy)))
        flux = arrays.sum(axis=(2, 3))
        return (B.zero_point("F606W") - B.zero_point("F814W")
                - 2.5 * np.log10(flux[:, 1] / flux[:, 0]))

    reset_range_warnings()
    with pytest.warns(ColourRangeWarning, match=r"2 of 4 catalog colour\(s\) F606W - F814W") \
            as caught:
        warned = colours("warn")
    message = str(caught[0].message)
    assert "row 1: +3.00 asked" in message and f"{reddest[1]:+.2f}]" in message
    assert "range_policy='clip'" in message
    np.testing.assert_array_equal(caught[0].message.rows, [1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColourRangeWarning)
        clipped = colours("clip")
    # Either way the galaxy is drawn at the nearest reachable colour.
    np.testing.assert_allclose(warned, expected, atol=2e-3)
    np.testing.assert_allclose(clipped, expected, atol=2e-3)
    with pytest.raises(InputError, match="outside what the SED templates reach.*"
                                         "range_policy='clip'"):
        colours("error")
    # YAML: the same warning, naming the objects.
    reset_range_warnings()
    batching._GROUPS.clear()

    def config(**model):
        return {"gal": {"type": "GenerativeModelGalaxy", "mag_auto": 21.0, "flux_radius": 6.0,
                        "zphot": 0.1, "mag_f606w": 24.0},
                "image": {"type": "Single", "size": 32, "pixel_scale": 0.03, "random_seed": 7,
                          "bandpass": {"file_name": "LSST_r.dat", "wave_type": "nm"}},
                "stamp": {"draw_method": "no_pixel"},
                "input": {"generative_model": {"file_name": str(colour_module), **model}}}
    with pytest.warns(ColourRangeWarning, match=r"objects 0\.\.0.*row 0: \+3\.00 asked"):
        galsim.config.BuildImage(config())
    batching._GROUPS.clear()
    with pytest.raises(Exception, match="outside what the SED templates reach"):
        galsim.config.BuildImage(config(range_policy="error"))
