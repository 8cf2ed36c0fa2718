"""The GalSim config types: YAML runs, batching, determinism across nproc, errors."""
import textwrap

import galsim
import numpy as np
import pytest
from astropy.io import fits

import galsim_deep  # noqa: F401  (registers the config types)
from galsim_deep.api.config import batching
from galsim_deep.api.model import GenerativeGalaxyModel
from galsim_deep.core.catalog import reset_range_warnings

from tests.checks import run_galsim


def _yaml(module, out, nproc=1, batch_size=64, extra=""):
    return textwrap.dedent(f"""\
        modules: [galsim_deep]
        psf: {{type: Gaussian, sigma: 0.06}}
        gal:
            type: GenerativeModelGalaxy
            flux_radius: {{type: Random, min: 5, max: 10}}
            mag_auto: {{type: Random, min: 22, max: 24}}
            zphot: {{type: RandomGaussian, mean: 0.8, sigma: 0.2, min: 0.1, max: 2.0}}
            shear: {{type: G1G2, g1: {{type: Random, min: -0.05, max: 0.05}}, g2: 0.01}}
        image:
            type: Tiled
            nx_tiles: 4
            ny_tiles: 3
            stamp_size: 40
            pixel_scale: 0.03
            random_seed: 1234
            nproc: {nproc}
            noise: {{type: Gaussian, sigma: 0.001}}
        input:
            generative_model: {{file_name: '{module}', batch_size: {batch_size}}}
        output:
            file_name: '{out}'
        {extra}""")


@pytest.mark.slow
def test_yaml_identical_with_nproc_1_and_2_and_any_batch_size(tiny_module_path, tmp_path):
    outs = {}
    for name, nproc, batch in [("a", 1, 64), ("b", 2, 64), ("c", 1, 5)]:
        out = tmp_path / f"{name}.fits"
        run_galsim(tmp_path, _yaml(tiny_module_path, out, nproc, batch), name)
        outs[name] = fits.getdata(out)
    assert outs["a"].shape == (120, 160)
    assert outs["a"].std() > 0.001 * 1.5  # galaxies were drawn, not only noise
    np.testing.assert_array_equal(outs["a"], outs["b"])
    np.testing.assert_array_equal(outs["a"], outs["c"])


@pytest.mark.slow
def test_galsim_hub_yaml_runs_after_changing_modules_and_model(tmp_path):
    """galsim_hub's demo14.yaml, with only `modules:` and the model name changed."""
    from tests.toy_modules import CONDITIONS, export_toy

    # galsim_hub's cosmos_size_mag model was conditioned on flux_radius and mag_auto.
    module = export_toy("network", tmp_path / "size_mag", conditions=CONDITIONS[:2])
    text = textwrap.dedent(f"""\
        modules:
            - galsim_deep

        psf :
            type : Gaussian
            sigma : 0.06  # arcsec

        # Define the galaxy profile
        gal :
            type : GenerativeModelGalaxy
            flux_radius : {{ type : Random , min : 5, max : 10 }}
            mag_auto : {{ type : Random , min : 24., max : 25. }}

        # The image field specifies some other information about the image to be drawn.
        image :
            type : Tiled
            nx_tiles : 10
            ny_tiles : 10

            stamp_size : 64  # pixels

            pixel_scale : 0.03  # arcsec / pixel

            noise :
               type : COSMOS

        output :
            dir : output_yaml
            file_name : demo14.fits

        # Define the input files
        input :
            generative_model :
                file_name : '{module}'
        """)
    run_galsim(tmp_path, text, "demo14")
    image = fits.getdata(tmp_path / "output_yaml" / "demo14.fits")
    assert image.shape == (640, 640)
    assert np.isfinite(image).all()


def _config(module, batch_size=4, **gal):
    gal_cfg = {"type": "GenerativeModelGalaxy", "flux_radius": {"type": "Random", "min": 5,
                                                                "max": 10},
               "mag_auto": 23.0, "zphot": 0.5}
    gal_cfg.update(gal)
    return {
        "gal": gal_cfg,
        "image": {"type": "Tiled", "nx_tiles": 5, "ny_tiles": 2, "stamp_size": 32,
                  "pixel_scale": 0.03, "random_seed": 5},
        "input": {"generative_model": {"file_name": str(module), "batch_size": batch_size}},
    }


def test_network_runs_once_per_batch_group(tiny_module_path, monkeypatch):
    from galsim_deep.engine import batch as engine

    calls = []
    original = engine.run_network

    def counting(model, conditions, normals, first_row=0, cluster=None):
        calls.append((len(normals), first_row))
        return original(model, conditions, normals, first_row, cluster)

    monkeypatch.setattr(engine, "run_network", counting)
    batching._GROUPS.clear()
    image = galsim.config.BuildImage(_config(tiny_module_path, batch_size=4))
    assert calls == [(4, 0), (4, 4), (2, 8)]  # 10 objects in groups of 4
    assert image.array.sum() > 0


