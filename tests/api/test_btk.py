"""galsim_deep.api.btk: BlendingToolKit 1.x blends of generated galaxies.

BTK pins astropy < 7 and numpy < 2.3, which conflict with the main test
environment, so ``make test`` runs this file a second time in its own
environment (``.venv-btk``, ``make btk-env``), where BTK is installed; in the
main environment only the missing-extra test runs.
"""
import importlib
import importlib.util
import re
import sys

import galsim
import numpy as np
import pytest

from galsim_deep.core.extras import install_hint

HAS_BTK = importlib.util.find_spec("btk") is not None
needs_btk = pytest.mark.skipif(not HAS_BTK, reason="BTK runs in its own environment: "
                                                   "`make test` runs this file in .venv-btk")

# BTK seeds its noise deviates with 1-element arrays, which GalSim converts with int().
pytestmark = pytest.mark.filterwarnings(
    "ignore:Conversion of an array with ndim > 0 to a scalar:DeprecationWarning")

# An AB colour per LSST band, so that every band has its own magnitude column LSST_<band>.
COLOURS = {"u": 1.3, "g": 0.7, "r": 0.25, "i": 0.0, "z": -0.15, "y": -0.25}


def test_missing_btk_raises_an_import_error_naming_the_extra(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *args: None if name == "btk" else real_find_spec(name, *args))
    monkeypatch.delitem(sys.modules, "galsim_deep.api.btk", raising=False)
    with pytest.raises(ImportError, match=re.escape(install_hint("btk"))) as info:
        importlib.import_module("galsim_deep.api.btk")
    assert info.value.name == "btk" and "galsim_deep.api.btk" in str(info.value)


# ---------------------------------------------------------------------------- with BTK
@pytest.fixture(scope="module")
def catalog():
    from galsim_deep.api.btk import cosmos_example_catalog

    cat = cosmos_example_catalog()
    for band, colour in COLOURS.items():
        cat.table[f"LSST_{band}"] = cat.table["MAG"] + colour
    return cat


# The shipped chromatic model (F814W and F606W): the file's colour tests sample it, no
# training needed in the BTK environment.
COLOUR_MODEL = "hub:flow-vae-mock-cosmos-25.2-colour"


def _sampling(seed=1, stamp_size=24.0, max_shift=3.0, max_number=3, min_number=1):
    import btk

    return btk.sampling_functions.DefaultSampling(
        max_number=max_number, min_number=min_number, stamp_size=stamp_size,
        max_shift=max_shift, max_mag=23.5, mag_name="MAG", seed=seed)


def _generator(catalog, surveys, seed=7, sampling_seed=1, **kwargs):
    from galsim_deep.api.btk import GenerativeModelGenerator

    kwargs.setdefault("range_policy", "clip")  # example galaxies reach flux_radius 56 px
    sampling = _sampling(sampling_seed, **kwargs.pop("sampling", {}))
    return GenerativeModelGenerator(catalog, sampling, surveys, seed=seed, **kwargs)


def _flux_errors(batch, magnitude):
    """Relative error of every isolated galaxy's drawn flux, per band: [n_galaxies, n_bands]."""
    from surveycodex.utilities import mag2counts

    survey = batch.survey
    rows = []
    for i, blend in enumerate(batch.catalog_list):
        for j, entry in enumerate(blend):
            drawn = batch.isolated_images[i, j].sum(axis=(1, 2))
            target = [mag2counts(magnitude(entry, band), survey, survey.get_filter(band))
                      .to_value("electron") for band in survey.available_filters]
            rows.append(drawn / np.asarray(target) - 1.0)
    return np.array(rows)


@needs_btk
def test_the_generators_docstring_example_runs():
    from tests.project.test_docstring_examples import test_the_docstring_example_runs

    test_the_docstring_example_runs("galsim_deep.api.btk.GenerativeModelGenerator")


