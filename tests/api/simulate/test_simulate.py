"""``galsim-deep field render``: tiles on Dask equal the single-process result, resume, positions,
fluxes, WCS, fields, bad input, Dask as an optional extra."""
import importlib
import importlib.util
import re
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from galsim_deep.api import simulate as sim
from galsim_deep.cli import main
from galsim_deep.api.simulate import render
from galsim_deep.api.simulate import SimulationSettings, simulate
from galsim_deep.core.extras import install_hint

ZP = 30.0


def _catalog(path, n=24, seed=0, size=(96, 80), **columns):
    rng = np.random.default_rng(seed)
    cat = Table({"x": rng.uniform(-3, size[0] + 3, n), "y": rng.uniform(-3, size[1] + 3, n),
                 "mag_auto": rng.uniform(20.5, 23.0, n), "flux_radius": rng.uniform(4, 10, n),
                 "zphot": rng.uniform(0.3, 1.5, n)})
    # two galaxies right on tile edges (tiles of 32 pixels: edges at x, y = 32.5)
    cat["x"][:2] = [32.5, 64.4]
    cat["y"][:2] = [40.0, 32.6]
    for name, values in columns.items():
        cat[name] = values
    cat.write(path, overwrite=True)
    return path


def _settings(module, **kw):
    args = dict(model=str(module), field_size=(96, 80), tile_size=32, stamp_size=24,
                zero_point=ZP, sky_mag=22.0, seed=11)
    args.update(kw)
    return SimulationSettings(**args)


def _tiles(result):
    return [fits.getdata(p) for p in result["tiles"]]


@pytest.fixture(scope="module")
def serial_run(tiny_module_path, tmp_path_factory):
    d = tmp_path_factory.mktemp("sim")
    cat = _catalog(d / "cat.fits")
    result = simulate(cat, d / "serial", _settings(tiny_module_path), n_workers=0,
                      progress=False)
    return {"dir": d, "catalog": cat, "result": result}


@pytest.mark.slow
def test_two_dask_workers_equal_single_process(serial_run, tiny_module_path):
    ref = serial_run["result"]
    out = serial_run["dir"] / "dask"
    result = simulate(serial_run["catalog"], out, _settings(tiny_module_path), n_workers=2,
                      progress=False)
    assert result["n_tiles"] == ref["n_tiles"] == 9 and result["n_galaxies"] == 24
    for a, b in zip(_tiles(ref), _tiles(result)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fits.getdata(ref["mosaics"][0]),
                                  fits.getdata(result["mosaics"][0]))
    assert not (out / "stamps").exists()  # intermediate files removed, and their folder
    assert not (serial_run["dir"] / "serial" / "stamps").exists()


def test_mosaic_is_the_tiles_and_holds_galaxies(serial_run):
    result = serial_run["result"]
    mosaic = fits.getdata(result["mosaics"][0])
    assert mosaic.shape == (80, 96)
    for path in result["tiles"]:
        tile = fits.getheader(path)
        data = fits.getdata(path)
        i, j = tile["TILE_I"], tile["TILE_J"]
        np.testing.assert_array_equal(mosaic[32 * j:32 * j + data.shape[0],
                                             32 * i:32 * i + data.shape[1]], data)
    sky = fits.getheader(result["mosaics"][0])["SKYLEVEL"]
    assert sky > 0
    assert mosaic.max() > 10 * np.sqrt(sky)  # galaxies well above the noise
    assert abs(np.median(mosaic)) < 0.5 * np.sqrt(sky)  # sky subtracted (not ~sky)
    assert (serial_run["dir"] / "serial" / "mosaic.png").stat().st_size > 1000


def test_interrupted_run_resumes_keeping_finished_tiles(serial_run, tiny_module_path,
                                                        monkeypatch):
    out = serial_run["dir"] / "resumed"
    original = sim.assemble_tile
    assert render.assemble_tile is original
    calls = []

    def failing(tile, *args, **kwargs):
        if len(calls) == 4:
            raise KeyboardInterrupt("simulated interruption")
        calls.append(tile)
        return original(tile, *args, **kwargs)

    monkeypatch.setattr(render, "assemble_tile", failing)  # where the tile task finds it
    with pytest.raises(KeyboardInterrupt):
        simulate(serial_run["catalog"], out, _settings(tiny_module_path), n_workers=0,
                 progress=False)
    done = sorted((out / "tiles").glob("*.fits"))
    assert len(done) == 4 and not list(out.glob("mosaic*"))
    mtimes = {p.stat().st_mtime_ns for p in done}
    monkeypatch.setattr(render, "assemble_tile", original)
    result = simulate(serial_run["catalog"], out, _settings(tiny_module_path), n_workers=0,
                      progress=False)
    assert result["n_tiles_done_before"] == 4
    assert {p.stat().st_mtime_ns for p in done} == mtimes  # finished tiles were kept
    for a, b in zip(_tiles(serial_run["result"]), _tiles(result)):
        np.testing.assert_array_equal(a, b)
    # a different seed in the same folder is refused, naming the change and the fix
    with pytest.raises(ValueError, match=r"seed.*--overwrite"):
        simulate(serial_run["catalog"], out, _settings(tiny_module_path, seed=12),
                 n_workers=0, progress=False)


