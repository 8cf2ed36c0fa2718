"""Multi-band mock-COSMOS: bands and SED templates, the component colours, the band fields."""
import math

import numpy as np
import pytest

from galsim_deep.physics import bands as B
from galsim_deep.data.build import build_dataset
from galsim_deep.data.mock_colours import (MOCK_BANDS, assign_seds, component_fluxes,
                                               mock_bands)
from galsim_deep.data.mock_cosmos import galaxy_rng, make_mock_galaxy
from galsim_deep.data.reader import StampDataset
from galsim_deep.core.errors import InputError


def test_zero_points_keep_the_cosmos_anchor_and_flat_spectra_have_no_colour():
    import galsim

    assert B.zero_point("F814W") == pytest.approx(25.94)
    # Sirianni et al. 2005 (PASP 117, 1049), ACS/WFC AB zero points: F606W 26.486,
    # F814W 25.937; the difference is what matters here.
    assert B.zero_point("F606W") - B.zero_point("F814W") == pytest.approx(26.486 - 25.937,
                                                                          abs=0.01)
    # A spectrum flat in f_nu has the same AB magnitude in every band.
    flat = galsim.SED(lambda w: 1.0, wave_type="nm", flux_type="fnu")
    reference = B.zero_point("F814W") - 2.5 * math.log10(
        flat.calculateFlux(B.get_bandpass("F814W")))
    for band in ("F435W", "F606W", "LSST_g", "LSST_y", "Roman_H158"):
        mag = B.zero_point(band) - 2.5 * math.log10(flat.calculateFlux(B.get_bandpass(band)))
        assert mag == pytest.approx(reference, abs=2e-3), band


def test_band_names_templates_and_coverage_errors_name_the_fix():
    assert B.band_name("f606w") == "F606W" and B.band_name(" lsst_r") == "LSST_r"
    with pytest.raises(InputError, match="unknown band 'F999W'; use one of F435W"):
        B.band_name("F999W")
    with pytest.raises(InputError, match="unknown SED template"):
        B.sed_template("CWW_S0", 0.5)
    with pytest.raises(InputError, match="redshift must be a finite number >= 0"):
        B.sed_template("CWW_E_ext", float("nan"))
    # The templates end at 2205 nm in the rest frame: K213 needs z >= 0.095.
    with pytest.raises(InputError, match="Roman_K213 .* outside the SED templates"):
        B.check_coverage("Roman_K213", 0.05)
    B.check_coverage("Roman_K213", 0.2)
    # The elliptical is redder than the irregular, and both redden to z = 1 in F606W-F814W.
    red, blue = (B.flux_ratios(t, z, ["F606W"])[0] for t in ("CWW_E_ext", "CWW_Im_ext")
                 for z in (0.5,))
    assert red < blue
    assert B.flux_ratios("CWW_E_ext", 1.0, ["F606W"])[0] < B.flux_ratios(
        "CWW_E_ext", 0.2, ["F606W"])[0]


