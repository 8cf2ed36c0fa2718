"""``galsim-deep field render --skycatalog CONFIG --region ...``: a region of the CI sample the
skyCatalogs wheel ships, drawn by the default model and by the catalog's own bulge + disk +
knots, through the same PSF and LSST band (skipped without the optional extra
``[skycatalogs]``).  The field renderer itself is tests/api/simulate/test_simulate.py, the
region's field tests/api/simulate/test_region.py."""
import contextlib
import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galsim_deep.cli import main

#: Three galaxies of healpixel 9813 within 40" (F814W 25.3 to 26.7), on 364 x 451 pixels.
REGION = ("58.90", "58.925", "-36.24", "-36.215")
#: The ways to draw them: ours (the default model) and the catalog's own profiles.
WAYS = {"ours": [], "catalog": ["--catalog-profiles"]}


@pytest.fixture(scope="module")
def ci_config():
    pytest.importorskip("skycatalogs")
    from galsim_deep.api.skycatalogs import ci_sample_config

    config = ci_sample_config()
    if config is None:
        pytest.skip("this skyCatalogs ships no CI sample")
    return config


def _args(config, out, *extra):
    return ["field", "render", "--skycatalog", str(config), "--skycatalog-root",
            str(config.parents[1]), "--region", *REGION, "--out", str(out), "--quiet", *extra]


def _run(args):
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        status = main(args)
    return status, stdout.getvalue()


@pytest.fixture(scope="module")
def runs(ci_config, tmp_path_factory):
    """Both ways, noiseless, through LSST r, in tiles of 128 pixels."""
    d = tmp_path_factory.mktemp("region")
    done = {}
    with pytest.MonkeyPatch.context() as mp:   # one module cache for the file's runs
        mp.setenv("GALSIM_DEEP_CACHE", str(d / "cache"))
        for way, extra in WAYS.items():
            status, out = _run(_args(ci_config, d / way, "--band", "r", "--no-noise",
                                     "--tile-size", "128", *extra))
            done[way] = {"status": status, "stdout": out, "dir": d / way}
    return done


def _objects(ci_config):
    from galsim_deep.api.skycatalogs import galaxies

    box = tuple(float(v) for v in REGION)
    return galaxies(ci_config, box, skycatalog_root=str(ci_config.parents[1]))


@pytest.mark.filterwarnings("ignore::galsim_deep.core.catalog.OutOfRangeWarning")
def test_both_ways_hold_the_galaxies_band_flux_at_their_places(runs, ci_config):
    """The image's flux is the sum of the objects' fluxes through LSST r (their SEDs,
    lensed), to 1%, either way; each galaxy's light is centred on its ra, dec."""
    from galsim_deep.api.skycatalogs import lsst_bandpass

    objects = _objects(ci_config)
    assert len(objects) == 3
    bandpass = lsst_bandpass("r")
    images = {}
    for way, run in runs.items():
        assert run["status"] == 0, run["stdout"]
        image, header = fits.getdata(run["dir"] / "mosaic.fits", header=True)
        images[way] = image
        assert image.shape == (451, 364) and header["BAND"] == "LSST_r"
        assert header["SKYLEVEL"] == 0
        scale = 10 ** (0.4 * (header["ZP"] - bandpass.zeropoint))
        fluxes = np.array([o.get_flux(bandpass) for o in objects]) * scale
        assert image.sum() == pytest.approx(fluxes.sum(), rel=0.01), way
        x, y = WCS(header).world_to_pixel_values([o.ra for o in objects],
                                                 [o.dec for o in objects])
        yy, xx = np.indices(image.shape)
        for k in range(len(objects)):
            near = (np.hypot(xx - x[k], yy - y[k]) < 20) * image
            assert near.sum() == pytest.approx(fluxes[k], rel=0.02), (way, k)
            # The catalog's profiles are centred on their positions; a generated galaxy's
            # light need not be on its stamp's centre: these three, extrapolated past the
            # model's faintest magnitude, lie up to 0.83" (4.2 pixels) from theirs.
            centroid = [(near * c).sum() / near.sum() for c in (xx, yy)]
            miss = np.hypot(centroid[0] - x[k], centroid[1] - y[k])
            assert miss < (0.5 if way == "catalog" else 5.0), (way, k, miss)
    assert fits.getheader(runs["ours"]["dir"] / "mosaic.fits")["DRAWNBY"].startswith(
        "flow-vae-mock-cosmos-25.2")
    assert fits.getheader(runs["catalog"]["dir"] / "mosaic.fits")["DRAWNBY"] == (
        "skyCatalogs bulge+disk+knots")
    # the same galaxies, drawn differently
    assert not np.allclose(images["ours"], images["catalog"], rtol=0.01, atol=0)