@needs_btk
def test_lsst_batch_of_100_blends_matches_catalog_fluxes_and_is_reproducible(catalog):
    import btk

    lsst = btk.survey.get_surveys("LSST")
    batch = next(_generator(catalog, lsst, batch_size=100))
    assert batch.blend_images.shape == (100, 6, 120, 120)
    assert batch.isolated_images.shape == (100, 3, 6, 120, 120)
    errors = _flux_errors(batch, lambda entry, band: entry[f"LSST_{band}"])
    assert len(errors) >= 150  # 1 to 3 galaxies per blend
    # Each band's flux is its own catalog magnitude's (BTK's mag2counts), within 1%.
    assert np.abs(errors).max() < 0.01, np.abs(errors).max(axis=0)
    assert all(not blend["not_drawn_r"].any() for blend in batch.catalog_list)
    # Reproducible: the same seeds give the same noisy blends, bit for bit.
    again = next(_generator(catalog, lsst, batch_size=100))
    np.testing.assert_array_equal(again.blend_images, batch.blend_images)
    np.testing.assert_array_equal(again.isolated_images, batch.isolated_images)
    # Another seed: the same blends (BTK's sampling seed) with other morphologies.
    small = next(_generator(catalog, lsst, batch_size=10))
    other = next(_generator(catalog, lsst, seed=8, batch_size=10))
    for a, b in zip(small.catalog_list, other.catalog_list):
        np.testing.assert_array_equal(a["IDENT_1"], b["IDENT_1"])
        assert not np.array_equal(a["gd_seed"], b["gd_seed"])
    assert not np.allclose(other.isolated_images, small.isolated_images)
    # The second batch of a generator differs from its first.
    gen = _generator(catalog, lsst, batch_size=4)
    first, second = next(gen), next(gen)
    assert not np.array_equal(first.isolated_images, second.isolated_images)


@needs_btk
def test_one_morphology_in_every_band_and_whatever_the_mini_batches(catalog, monkeypatch):
    import btk
    import btk.draw_blends

    import galsim_deep.api.btk as gd_btk

    # The same PSF in every band: an isolated galaxy's bands then differ by their flux only.
    lsst = btk.survey.get_surveys("LSST", psf_func=lambda survey, filt: galsim.Gaussian(fwhm=0.7))
    one = next(_generator(catalog, lsst, batch_size=6, add_noise="none"))
    iso = one.isolated_images
    drawn = iso.sum(axis=(3, 4), keepdims=True)
    unit = np.divide(iso, drawn, out=np.zeros_like(iso), where=drawn > 0)
    for band in range(1, 6):
        np.testing.assert_allclose(unit[:, :, band], unit[:, :, 0], rtol=1e-6, atol=1e-8)
    # njobs=3 cuts the batch into 3 mini-batches (run here one after the other): the
    # galaxies are the same, since each is drawn from its own seed.
    monkeypatch.setattr(btk.draw_blends, "multiprocess",
                        lambda func, args, njobs=1, verbose=False: [func(*a) for a in args])
    monkeypatch.setattr(gd_btk, "network_ran", lambda: False)
    three = next(_generator(catalog, lsst, batch_size=6, add_noise="none", njobs=3))
    np.testing.assert_array_equal(three.isolated_images, iso)
    np.testing.assert_array_equal(three.blend_images, one.blend_images)
    for a, b in zip(one.catalog_list, three.catalog_list):
        np.testing.assert_array_equal(a["gd_seed"], b["gd_seed"])
        np.testing.assert_array_equal(a["gd_rotation"], b["gd_rotation"])


@needs_btk
def test_each_blend_galaxy_is_the_api_galaxy_of_its_row_and_seed(catalog):
    """The sampling engine's one rule: a blend's galaxy is model.sample's galaxy for its
    catalog conditions and its object seed (gd_seed), pixel for pixel."""
    import btk

    lsst = btk.survey.get_surveys("LSST")
    gen = _generator(catalog, lsst, batch_size=5, add_noise="none")
    batch = next(gen)
    tables = batch.catalog_list
    profiles = gen._last_sample[1][0]  # gd_index -> the profile the generator drew
    conditions = gen.blend_catalog(tables)
    seeds = np.concatenate([np.asarray(t["gd_seed"]) for t in tables])
    api = gen.model.sample(conditions, rng=seeds)
    assert len(api) == len(seeds) == len(profiles) >= 5
    for index, profile in profiles.items():
        assert profile is not None
        np.testing.assert_array_equal(profile.image.array, api[index].image.array)