def test_position_and_flux_of_a_galaxy_across_a_tile_edge(gaussian_module_path, tmp_path):
    """A galaxy centred on a tile corner is drawn, whole, at its position with its flux."""
    x, y, mag = 32.5, 32.5, 21.0
    cat = Table({"x": [x], "y": [y], "mag_auto": [mag], "flux_radius": [4.0], "zphot": [1.0]})
    cat.write(tmp_path / "one.ecsv")
    result = simulate(tmp_path / "one.ecsv", tmp_path / "out",
                      _settings(gaussian_module_path, sky_mag=None, stamp_size=28), n_workers=0,
                      progress=False)
    image = fits.getdata(result["mosaics"][0]).astype(np.float64)
    flux = 10 ** (-0.4 * (mag - ZP))
    np.testing.assert_allclose(image.sum(), flux, rtol=0.03)  # the PSF wings past the stamp
    yy, xx = np.mgrid[1:image.shape[0] + 1, 1:image.shape[1] + 1]
    assert abs((image * xx).sum() / image.sum() - x) < 0.1
    assert abs((image * yy).sum() / image.sum() - y) < 0.1
    assert sum(fits.getdata(p).sum() > 0.1 * flux for p in result["tiles"]) == 4


def test_sky_coordinates_and_several_fields(gaussian_module_path, tmp_path):
    ra0, dec0 = 150.1, 2.2
    cat = Table({"ra": [ra0, ra0 + 0.001, ra0], "dec": [dec0, dec0, dec0],
                 "field": ["deep", "deep", "wide"], "mag_auto": [21.0, 22.0, 21.5],
                 "flux_radius": [5.0, 5.0, 5.0], "zphot": [1.0, 1.0, 1.0]})
    cat.write(tmp_path / "sky.fits")
    settings = _settings(gaussian_module_path, sky_mag=None, field_size=(64, 64),
                         center=(ra0, dec0))
    result = simulate(tmp_path / "sky.fits", tmp_path / "out", settings, n_workers=0,
                      progress=False)
    assert sorted(p.rsplit("/", 1)[1] for p in result["mosaics"]) == [
        "mosaic_deep.fits", "mosaic_wide.fits"]
    import galsim

    wide = galsim.fits.read(str(tmp_path / "out" / "mosaic_wide.fits"))
    peak = np.unravel_index(np.argmax(wide.array), wide.array.shape)
    assert (peak[1] + 1, peak[0] + 1) in [(32, 32), (32, 33), (33, 32), (33, 33)]
    coord = wide.wcs.toWorld(galsim.PositionD(32.5, 32.5))
    assert abs(coord.ra.deg - ra0) < 1e-6 and abs(coord.dec.deg - dec0) < 1e-6
    deep = fits.getdata(tmp_path / "out" / "mosaic_deep.fits")
    # 0.001 deg of RA east = 3.6 cos(dec) arcsec = 18 pixels to the left (east is left)
    left = np.unravel_index(np.argmax(deep[:, :24]), deep[:, :24].shape)
    assert 13 <= left[1] + 1 <= 16 and 31 <= left[0] + 1 <= 34