def test_the_one_band_flux_rule_is_the_exact_integration_on_its_redshift_grid():
    """physics.bands.band_fluxes (the models' rule: weights times the templates' table,
    interpolated in redshift) with one template per component is exact_band_fluxes (the
    mock truth's rule: each template integrated at the galaxy's redshift) on the grid."""
    bands = ["F814W", "F435W", "LSST_g", "Roman_H158"]
    rng = np.random.default_rng(56)
    z = B.REDSHIFT_GRID[rng.integers(10, 300, 6)]
    templates = rng.integers(-1, len(B.SED_TEMPLATES), (6, 3))
    flux = rng.uniform(0.5, 2.0, (6, 3))
    one_hot = (templates[..., None] == np.arange(len(B.SED_TEMPLATES))).astype(float)
    exact = B.exact_band_fluxes(flux, templates, z, bands)               # [N, K, B]
    np.testing.assert_allclose(exact, flux[..., None] * B.band_fluxes(one_hot, z, bands),
                               rtol=1e-12)
    assert not exact[templates < 0].any()
    np.testing.assert_allclose(exact[..., 0], np.where(templates >= 0, flux, 0), rtol=1e-12)
    # The rule is linear in the weights; the reference band's flux ratio is 1.
    weights = rng.dirichlet(np.ones(len(B.SED_TEMPLATES)), size=(6, 3))
    per_template = B.band_fluxes(np.broadcast_to(np.eye(4), (6, 4, 4)), z, bands)
    np.testing.assert_allclose(B.band_fluxes(weights, z, bands),
                               np.einsum("nkt,ntb->nkb", weights, per_template), rtol=1e-12)
    np.testing.assert_allclose(per_template[..., 0], 1.0, rtol=1e-12)
    # One galaxy: [K] fluxes and templates, a scalar redshift, as the mock calls it.
    np.testing.assert_array_equal(B.exact_band_fluxes(flux[0], templates[0], z[0], bands),
                                  exact[0])
    # Unknown bands and templates, bad shapes: errors that name the fix.
    for rule in (lambda b: B.band_fluxes(weights, z, b),
                 lambda b: B.exact_band_fluxes(flux, templates, z, b)):
        with pytest.raises(InputError, match="unknown band 'LSST_w'; use one of F435W.*"
                                             "galsim.Bandpass"):
            rule(["F814W", "LSST_w"])
    with pytest.raises(InputError, match="indices into SED_TEMPLATES"):
        B.exact_band_fluxes(flux, templates + 2, z, bands)
    with pytest.raises(InputError, match="one redshift per galaxy"):
        B.exact_band_fluxes(flux, templates, z[:2], bands)
    with pytest.raises(InputError, match="finite numbers >= 0"):
        B.exact_band_fluxes(flux, templates, -z, bands)


def test_ab_colour_of_a_flux_ratio_and_back():
    offset = B.zero_point("F606W") - B.zero_point("F814W")
    assert B.ab_colour(1.0, "F606W") == pytest.approx(offset, abs=1e-15)
    assert B.ab_colour(10.0, "f606w", "F814W") == pytest.approx(offset - 2.5, abs=1e-12)
    ratio = np.array([[0.3, 1.0], [2.0, 7.5]])
    colour = B.ab_colour(ratio, "LSST_g", "LSST_i")
    assert colour.shape == (2, 2)
    np.testing.assert_allclose(B.colour_flux_ratio(colour, "LSST_g", "LSST_i"), ratio,
                               rtol=1e-13)
    with pytest.raises(InputError, match="unknown band 'F999W'; use one of"):
        B.ab_colour(1.0, "F999W")


def test_mock_bands_are_hst_acs_with_f814w_first():
    assert mock_bands("F606W") == ["F814W", "F606W"]
    assert mock_bands(["f435w", "F814W", "F606W"]) == ["F814W", "F435W", "F606W"]
    with pytest.raises(InputError, match="HST ACS bands only .* not LSST_r"):
        mock_bands(["LSST_r"])
    with pytest.raises(InputError, match="repeat a band"):
        mock_bands(["F606W", "f606w"])
    with pytest.raises(InputError, match="needs a band besides F814W"):
        mock_bands(["F814W"])
    assert set(MOCK_BANDS) <= set(B.BANDS)


def test_components_sum_to_the_galaxy_and_keep_its_f814w_flux():
    rng = galaxy_rng(3, 0)
    for i in range(40):
        rng = galaxy_rng(3, i)
        gal = make_mock_galaxy(21.5, 8.0, 0.7, rng, max_extent=0.9)
        fluxes = component_fluxes(gal)
        assert fluxes.sum() == pytest.approx(gal.profile.flux, rel=1e-9)
        seds = assign_seds(gal, 0.7, 21.5, np.random.default_rng(i))
        assert np.all((seds >= 0) == (fluxes > 0))
        per_band = B.exact_band_fluxes(fluxes, seds, 0.7, ["F814W", "F606W"])
        np.testing.assert_allclose(per_band[:, 0], fluxes, rtol=1e-12)
        for k in np.flatnonzero(seds >= 0):      # each component: its template's ratio
            np.testing.assert_allclose(per_band[k, 1], fluxes[k] * B.flux_ratios(
                B.SED_TEMPLATES[seds[k]], 0.7, ["F606W"])[0], rtol=1e-15)
        assert not per_band[seds < 0].any()


