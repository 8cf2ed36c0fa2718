"""Block drawing in YAML fields: a group's stamps through a shared PSF, held to GalSim's own
drawing, the same whatever the group size, and GalSim's drawing wherever it cannot apply."""
import galsim
import numpy as np
import pytest

import galsim_deep  # noqa: F401  (registers the config types)
from galsim_deep.api.config import batching, blocks
from galsim_deep.engine.block import BlockDrawing

PSFS = {"gaussian": ({"type": "Gaussian", "sigma": 0.06}, 0.03, 40),
        "kolmogorov": ({"type": "Kolmogorov", "fwhm": 0.7}, 0.2, 32)}


def _field(module, psf="gaussian", block=True, batch_size=64, nobjects=24, converged=False,
           **gal):
    psf_cfg, scale, stamp = PSFS[psf]
    gal_cfg = {"type": "GenerativeModelGalaxy",
               "flux_radius": {"type": "Random", "min": 5, "max": 10},
               "mag_auto": {"type": "Random", "min": 21, "max": 24}, "zphot": 0.5,
               "zero_point": 30.0, **gal}
    model = {"file_name": str(module), "batch_size": batch_size}
    if block is not None:
        model["block_drawing"] = block
    cfg = {"psf": psf_cfg, "gal": gal_cfg,
           "image": {"type": "Scattered", "size": 160, "pixel_scale": scale,
                     "stamp_size": stamp, "nobjects": nobjects, "random_seed": 31},
           "input": {"generative_model": model}}
    if converged:  # GalSim's drawing with its folding and maxk thresholds tightened
        cfg["stamp"] = {"gsparams": {"folding_threshold": 1e-4, "maxk_threshold": 1e-4}}
    return cfg


def _build(cfg, monkeypatch=None):
    """The field, and how many stamps were drawn from blocks."""
    drawn = []
    if monkeypatch is not None:
        original = blocks.draw_from_block

        def counting(*args):
            out = original(*args)
            drawn.append(out is not None)
            return out

        monkeypatch.setattr(blocks, "draw_from_block", counting)
    batching._GROUPS.clear()
    return galsim.config.BuildImage(cfg).array.copy(), sum(drawn)


@pytest.mark.parametrize("module,psf", [("tiny_module_path", "kolmogorov"),
                                        ("tiny_module_path", "gaussian"),
                                        ("gaussian_module_path", "gaussian")])
def test_a_field_in_blocks_is_galsims_to_1e4_of_the_peak(module, psf, monkeypatch, request):
    """Every stamp through a shared PSF comes from its group's block; the field is GalSim's
    converged drawing of the same galaxies within 1e-4 of the brightest pixel, its flux
    within 1e-4; the stamps do not depend on the group size.  (Through the 0.06" Gaussian at
    0.03" this needs the block's PSF transform out to 1e-4 of its peak,
    ``block.MAXK_THRESHOLD``: at GalSim's default 1e-3 it was 2.6e-4 of the peak off.)"""
    tiny_module_path = request.getfixturevalue(module)
    cfg = _field(tiny_module_path, psf)
    image, drawn = _build(cfg, monkeypatch)
    assert drawn == 24
    reference, none = _build(_field(tiny_module_path, psf, block=False, converged=True),
                             monkeypatch)
    assert none == 0
    assert np.abs(image - reference).max() <= 1e-4 * reference.max()
    np.testing.assert_allclose(image.sum(), reference.sum(), rtol=1e-4)
    np.testing.assert_array_equal(_build(_field(tiny_module_path, psf, batch_size=5))[0],
                                  image)
    # the default is on
    np.testing.assert_array_equal(_build(_field(tiny_module_path, psf, block=None))[0], image)


def test_what_a_block_cannot_draw_galsim_draws(tiny_module_path, monkeypatch):
    """A sheared galaxy, a PSF that varies by object (after the group's first) and photon
    shooting are drawn by GalSim, and the field is the same as without blocks."""
    sheared = _field(tiny_module_path, shear={"type": "G1G2", "g1": 0.05, "g2": 0.0})
    image, drawn = _build(sheared, monkeypatch)
    assert drawn == 0
    np.testing.assert_array_equal(
        image, _build(_field(tiny_module_path, block=False,
                             shear={"type": "G1G2", "g1": 0.05, "g2": 0.0}))[0])

    varying = _field(tiny_module_path, batch_size=8)
    varying["psf"] = {"type": "Gaussian", "sigma": {"type": "Random", "min": 0.05, "max": 0.08}}
    image, drawn = _build(varying, monkeypatch)
    assert drawn == 3  # the first object of each of the 3 groups
    varying["input"]["generative_model"]["block_drawing"] = False
    reference = _build(varying)[0]
    assert np.abs(image - reference).max() <= 1e-4 * reference.max()

    phot = _field(tiny_module_path, nobjects=4)
    phot["stamp"] = {"draw_method": "phot"}
    assert _build(phot, monkeypatch)[1] == 0


def test_block_drawing_option_is_checked(tiny_module_path):
    cfg = _field(tiny_module_path, block="sometimes")
    batching._GROUPS.clear()
    with pytest.raises(Exception, match="sometimes"):
        galsim.config.BuildImage(cfg)


def test_spectra_then_images_is_draw(tiny_module_path):
    """The two halves the YAML stamps use give :meth:`BlockDrawing.draw`'s pixels, one
    galaxy at a time."""
    rng = np.random.default_rng(2)
    arrays = rng.random((3, 24, 24)).astype(np.float32)
    centres = rng.uniform(14, 17, (3, 2))
    drawing = BlockDrawing(galsim.Kolmogorov(fwhm=0.7), 24, 0.06, 32, 0.2)
    spectra, fluxes = drawing.spectra(arrays)
    whole = drawing.draw(arrays, centres)
    for i in range(3):
        np.testing.assert_array_equal(
            drawing.images(spectra[i:i + 1], fluxes[i:i + 1], centres[i:i + 1])[0], whole[i])


@pytest.mark.slow
def test_the_default_in_blocks_is_the_same_with_nproc_1_and_2(tmp_path):
    """The shipped default through the galsim command: its portable copy runs where ``auto``
    puts it (OpenVINO where installed) in GalSim's forked workers, and the field in blocks
    is the same, pixel for pixel, with one process and two."""
    import yaml
    from astropy.io import fits

    from tests.checks import run_galsim

    out = {}
    for nproc in (1, 2):
        cfg = {"modules": ["galsim_deep"], "psf": {"type": "Kolmogorov", "fwhm": 0.7},
               "gal": {"type": "GenerativeModelGalaxy",
                       "flux_radius": {"type": "Random", "min": 0.3, "max": 1.0},
                       "mag_auto": {"type": "Random", "min": 20, "max": 24}, "zphot": 1.0,
                       "zero_point": 30.0},
               "image": {"type": "Scattered", "size": 256, "pixel_scale": 0.2,
                         "stamp_size": 32, "nobjects": 96, "random_seed": 8, "nproc": nproc},
               "input": {"generative_model": {"file_name": "hub:flow-vae-mock-cosmos-25.2",
                                              "batch_size": 16}},
               "output": {"file_name": str(tmp_path / f"field{nproc}.fits")}}
        run_galsim(tmp_path, yaml.safe_dump(cfg), f"field{nproc}")
        out[nproc] = fits.getdata(tmp_path / f"field{nproc}.fits")
    assert out[1].max() > 0
    np.testing.assert_array_equal(out[1], out[2])