def test_bad_inputs_name_the_problem_and_the_fix(tiny_module_path, tmp_path):
    s = _settings(tiny_module_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        simulate(tmp_path / "missing.fits", tmp_path / "o", s, n_workers=0, progress=False)
    (tmp_path / "corrupt.fits").write_bytes(b"SIMPLE  = T" + b"\0" * 100)
    with pytest.raises(ValueError, match="cannot read catalog.*FITS"):
        simulate(tmp_path / "corrupt.fits", tmp_path / "o", s, n_workers=0, progress=False)
    Table({"u": [1.0], "v": [2.0]}).write(tmp_path / "nopos.fits")
    with pytest.raises(ValueError, match="x and y.*ra\\s+and dec"):
        simulate(tmp_path / "nopos.fits", tmp_path / "o", s, n_workers=0, progress=False)
    _catalog(tmp_path / "nan.fits", n=4)
    t = Table.read(tmp_path / "nan.fits")
    t["x"][2] = np.nan
    t.write(tmp_path / "nan.fits", overwrite=True)
    with pytest.raises(ValueError, match=r"NaN.*row\(s\): 2"):
        simulate(tmp_path / "nan.fits", tmp_path / "o", s, n_workers=0, progress=False)
    t = Table.read(_catalog(tmp_path / "noz.fits", n=4))
    del t["zphot"]
    t.write(tmp_path / "noz.fits", overwrite=True)
    with pytest.raises(KeyError, match="zphot"):
        simulate(tmp_path / "noz.fits", tmp_path / "o", s, n_workers=0, progress=False)
    with pytest.raises(ValueError, match="tile_size .* raise tile_size"):
        _settings(tiny_module_path, tile_size=16, stamp_size=24)


def test_cli_with_a_mock_catalog(tiny_module_path, tmp_path):
    cat = tmp_path / "mock.ecsv"
    assert main(["field", "render", str(cat), "--out", str(tmp_path / "out"), "--model",
                 str(tiny_module_path), "--make-mock-catalog", "6", "--field-size", "48", "40",
                 "--tile-size", "24", "--stamp-size", "16", "--workers", "0", "--quiet",
                 "--range-policy", "clip"]) == 0
    assert len(Table.read(cat)) == 6
    assert fits.getdata(tmp_path / "out" / "mosaic.fits").shape == (40, 48)
    assert len(list((tmp_path / "out" / "tiles").glob("*.fits"))) == 4
    assert main(["field", "render", str(cat), "--out", str(tmp_path / "o2"), "--column", "bad"]) == 1


def test_dask_is_the_optional_extra_simulate(monkeypatch):
    """Importing galsim_deep, galsim_deep.api.simulate or the command line never imports Dask;
    without Dask, what needs it fails naming the pip extra."""
    code = ("import sys, galsim_deep, galsim_deep.api.simulate, galsim_deep.cli; "
            "galsim_deep.cli.build_parser(); "
            "print(sorted(m for m in ('dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"

    find_spec = importlib.util.find_spec

    def without_dask(name, *args, **kwargs):
        return None if name in ("dask", "distributed") else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", without_dask)
    monkeypatch.delitem(sys.modules, "galsim_deep.api.simulate.distributed", raising=False)
    with pytest.raises(ImportError, match=re.escape(install_hint("simulate"))):
        importlib.import_module("galsim_deep.api.simulate.distributed")
    with pytest.raises(ImportError, match=re.escape(install_hint("simulate"))):
        from galsim_deep.api.simulate import SamplerPlugin  # noqa: F401


def test_mock_catalog_draws_the_model_s_population_inside_its_stamp():
    from galsim_deep.api.simulate.plan import mock_catalog

    deep = mock_catalog(300, (100, 100), seed=1, model_stamp_size=64, model_pixel_scale=0.06,
                        population="cosmos-25.2")
    example = mock_catalog(300, (100, 100), seed=1)
    assert np.mean(deep["mag_auto"] > 23.5) > 0.4 > np.mean(example["mag_auto"] > 23.5)
    # flux_radius (pixels of 0.03") is bounded by the stamp: 64 x 0.06" holds larger galaxies
    assert example["flux_radius"].max() <= 16.0 < deep["flux_radius"].max() <= 32.0
    assert deep["x"].min() >= 0.5 and deep["x"].max() <= 100.5


@pytest.mark.slow
def test_mock_catalog_made_for_a_model_lies_inside_its_training_ranges():
    """With the module's conditions, every row is inside their ranges (the default model's
    own catalog drew mag_auto, flux_radius or zphot outside them, and the run warned about
    the project's own catalog); the same seed gives the same rows."""
    from galsim_deep.api.simulate.plan import mock_catalog
    from galsim_deep.core.catalog import in_range
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.data.hub import DEFAULT_MODEL, resolve

    meta = read_metadata(resolve(DEFAULT_MODEL))
    options = dict(model_stamp_size=meta["stamp_size"], model_pixel_scale=meta["pixel_scale"],
                   population=meta["provenance"]["population"])
    free = mock_catalog(4000, (100, 100), seed=4, **options)
    assert (~in_range(free, meta["conditions"])).sum() == 1  # what the option is for
    cat = mock_catalog(4000, (100, 100), seed=4, conditions=meta["conditions"], **options)
    assert len(cat) == 4000 and in_range(cat, meta["conditions"]).all()
    again = mock_catalog(4000, (100, 100), seed=4, conditions=meta["conditions"], **options)
    np.testing.assert_array_equal(cat["mag_auto"], again["mag_auto"])


def test_first_inside_draws_more_then_refuses():
    """first_inside draws n, 4n, 16n, 64n rows until n pass, then names what they missed."""
    from astropy.table import Table

    from galsim_deep.core.errors import InputError
    from galsim_deep.data.mock_galaxies import first_inside

    sizes = []

    def draw(m):
        sizes.append(m)
        return Table({"v": np.arange(m)})

    cat = first_inside(draw, lambda t: t["v"] % 10 == 0, 5, "every tenth")
    assert sizes == [5, 20, 80] and list(cat["v"]) == [0, 10, 20, 30, 40]
    with pytest.raises(InputError, match="only 0 of 320 mock-COSMOS galaxies lie inside nothing"):
        first_inside(draw, lambda t: t["v"] < 0, 5, "nothing")