@needs_btk
def test_lsst_and_hst_share_the_morphology_and_each_its_flux(catalog):
    import btk

    lsst, hst = btk.survey.get_surveys(["LSST", "COSMOS"])  # COSMOS: HST/ACS F814W, 0.03"
    gen = _generator(catalog, [lsst, hst], batch_size=5,
                     sampling={"stamp_size": 6.0, "max_shift": 1.0})
    batch = next(gen)
    lsst_batch, hst_batch = batch["LSST"], batch["COSMOS"]
    assert hst_batch.blend_images.shape == (5, 1, 200, 200)
    assert lsst_batch.blend_images.shape == (5, 6, 30, 30)
    for a, b in zip(lsst_batch.catalog_list, hst_batch.catalog_list):
        np.testing.assert_array_equal(a["gd_seed"], b["gd_seed"])
        np.testing.assert_array_equal(a["gd_rotation"], b["gd_rotation"])
        assert np.all((a["gd_rotation"] >= 0) & (a["gd_rotation"] < 360))
    # HST: the catalog's F814W MAG (no COSMOS_f814w column).  The Airy wings of BTK's HST
    # PSF put ~1% of the light beyond the 6" stamp: the drawn flux is the magnitude's times
    # the PSF's own fraction on the stamp, within 2% (the default's galaxies take their
    # axis ratios from its population of shapes, and the most elongated put some of their
    # own light beyond the stamp too; the median stays within 1%).  A galaxy larger than
    # the model's stamp, drawn on its coarser canvas (galsim_deep.engine.canvas), has
    # light beyond the 6" stamp of its own: it loses some, never gains.
    psf = hst_batch.psf[0]
    on_stamp = psf.drawImage(nx=200, ny=200, scale=0.03).array.sum()
    assert 0.95 < on_stamp < 0.995
    errors = _flux_errors(hst_batch, lambda entry, band: entry["MAG"])
    ratio = (1 + errors[:, 0]) / on_stamp
    big = gen.model.canvas_factors(gen.blend_catalog(hst_batch.catalog_list)) > 1
    assert big.any() and np.all((ratio[big] > 0.85) & (ratio[big] < 1.01)), ratio[big]
    assert np.abs(ratio[~big] - 1).max() < 0.02, errors
    assert np.median(np.abs(ratio[~big] - 1)) < 0.01, errors
    # The 0.03" HST stamp resolves the generated morphology: not a round blob (the
    # batch's brightest galaxy, which HSM measures whatever the draws).
    flux = hst_batch.isolated_images.sum(axis=(2, 3, 4))
    i, j = np.unravel_index(np.argmax(flux), flux.shape)
    entry = hst_batch.catalog_list[i][j]
    image = galsim.Image(hst_batch.isolated_images[i, j, 0], scale=0.03)
    centre = galsim.PositionD(entry["x_peak"] + 1, entry["y_peak"] + 1)  # BTK's are 0-based
    moments = image.FindAdaptiveMom(guess_centroid=centre)
    assert moments.moments_sigma > 2  # pixels of 0.03"
    assert abs(moments.moments_centroid.x - centre.x) < 1.5
    assert abs(moments.moments_centroid.y - centre.y) < 1.5


@needs_btk
def test_catsim_catalog_with_the_default_column_map():
    import btk
    from astropy.table import Table

    from galsim_deep.api.btk import CATSIM_COLUMN_MAP, catsim_flux_radius

    rng = np.random.default_rng(5)
    n = 30
    table = Table({"ra": np.zeros(n), "dec": np.zeros(n),
                   "redshift": rng.uniform(0.2, 1.2, n),
                   "a_d": rng.uniform(0.2, 0.5, n), "b_d": rng.uniform(0.1, 0.2, n),
                   "a_b": rng.uniform(0.05, 0.1, n), "b_b": rng.uniform(0.04, 0.05, n),
                   "pa_disk": rng.uniform(0, 180, n), "fluxnorm_disk": rng.uniform(0.5, 1, n),
                   "fluxnorm_bulge": rng.uniform(0, 0.5, n), "fluxnorm_agn": np.zeros(n)})
    table["pa_bulge"] = table["pa_disk"]
    table["i_ab"] = rng.uniform(20, 23, n)
    for band, colour in COLOURS.items():
        table[f"{band}_ab"] = table["i_ab"] + colour
    catalog = btk.catalog.CatsimCatalog(table)
    fr = catsim_flux_radius(table)
    assert np.all((fr > 3) & (fr < 20))  # pixels of 0.03": COSMOS-like sizes
    lsst = btk.survey.get_surveys("LSST")
    from galsim_deep.api.btk import GenerativeModelGenerator

    sampling = btk.sampling_functions.DefaultSampling(max_number=2, stamp_size=12.0,
                                                      max_shift=1.5, max_mag=23.5, seed=2)
    gen = GenerativeModelGenerator(catalog, sampling, lsst, batch_size=4, seed=1,
                                   add_noise="none")
    assert gen.column_map == CATSIM_COLUMN_MAP  # the catalog has none of the conditions
    batch = next(gen)
    errors = _flux_errors(batch, lambda entry, band: entry[f"{band}_ab"])
    assert np.abs(errors).max() < 0.01
    # BTK's own CatSim generator draws the same blends (its bulge + disk profiles).
    reference = next(btk.draw_blends.CatsimGenerator(
        catalog, btk.sampling_functions.DefaultSampling(max_number=2, stamp_size=12.0,
                                                        max_shift=1.5, max_mag=23.5, seed=2),
        lsst, batch_size=4, seed=1, add_noise="none"))
    for a, b in zip(batch.catalog_list, reference.catalog_list):
        np.testing.assert_array_equal(a["i_ab"], b["i_ab"])
        np.testing.assert_array_equal(a["ra"], b["ra"])