def test_model_loaded_once_per_process(tiny_module_path, monkeypatch):
    """The engine's one cache: a second config of the same module loads no graph."""
    import tensorflow_hub

    from galsim_deep.engine import network

    galsim.config.BuildImage(_config(tiny_module_path))
    assert str(tiny_module_path) in {str(k) for k in network._LOADED}
    loads = []
    monkeypatch.setattr(tensorflow_hub, "load", lambda *a, **k: loads.append(a))
    galsim.config.BuildImage(_config(tiny_module_path))
    assert loads == []


@pytest.mark.parametrize("module", ["gaussian_module_path", "tiny_module_path"])
def test_fixed_conditions_give_the_api_result(module, request):
    """With fixed conditions, a config galaxy is the API's sample of the object's seed, pixel
    for pixel (the toy network's galaxies are not round: its random rotation is compared too)."""
    path = request.getfixturevalue(module)
    cfg = _config(path, flux_radius=4.0, mag_auto=22.0, zphot=1.0)
    cfg["image"] = {"type": "Single", "size": 32, "pixel_scale": 0.03, "random_seed": 7}
    cfg["stamp"] = {"draw_method": "no_pixel"}
    batching._GROUPS.clear()
    image = galsim.config.BuildImage(cfg)
    model = GenerativeGalaxyModel(path)
    # rng=7: row 0 gets GalSim config's seed of object 0 for random_seed 7.
    (galaxy,) = model.sample({"flux_radius": [4.0], "mag_auto": [22.0], "zphot": [1.0]}, rng=7)
    expected = galaxy.drawImage(nx=32, ny=32, scale=0.03, method="no_pixel").array
    np.testing.assert_allclose(image.array, expected, rtol=0, atol=1e-6 * expected.max())
    if module == "gaussian_module_path":
        # The round Gaussian holds its catalog flux inside the stamp.
        np.testing.assert_allclose(image.array.sum(), 10 ** (-0.4 * (22 - 25.94)), rtol=2e-2)
    else:
        # Another seed is another galaxy: the comparison above can fail.
        other = model.sample({"flux_radius": [4.0], "mag_auto": [22.0], "zphot": [1.0]},
                             rng=8)[0].drawImage(nx=32, ny=32, scale=0.03, method="no_pixel")
        assert np.abs(other.array - expected).max() > 0.01 * expected.max()


def test_missing_condition_field_names_it(tiny_module_path):
    cfg = _config(tiny_module_path)
    del cfg["gal"]["zphot"]
    with pytest.raises(galsim.GalSimConfigError, match="zphot"):
        galsim.config.BuildImage(cfg)


def test_out_of_range_error_policy_is_a_config_error(tiny_module_path):
    cfg = _config(tiny_module_path, mag_auto=30.0)
    cfg["input"]["generative_model"]["range_policy"] = "error"
    batching._GROUPS.clear()
    with pytest.raises(galsim.GalSimConfigError, match="mag_auto.*training range"):
        galsim.config.BuildImage(cfg)


def test_out_of_range_is_reported_once_per_model_not_per_group(tiny_module_path):
    cfg = _config(tiny_module_path, batch_size=4, mag_auto=30.0)  # 10 objects, 3 groups
    batching._GROUPS.clear()
    reset_range_warnings()
    with pytest.warns(galsim_deep.OutOfRangeWarning) as record:
        galsim.config.BuildImage(cfg)
        galsim.config.BuildImage(_config(tiny_module_path, batch_size=4, mag_auto=30.0))
    messages = [str(w.message) for w in record if w.category is galsim_deep.OutOfRangeWarning]
    # One report per build (each builds its model input), not one per group of 4 objects.
    assert len(messages) == 2
    assert "mag_auto" in messages[0] and "not reported again" in messages[0]


def test_bad_input_options_are_reported(tiny_module_path, tmp_path):
    cfg = _config(tiny_module_path)
    cfg["input"]["generative_model"]["batch_size"] = 0
    with pytest.raises(ValueError, match="batch_size"):
        galsim.config.BuildImage(cfg)
    cfg = _config(tmp_path / "missing")
    with pytest.raises(galsim_deep.HubError):
        galsim.config.BuildImage(cfg)