def test_the_run_says_how_many_galaxies_lie_outside_the_training_range(runs):
    ours, catalog = runs["ours"]["stdout"], runs["catalog"]["stdout"]
    assert ("3 galaxies, 3 with light: 3 (100.0%) outside the training range of "
            "hub:flow-vae-mock-cosmos-25.2 (3 with mag_auto > 25.2") in ours
    assert "range_policy 'warn'" in ours
    assert "3 of the region's 3 galaxies drawn by flow-vae-mock-cosmos-25.2" in ours
    assert "training range" not in catalog
    assert "3 of the region's 3 galaxies drawn by skyCatalogs bulge+disk+knots" in catalog
    assert "through LSST r" in catalog and "wrote " in catalog


def test_the_band_s_dark_sky_and_a_resumed_run(ci_config, tmp_path):
    from galsim_deep.api.simulate.region import SKY_MAG

    args = _args(ci_config, tmp_path / "g", "--band", "g", "--catalog-profiles",
                 "--pixel-scale", "0.4", "--stamp-size", "32")
    status, out = _run(args)
    assert status == 0, out
    image, header = fits.getdata(tmp_path / "g" / "mosaic.fits", header=True)
    sky = 10 ** (-0.4 * (SKY_MAG["g"] - header["ZP"])) * 0.4 ** 2
    assert header["SKYLEVEL"] == pytest.approx(sky) and header["BAND"] == "LSST_g"
    assert 1.4826 * np.median(np.abs(image - np.median(image))) == pytest.approx(
        np.sqrt(sky), rel=0.1)
    status, again = _run(args)
    assert status == 0 and "(1 kept from an earlier run)" in again
    np.testing.assert_array_equal(fits.getdata(tmp_path / "g" / "mosaic.fits"), image)


@pytest.mark.parametrize("extra, message", [
    (["cat.fits"], "one of them"),
    (["--workers", "2"], "--workers apply to a CATALOG file"),
    (["--column", "mag_auto=MAG_I"], "--column apply to a CATALOG file"),
])
def test_a_region_s_wrong_arguments_name_the_fix(ci_config, tmp_path, capsys, extra, message):
    assert main(_args(ci_config, tmp_path, *extra)) == 1
    assert message in capsys.readouterr().err


def test_a_region_needs_a_skycatalog_and_a_skycatalog_a_region(ci_config, tmp_path, capsys):
    assert main(["field", "render", "--skycatalog", str(ci_config), "--out",
                 str(tmp_path)]) == 1
    assert "--skycatalog takes --region" in capsys.readouterr().err
    for flags in (["--region", *REGION], ["--catalog-profiles"]):
        assert main(["field", "render", "cat.fits", "--out", str(tmp_path), *flags]) == 1
        assert "give --skycatalog CONFIG with them" in capsys.readouterr().err
    assert main(["field", "render", "--out", str(tmp_path)]) == 1
    assert "give a CATALOG file or --skycatalog" in capsys.readouterr().err
    bad = _args(ci_config, tmp_path, "--catalog-profiles")
    bad[bad.index("--region") + 1:bad.index("--region") + 3] = ["59", "58"]
    assert main(bad) == 1
    assert "RA_MIN < RA_MAX" in capsys.readouterr().err