@pytest.fixture(scope="module")
def two_build_paths(tmp_path_factory):
    """The same 16 galaxies built in F814W alone and in three bands (read-only)."""
    out = tmp_path_factory.mktemp("colour")
    kw = dict(stamp_size=32, pixel_scale=0.03, seed=4, progress=False, n_test=2)
    mono = build_dataset("mock-cosmos", 16, out / "mono.h5", processes=1, **kw)
    multi = build_dataset("mock-cosmos", 16, out / "multi.h5", processes=2, chunk_size=5,
                          bands="F814W,F606W,F435W", **kw)
    return mono, multi


@pytest.fixture(scope="module")
def two_builds(two_build_paths):
    mono, multi = two_build_paths
    with StampDataset(mono) as m, StampDataset(multi) as c:
        return m.arrays("all"), c.arrays("all"), c.bands, c.band_zero_points, c.condition_names


def test_f814w_fields_are_the_mono_builds_bit_for_bit(two_builds):
    mono, multi, bands, _, names = two_builds
    assert bands == ["F814W", "F606W", "F435W"]
    assert names == ["mag_auto", "flux_radius", "zphot", "mag_f606w", "mag_f435w"]
    for key in ("stamp", "psf", "truth", "noise_variance", "noise_power", "parametric",
                "label", "psf_id", "ident"):
        np.testing.assert_array_equal(multi[key], mono[key], err_msg=key)
    np.testing.assert_array_equal(multi["conditions"][:, :3], mono["conditions"])
    for key in ("stamp", "psf", "truth", "noise_variance", "noise_power"):
        np.testing.assert_array_equal(multi[f"{key}_bands"][:, 0], mono[key], err_msg=key)


def test_band_fluxes_magnitudes_psfs_and_noise(two_builds):
    _, multi, bands, zero_points, _ = two_builds
    flux = multi["component_flux"].astype(np.float64)          # [N, K, B]
    total = flux.sum(axis=1)
    mag_auto, mag606 = multi["conditions"][:, 0], multi["conditions"][:, 3]
    np.testing.assert_allclose(zero_points["F814W"] - 2.5 * np.log10(total[:, 0]), mag_auto,
                               atol=2e-4)
    np.testing.assert_allclose(zero_points["F606W"] - 2.5 * np.log10(total[:, 1]), mag606,
                               atol=2e-4)
    # A galaxy whose components share one template is the F814W truth times its flux ratio;
    # one with a red bulge and a bluer disk is not (its light moves out in the blue).
    seds = multi["component_sed"]
    single = np.array([len(set(row[row >= 0])) == 1 for row in seds])
    assert 0 < single.sum() < len(seds)
    truth = multi["truth_bands"].astype(np.float64)
    for i in np.flatnonzero(single):
        np.testing.assert_allclose(truth[i, 1], truth[i, 0] * total[i, 1] / total[i, 0],
                                   rtol=1e-4, atol=1e-7 * truth[i, 0].max())
    for i in np.flatnonzero(~single):
        assert not np.allclose(truth[i, 1], truth[i, 0] * total[i, 1] / total[i, 0],
                               rtol=1e-3)
    # Bluer bands: sharper PSFs (diffraction), same AB depth, so noise scaled by the zero point.
    def width(psf):
        y, x = np.indices(psf.shape[-2:]) - psf.shape[-1] // 2
        return np.sqrt(((x ** 2 + y ** 2) * psf).sum(axis=(-2, -1)) / psf.sum(axis=(-2, -1)))
    psf = multi["psf_bands"]
    assert np.all(width(psf[:, 2]) < width(psf[:, 1])) and np.all(width(psf[:, 1]) <
                                                                  width(psf[:, 0]))
    for j, band in enumerate(bands):
        ratio = 10 ** (0.8 * (zero_points[band] - zero_points["F814W"]))
        np.testing.assert_allclose(multi["noise_variance_bands"][:, j],
                                   multi["noise_variance"] * ratio, rtol=1e-5)
    # Each band has its own noise: the residual stamps are not the F814W noise scaled.
    assert not np.allclose(multi["stamp_bands"][:, 1] - multi["stamp_bands"][:, 1].mean(),
                           multi["stamp_bands"][:, 0] - multi["stamp_bands"][:, 0].mean())