@pytest.mark.parametrize("image", [
    {"type": "Scattered", "size": 48, "nobjects": 0},
    {"type": "Scattered", "size": 48, "nobjects": 0, "nproc": 2},
    {"type": "Tiled", "nx_tiles": 0, "ny_tiles": 3, "stamp_size": 16},
])
def test_no_objects_gives_an_image_without_galaxies(tiny_module_path, monkeypatch, image):
    from galsim_deep.engine import batch as engine

    calls = []
    monkeypatch.setattr(engine, "run_network", lambda *args, **kwargs: calls.append(args))
    cfg = _config(tiny_module_path)
    cfg["image"] = dict(image, pixel_scale=0.2, random_seed=5,
                        noise={"type": "Gaussian", "sigma": 1.0})
    batching._GROUPS.clear()
    built = galsim.config.BuildImage(cfg)
    assert calls == []  # the network never runs
    if image["type"] == "Scattered":
        assert built.array.shape == (48, 48)
        assert 0.8 < built.array.std() < 1.2  # only the noise
    else:  # GalSim's own answer for an image of no tiles
        assert built is None or built.array.size == 0


def test_conditions_draw_the_numbers_a_galaxy_of_galsim_would_draw(tiny_module_path):
    """A Scattered image draws each object's position before its galaxy: the conditions get
    the random numbers after those (and the PSF's), as a GalSim galaxy's own fields do, so
    they are not a function of the position."""
    image = {"type": "Scattered", "size": 64, "pixel_scale": 0.2, "nobjects": 12,
             "random_seed": 31, "stamp_size": 24,
             "image_pos": {"type": "XY", "x": {"type": "Random", "min": 1, "max": 64},
                           "y": {"type": "Random", "min": 1, "max": 64}}}
    psf = {"type": "Gaussian", "fwhm": {"type": "Random", "min": 0.6, "max": 0.9}}
    ours = _config(tiny_module_path, batch_size=16, flux_radius=7.0,
                   mag_auto={"type": "Random", "min": 20, "max": 23})
    ours.update(image=dict(image), psf=dict(psf))
    reference = {"image": dict(image), "psf": dict(psf),
                 "gal": {"type": "Gaussian", "sigma": 0.3,
                         "flux": {"type": "Random", "min": 20, "max": 23}}}
    batching._GROUPS.clear()
    values = {}
    for name, cfg in (("ours", ours), ("reference", reference)):
        cfg = galsim.config.CopyConfig(cfg)
        galsim.config.ProcessInput(cfg)
        galsim.config.SetupConfigImageNum(cfg, 0, 0)
        galsim.config.SetupConfigImageSize(cfg, 64, 64)
        galsim.config.SetupInputsForImage(cfg, None)
        rows = []
        for k in range(12):
            galsim.config.BuildStamp(cfg, obj_num=k)
            field = cfg["gal"]["mag_auto" if name == "ours" else "flux"]["current"][0]
            rows.append((cfg["image_pos"].x, cfg["image_pos"].y, field))
        values[name] = np.array(rows)
    np.testing.assert_allclose(values["ours"], values["reference"], rtol=1e-7)  # float32
    x, _, mag = values["ours"].T
    assert abs(np.corrcoef(x, mag)[0, 1]) < 0.9  # not the position's draw


def test_random_rotation_switch_and_galsims_rotate(tiny_module_path):
    """random_rotation: false draws the network's own orientation, the API's rotate=False;
    GalSim's rotate key keeps its meaning (an angle, after the galaxy is built), and a
    boolean there is refused with a message naming random_rotation."""
    model = GenerativeGalaxyModel(tiny_module_path)
    row = {"flux_radius": [4.0], "mag_auto": [22.0], "zphot": [1.0]}

    def build(**gal):
        cfg = _config(tiny_module_path, flux_radius=4.0, mag_auto=22.0, zphot=1.0, **gal)
        cfg["image"] = {"type": "Single", "size": 32, "pixel_scale": 0.03, "random_seed": 7}
        cfg["stamp"] = {"draw_method": "no_pixel"}
        batching._GROUPS.clear()
        return galsim.config.BuildImage(cfg).array

    draw = {"nx": 32, "ny": 32, "scale": 0.03, "method": "no_pixel"}
    (plain,) = model.sample(row, rng=7, rotate=False)
    np.testing.assert_allclose(build(random_rotation=False), plain.drawImage(**draw).array,
                               rtol=0, atol=1e-6 * plain.drawImage(**draw).array.max())
    turned = plain.rotate(30 * galsim.degrees).drawImage(**draw).array
    np.testing.assert_allclose(build(random_rotation=False, rotate="30 deg"), turned, rtol=0,
                               atol=1e-6 * turned.max())
    with pytest.raises(galsim.GalSimConfigError, match="random_rotation: false"):
        build(rotate=False)