class _SometimesEmpty:
    """A BTK sampling function whose even blends have no galaxy."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.stamp_size, self.max_number, self.min_number = inner.stamp_size, inner.max_number, 0

    def __call__(self, table):
        self.calls += 1
        blend = self.inner(table)
        return blend[:0] if self.calls % 2 else blend


@needs_btk
def test_empty_blends_and_bad_arguments(catalog):
    import btk

    from galsim_deep.api.btk import GenerativeModelGenerator
    from galsim_deep.core.errors import InputError, MissingFieldError

    lsst = btk.survey.get_surveys("LSST")
    sampling = _SometimesEmpty(_sampling(stamp_size=6.0, max_shift=1.0))
    batch = next(GenerativeModelGenerator(catalog, sampling, lsst, batch_size=4, seed=3,
                                          range_policy="clip"))
    assert [len(c) for c in batch.catalog_list][0::2] == [0, 0]
    assert np.all(batch.isolated_images[0] == 0)
    assert batch.isolated_images[1, 0].sum() > 0

    with pytest.raises(MissingFieldError, match="column_map"):
        GenerativeModelGenerator(catalog, _sampling(), lsst, column_map={"mag_auto": "MAG_I"})
    with pytest.raises(MissingFieldError, match="not conditions"):
        GenerativeModelGenerator(catalog, _sampling(), lsst, column_map={"size": "hlr"})
    with pytest.raises(TypeError, match="CosmosCatalog or CatsimCatalog"):
        GenerativeModelGenerator(object(), _sampling(), lsst)
    with pytest.raises(InputError, match="add_noise"):
        GenerativeModelGenerator(catalog, _sampling(), lsst, add_noise="some")
    with pytest.raises(ValueError, match="'zphot' lie outside the training range"):
        next(GenerativeModelGenerator(catalog, _sampling(), lsst, batch_size=20,
                                      range_policy="error",
                                      column_map={"zphot": lambda t: np.full(len(t), 3.0)}))
    # A function of the blend table as a condition.
    gen = GenerativeModelGenerator(
        catalog, _sampling(stamp_size=6.0, max_shift=1.0), lsst, batch_size=2, seed=3,
        range_policy="clip", column_map={"flux_radius": lambda t: np.minimum(t["flux_radius"], 9)})
    cond = gen.blend_conditions([catalog.table[:5]])
    np.testing.assert_allclose(cond["flux_radius"],
                               np.minimum(catalog.table["flux_radius"][:5], 9), rtol=1e-6)


@needs_btk
def test_a_chromatic_model_draws_every_band_from_one_colour_galaxy(catalog):
    """Each band: the galaxy's components weighted by their SEDs' flux there, its magnitude
    the catalog's F814W one plus the model's colour (no per-band magnitude needed)."""
    import btk

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.physics.bands import interpolate_ratios, flux_ratio_table, zero_point
    from galsim_deep.api.btk import INDEX_COLUMN
    from surveycodex.utilities import mag2counts

    model = GenerativeGalaxyModel(COLOUR_MODEL, range_policy="clip")
    surveys = btk.survey.get_surveys("LSST")
    generator = _generator(catalog, surveys, model=model, batch_size=4,
                           column_map={"mag_auto": "MAG",
                                       "mag_f606w": lambda t: t["MAG"] + 0.5})
    batch = next(generator)
    bands = [f"LSST_{b}" for b in surveys.available_filters]
    shapes = []
    for i, blend in enumerate(batch.catalog_list):
        for j, entry in enumerate(blend):
            drawn = batch.isolated_images[i, j].sum(axis=(1, 2))
            galaxy = generator._last_sample[1][0][int(entry[INDEX_COLUMN])]
            mags = [galaxy.in_band(b)[1] for b in bands]
            target = [mag2counts(m, surveys, surveys.get_filter(f)).to_value("electron")
                      for m, f in zip(mags, surveys.available_filters)]
            # Each band holds the model's colour (PSF wings and the stamp edge cost < 3%).
            np.testing.assert_allclose(drawn, target, rtol=0.03)
            # Its reference-band magnitude is the catalog's, its colour the SED mixture's.
            ratios = interpolate_ratios(flux_ratio_table(["LSST_r"]), [galaxy.redshift])[0]
            flux_r = (galaxy.fluxes * (galaxy.sed_weights @ ratios[:, 0])).sum()
            expected = (float(entry["MAG"]) + zero_point("LSST_r") - zero_point("F814W")
                        - 2.5 * np.log10(flux_r / galaxy.fluxes.sum()))
            assert galaxy.in_band("LSST_r")[1] == pytest.approx(expected, abs=1e-9)
            shapes.append(drawn)
    assert shapes
    # A survey band with no bandpass is refused with the fix.
    euclid = btk.survey.get_surveys("Euclid_VIS")
    with pytest.raises(Exception, match="draw that survey with a mono model"):
        next(_generator(catalog, euclid, model=model, batch_size=2,
                        column_map={"mag_auto": "MAG", "mag_f606w": lambda t: t["MAG"]}))


@needs_btk
def test_a_colour_the_templates_cannot_reach_warns_as_in_the_api(catalog):
    """The BTK generator checks catalog colours as the API and YAML do."""
    import btk

    from galsim_deep import ColourRangeWarning, GenerativeGalaxyModel
    from galsim_deep.core.catalog import reset_range_warnings

    reset_range_warnings()
    model = GenerativeGalaxyModel(COLOUR_MODEL)
    with pytest.warns(ColourRangeWarning, match="F606W - F814W.*nearest reachable colour"):
        next(_generator(catalog, btk.survey.get_surveys("LSST"), model=model, batch_size=2,
                        range_policy="warn", column_map={"mag_auto": "MAG",
                                                         "mag_f606w": lambda t: t["MAG"] + 4.0}))


@needs_btk
def test_a_new_family_s_kind_draws_through_btk(catalog, tmp_path):
    """The toy family of tests/toy_kind.py (one new sampling kind): each blend galaxy is the
    API's galaxy of its row and seed, a sum of the kind's two parts, at its catalog flux."""
    import btk

    from galsim_deep import GenerativeGalaxyModel
    from tests.toy_kind import PartsKind, export_parts_module

    model = GenerativeGalaxyModel(str(export_parts_module(tmp_path / "parts")),
                                  range_policy="clip")
    assert isinstance(model.kind, PartsKind)
    for profile, expected in _blend_and_api_galaxies(catalog, model, btk):
        assert isinstance(profile, galsim.Sum)
        for part, wanted in zip(profile.obj_list, expected.obj_list):
            np.testing.assert_array_equal(part.image.array, wanted.image.array)


def _blend_and_api_galaxies(catalog, model, btk):
    """One noiseless LSST batch of 4 blends of ``model``'s galaxies: each blend galaxy's
    profile beside the API's galaxy of its row and seed, once every isolated galaxy's flux
    is checked against its catalog magnitude (3%) in every band."""
    gen = _generator(catalog, btk.survey.get_surveys("LSST"), model=model, batch_size=4,
                     add_noise="none", column_map={"mag_auto": "MAG"})
    batch = next(gen)
    profiles = gen._last_sample[1][0]
    seeds = np.concatenate([np.asarray(t["gd_seed"]) for t in batch.catalog_list])
    api = model.sample(gen.blend_catalog(batch.catalog_list), rng=seeds)
    assert len(profiles) == len(api) >= 4
    errors = _flux_errors(batch, lambda entry, band: entry[f"LSST_{band}"])
    assert np.abs(errors).max() < 0.03, np.abs(errors).max(axis=0)
    return [(profile, api[index]) for index, profile in profiles.items()]


@needs_btk
def test_bands_drawn_in_blocks_match_galsim_one_by_one(catalog):
    """Each band's galaxies drawn in one block (block=True) against GalSim's drawing of
    each at its default settings (the default): every isolated image within 4e-4 of its
    peak (1.4e-4 at most measured with 1.1.3's galaxies, 2.8e-4 with 2.0.0's, on 24" LSST
    stamps with galaxies up to 3" off centre, where GalSim's own FFT wraps its PSF's wings
    by ~1e-3 of the flux; the block is held to 1e-4 of GalSim converged in
    tests/engine/test_block.py); galaxies BTK turns
    (augment_data) are drawn one by one in both, so the same pixels."""
    import btk

    lsst = btk.survey.get_surveys("LSST")
    block = next(_generator(catalog, lsst, batch_size=6, add_noise="none", block=True))
    single = next(_generator(catalog, lsst, batch_size=6, add_noise="none"))
    iso_b, iso_s = block.isolated_images, single.isolated_images
    peak = iso_s.max(axis=(3, 4))
    drawn = peak > 0
    assert drawn.sum() >= 6 * 6
    diff = np.abs(iso_b - iso_s).max(axis=(3, 4))
    assert np.all(diff[drawn] / peak[drawn] < 4e-4), (diff[drawn] / peak[drawn]).max()
    assert np.all(diff[~drawn] == 0)
    turned = next(_generator(catalog, lsst, batch_size=3, add_noise="none", augment_data=True,
                             block=True))
    again = next(_generator(catalog, lsst, batch_size=3, add_noise="none", augment_data=True))
    np.testing.assert_array_equal(turned.isolated_images, again.isolated_images)


@needs_btk
@pytest.mark.filterwarnings("ignore:module .* is experimental")
@pytest.mark.parametrize("name", ["equivariant-vae-mock-cosmos-25.2",
                                  "hierarchical-vae-mock-cosmos-25.2"])
def test_the_papers_families_draw_through_btk(catalog, name):
    """The two families of issue 57, as shipped: each blend galaxy is the API's galaxy of its
    row and seed, at its catalog flux in every band."""
    from galsim_deep import GenerativeGalaxyModel

    import btk

    model = GenerativeGalaxyModel(f"hub:{name}", range_policy="clip")
    for profile, expected in _blend_and_api_galaxies(catalog, model, btk):
        np.testing.assert_array_equal(profile.image.array, expected.image.array)


@needs_btk
def test_a_catalog_shape_reaches_each_blend_galaxy(catalog):
    """column_map's shape columns: every blend galaxy has the axis ratio and position angle
    its row's function gives it (noiseless HSM of its profile), its gd_rotation 0."""
    import btk
    import galsim

    from galsim_deep.core.errors import InputError

    lsst = btk.survey.get_surveys("LSST")
    column_map = {"q": lambda t: np.full(len(t), 0.4),
                  "beta": lambda t: np.asarray(t["gd_index"], float) * 20.0}
    gen = _generator(catalog, lsst, batch_size=3, add_noise="none", column_map=column_map)
    batch = next(gen)
    profiles = gen._last_sample[1][0]
    for table in batch.catalog_list:
        assert np.all(np.asarray(table["gd_rotation"]) == 0)
    for index, profile in profiles.items():
        image = profile.drawImage(nx=240, ny=240, scale=0.02, method="no_pixel")
        shape = galsim.hsm.FindAdaptiveMom(image, guess_sig=15).observed_shape
        assert shape.q == pytest.approx(0.4, abs=0.01)
        assert (shape.beta / galsim.degrees - 20.0 * index + 90) % 180 - 90 == \
            pytest.approx(0.0, abs=1.0)
    with pytest.raises(InputError, match="axis ratio 'q'"):
        next(_generator(catalog, lsst, batch_size=2, add_noise="none",
                        column_map={"q": lambda t: np.zeros(len(t))}))