def test_validation_measures_the_mock_truths_colours_as_the_mock_made_them(two_builds):
    """validation.colours.template_fluxes, from what the dataset stores (each component's
    F814W flux and template, the float32 zphot), gives the colours of the band fluxes the
    mock made (component_flux) to 1e-6 mag; the models' interpolated table does not."""
    from galsim_deep.tools.validation.measures.colours.compute import flux_colours, template_fluxes

    _, multi, bands, zero_points, names = two_builds
    made = multi["component_flux"].astype(np.float64)              # [N, K, B]
    z = multi["conditions"][:, names.index("zphot")]
    zps = [zero_points[b] for b in bands]
    want = flux_colours(made.sum(axis=1), 0, zps)
    got = flux_colours(template_fluxes(made[..., 0], multi["component_sed"], z, bands), 0,
                       zps)
    assert np.isfinite(want).all() and np.abs(want[:, 1:]).min() > 0.05
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    # The table interpolated in redshift (the models' rule) misses them by more.
    one_hot = (multi["component_sed"][..., None] == np.arange(len(B.SED_TEMPLATES)))
    table = (made[..., :1] * B.band_fluxes(one_hot, z, bands)).sum(axis=1)
    assert np.abs(flux_colours(table, 0, zps) - want).max() > 1e-5


def test_red_bulge_blue_disk_galaxies_are_mostly_larger_in_the_blue(two_builds):
    _, multi, _, _, _ = two_builds
    seds = multi["component_sed"]
    chosen = np.flatnonzero((seds[:, 0] == 0) & (seds[:, 1] >= 2))  # E bulge, Scd / Im disk
    assert len(chosen) >= 1, seds
    truth = multi["truth_bands"][chosen].astype(np.float64)
    y, x = np.indices(truth.shape[-2:]) - truth.shape[-1] / 2 + 0.5
    r2 = (truth * (x ** 2 + y ** 2)).sum(axis=(-2, -1)) / truth.sum(axis=(-2, -1))
    # Most disks are larger than their bulges (a bulge is 0.37 times its disk's size, with
    # 0.3 dex of scatter): such galaxies are larger in the blue.
    assert np.median(r2[:, 1] / r2[:, 0]) > 1.05 and np.mean(r2[:, 1] > r2[:, 0]) >= 0.7, r2


def test_mono_dataset_asked_for_band_fields_says_how_to_build_one(mock_dataset_path):
    with StampDataset(mock_dataset_path) as data:
        assert data.bands == [] and data.band_zero_points == {}
        with pytest.raises(Exception, match="--bands F814W,F606W"):
            data.read([0], ["stamp_bands"])


def test_cli_builds_bands_and_refuses_them_for_cosmos(tmp_path, capsys):
    from galsim_deep.cli import main

    out = tmp_path / "b.h5"
    assert main(["dataset", "build", "--source", "mock-cosmos", "--bands", "F606W", "--n",
                 "3", "--stamp-size", "24", "--out", str(out), "--processes", "1",
                 "--quiet"]) == 0
    with StampDataset(out) as data:
        assert data.bands == ["F814W", "F606W"]
        assert data.read([0, 1, 2], ["stamp_bands"])["stamp_bands"].shape == (3, 2, 24, 24)
    assert main(["dataset", "build", "--source", "cosmos", "--bands", "F606W", "--n", "3",
                 "--out", str(tmp_path / "c.h5")]) == 1
    assert "--bands do(es) not apply to --source cosmos" in capsys.readouterr().err


def test_colour_sample_is_the_builds_colours(two_builds):
    from galsim_deep.data.colour_stats import colour_sample

    _, multi, _, _, _ = two_builds
    sample = colour_sample("cosmos-example", n=16, seed=4, stamp_size=32, pixel_scale=0.03)
    np.testing.assert_allclose(sample["mag_auto"], multi["conditions"][:, 0], atol=1e-5)
    np.testing.assert_allclose(sample["colour"],
                               multi["conditions"][:, 3] - multi["conditions"][:, 0], atol=1e-4)
    np.testing.assert_array_equal(sample["label"], multi["label"])
    # The type is the brightest component's template's (E: 0, Sbc/Scd: 1, Im: 2).
    brightest = multi["component_sed"][np.arange(16), multi["component_flux"][:, :, 0]
                                       .argmax(axis=1)]
    np.testing.assert_array_equal(sample["type"], np.array([0, 1, 1, 2])[brightest])


