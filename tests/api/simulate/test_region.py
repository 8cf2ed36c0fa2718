"""galsim_deep.api.simulate.region: the field of a skyCatalogs region, on the CI sample the
skyCatalogs wheel ships (skipped without the optional extra ``[skycatalogs]``): the region's
TAN field, the band's zero point and sky, the catalog's own bulge + disk + knots drawn with
their band flux, bad regions.  The command line's both ways are tests/cli/test_field.py."""
import galsim
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galsim_deep.api.simulate import region as rg
from galsim_deep.core.errors import InputError

#: Three galaxies of healpixel 9557, whose file gives ellipticity_{1,2}_<c>_true (skyCatalogs'
#: own get_gsobject_components draws them); the first, at z = 0.02, has a disk of 8" (its
#: half-light radius along the major axis), wider than the stamps below hold.
BOX = (58.485, 58.512, -34.18, -34.155)


@pytest.fixture(scope="module")
def ci_config():
    pytest.importorskip("skycatalogs")
    from galsim_deep.api.skycatalogs import ci_sample_config

    config = ci_sample_config()
    if config is None:
        pytest.skip("this skyCatalogs ships no CI sample")
    return config


def test_a_region_s_field_is_its_extent_around_its_centre():
    center, (nx, ny) = rg.region_field((10.0, 10.1, -0.05, 0.05), 0.2)
    assert center == pytest.approx((10.05, 0.0))
    # 0.1 degree at 0.2": 1800 pixels, the TAN projection a hair wider at the edges
    assert 1800 <= nx <= 1801 and 1800 <= ny <= 1801
    _, (nx, ny) = rg.region_field((10.0, 10.1, 59.95, 60.05), 0.2)
    assert nx == pytest.approx(900, abs=2) and 1800 <= ny <= 1801   # RA shrinks by cos(dec)
    for bad in ((1, 2, 3), (10.1, 10.0, 0, 1), (0, 1, 10, -10), (0, 1, 0, "a"),
                (-1, 1, 0, 1), (0, 1, 0, float("nan"))):
        with pytest.raises(InputError, match="RA_MIN"):
            rg.region_box(bad)


def test_region_settings_take_the_band_s_zero_point_and_dark_sky(ci_config):
    from galsim_deep.api.skycatalogs import lsst_bandpass

    for band in rg.LSST_BANDS:
        zp = rg.band_zero_point(band)
        assert zp == pytest.approx(lsst_bandpass(band).zeropoint
                                   + 2.5 * np.log10(rg.RUBIN_AREA_CM2 * rg.EXPTIME_S))
        s = rg.region_settings(BOX, band, seed=3)
        assert s.zero_point == zp and s.sky_mag == rg.SKY_MAG[band] and s.seed == 3
        assert s.stamp_size == rg.STAMP_SIZE and s.pixel_scale == 0.2
        assert s.center == pytest.approx(((BOX[0] + BOX[1]) / 2, (BOX[2] + BOX[3]) / 2))
        assert s.field_size == rg.region_field(BOX, 0.2)[1]
    s = rg.region_settings(BOX, "g", sky_mag=None, zero_point=30.0, field_size=100)
    assert s.sky_mag is None and s.zero_point == 30.0 and s.field_size == (100, 100)
    with pytest.raises(InputError, match="no LSST band 'F814W'"):
        rg.region_settings(BOX, "F814W")


def test_the_catalog_s_own_profiles_land_at_their_places_with_their_band_flux(ci_config,
                                                                               tmp_path):
    """The catalog's bulge + disk + knots, through LSST z on 0.4" pixels, noiseless: the
    image holds each galaxy's SED flux through the band (lensed), at its ra, dec, but for
    the light of the wide galaxy beyond its stamp, which the run counts."""
    from galsim_deep.api.skycatalogs import galaxies, lsst_bandpass

    root = str(ci_config.parents[1])
    settings = rg.region_settings(BOX, "z", pixel_scale=0.4, sky_mag=None, tile_size=64,
                                  stamp_size=48)
    result = rg.render_region(ci_config, BOX, tmp_path / "out", settings, band="z",
                              catalog_profiles=True, skycatalog_root=root, progress=False)
    objects = galaxies(ci_config, BOX, skycatalog_root=root)
    assert result["n_region"] == result["n_galaxies"] == len(objects) == 3
    assert result["n_outside"] == 0 and "range_report" not in result
    assert result["n_wide"] == 1 and objects[0].get_native_attribute("size_disk_true") > 8
    assert result["drawn_by"] == rg.CATALOG_PROFILES
    image, header = fits.getdata(result["mosaics"][0], header=True)
    assert image.shape == settings.field_size[::-1]
    assert header["BAND"] == "LSST_z" and header["ZP"] == pytest.approx(settings.zero_point)
    assert header["DRAWNBY"] == rg.CATALOG_PROFILES and header["SKYLEVEL"] == 0
    bandpass = lsst_bandpass("z")
    scale = 10 ** (0.4 * (settings.zero_point - bandpass.zeropoint))
    fluxes = np.array([o.get_flux(bandpass) for o in objects]) * scale
    # each galaxy's light is centred on its sky position (astropy reads GalSim's WCS), the
    # small ones' whole flux within 8 pixels, the wide one's in part (its stamp's)
    x, y = WCS(header).world_to_pixel_values([o.ra for o in objects], [o.dec for o in objects])
    yy, xx = np.indices(image.shape)
    for k in range(3):
        near = (np.hypot(xx - x[k], yy - y[k]) < (30 if k == 0 else 8)) * image
        assert near.sum() == pytest.approx(fluxes[k], rel=0.3 if k == 0 else 0.01)
        assert (near * xx).sum() / near.sum() == pytest.approx(x[k], abs=0.5)
        assert (near * yy).sum() / near.sum() == pytest.approx(y[k], abs=0.5)
    # galsim reads the tiles' WCS as the mosaic's
    tile = galsim.fits.read(result["tiles"][0])
    assert tile.wcs.toWorld(galsim.PositionD(1, 1)).distanceTo(
        galsim.FitsWCS(header=fits.getheader(result["mosaics"][0])).toWorld(
            galsim.PositionD(1, 1))).deg < 1e-9


def test_a_region_without_galaxies_is_refused(ci_config, tmp_path):
    with pytest.raises(InputError, match="holds no galaxies"):
        rg.render_region(ci_config, (10.0, 10.01, 0.0, 0.01), tmp_path, band="r",
                         catalog_profiles=True, skycatalog_root=str(ci_config.parents[1]))