def test_benitez_fractions_and_type_probabilities():
    from galsim_deep.data.mock_colours import benitez_fractions, type_probabilities

    f = benitez_fractions([19.0, 20.0, 25.0])
    np.testing.assert_allclose(f.sum(axis=1), 1.0)
    np.testing.assert_allclose(f[0], f[1])                      # flat brighter than 20
    np.testing.assert_allclose(f[1], [0.35, 0.50, 0.15])
    np.testing.assert_allclose(f[2, :2], [0.35 * np.exp(-2.25), 0.5 * np.exp(-0.735)])
    spheroid, clumpy = type_probabilities(22.0, "spheroid"), type_probabilities(22.0, "clumpy")
    assert spheroid.sum() == pytest.approx(1) and spheroid[0] > benitez_fractions(22.0)[0]
    assert clumpy[2] > benitez_fractions(22.0)[2] > spheroid[2]


def test_cli_colours_prints_the_table_and_writes_the_figure(tmp_path, capsys):
    import json

    from galsim_deep.cli import main

    out, table = tmp_path / "c.png", tmp_path / "c.json"
    assert main(["dataset", "colours", "--population", "cosmos-example", "--n", "60",
                 "--out", str(out), "--json", str(table), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "mock / Benitez 2000" in text and "Driver et al. 1995" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads(table.read_text())
    assert summary["n"] == 60 and sum(b["n"] for b in summary["by_magnitude"]) == 60
    for b in summary["by_magnitude"]:
        if b["n"]:
            assert sum(b["fractions"]) == pytest.approx(1.0)


def test_band_magnitudes_added_to_a_one_band_file_are_the_multi_band_build_s(
        two_build_paths, tmp_path):
    """``dataset add-bands`` recomputes each galaxy from its own seed: the one-band file then
    holds the three-band build's ``mag_f606w`` and ``mag_f435w`` bit for bit, and nothing
    else in it changes."""
    import shutil

    import h5py

    from galsim_deep.cli import main
    from galsim_deep.data.band_columns import add_band_magnitudes
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies

    mono, multi = two_build_paths
    path = tmp_path / "mono.h5"
    shutil.copyfile(mono, path)
    with pytest.raises(InputError, match="has no column 'mag_f606w'.*add-bands .* F606W"):
        EvaluationGalaxies.load(path).column("mag_f606w")
    assert main(["dataset", "add-bands", str(path), "--bands", "F606W,F435W", "--quiet"]) == 0
    with StampDataset(path) as a, StampDataset(multi) as c, StampDataset(mono) as m:
        assert a.condition_names == c.condition_names
        added, made, before = a.arrays("all"), c.arrays("all"), m.arrays("all")
    np.testing.assert_array_equal(added["conditions"], made["conditions"])
    for key in ("stamp", "truth", "psf", "noise_power", "parametric", "ident"):
        np.testing.assert_array_equal(added[key], before[key], err_msg=key)
    assert EvaluationGalaxies.load(path).column("mag_f435w").shape == (2,)
    # Mistakes name the problem; the file is left as it was.
    with pytest.raises(InputError, match=r"already holds \['mag_f606w'\]"):
        add_band_magnitudes(path, ["F606W"])
    with pytest.raises(InputError, match="already a multi-band build"):
        add_band_magnitudes(multi, ["F775W"])
    with pytest.raises(InputError, match="HST ACS bands only"):
        add_band_magnitudes(path, ["LSST_r"])
    other = tmp_path / "other.h5"
    shutil.copyfile(mono, other)
    with h5py.File(other, "r+") as f:
        f["conditions/mag_auto"][3] += 0.5
    with pytest.raises(InputError, match="galaxy 3 of .* is not galaxy 3 of the mock build"):
        add_band_magnitudes(other, ["F606W"])
    with StampDataset(other) as o:
        assert o.condition_names == ["mag_auto", "flux_radius", "zphot"]
