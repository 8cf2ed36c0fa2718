"""Wings that continue past the stamp (galsim_deep.engine.wings, metadata ``wings``)."""
import copy
import shutil

import numpy as np
import pytest

import galsim_deep
from galsim_deep.cli import main
from galsim_deep.core.errors import InputError
from galsim_deep.core.module_format import (ModuleFormatError, read_metadata,
                                            validate_metadata)
from galsim_deep.engine import rotated_size
from galsim_deep.engine.wings import (StampWings, _elliptical_radius, _half_light_radius,
                                      core_images, module_wings, paint_wings,
                                      render_with_wings, wing_parameters, wings_entry)

CAT = {"mag_auto": [21.0, 22.5, 23.0, 24.5] * 4, "flux_radius": [4.0, 8.0, 12.0, 20.0] * 4,
       "zphot": [0.3, 0.8, 1.2, 1.6] * 4}


def exponential(side, h, q=1.0, phi=0.0, flux=1.0):
    """An elliptical exponential ``exp(-rho / h)`` on a grid centred on its true centre, in the
    circularised radius ``rho = sqrt(q x'^2 + y'^2 / q)``; peak-normalised times ``flux``."""
    offset = np.arange(side) - (side - 1) / 2
    x, y = offset[None, :], offset[:, None]
    major, minor = x * np.cos(phi) + y * np.sin(phi), -x * np.sin(phi) + y * np.cos(phi)
    return flux * np.exp(-np.sqrt(q * major ** 2 + minor ** 2 / q) / h)


def test_parameters_of_an_elliptical_exponential():
    image = exponential(64, 3.0, q=0.5, phi=0.6)[None]
    p = wing_parameters(image, match_radius=2.0, fit_from=1.0, min_scale=0.3, max_scale=1.5)
    # the half-light radius of an exponential is 1.678 scale lengths
    assert p["r50"][0] == pytest.approx(1.678 * 3.0, rel=0.05)
    assert p["q"][0] == pytest.approx(0.5, abs=0.03)
    assert p["phi"][0] == pytest.approx(0.6, abs=0.02)
    assert p["scale"][0] == pytest.approx(3.0, rel=0.03)
    assert p["match"][0] == pytest.approx(2.0 * p["r50"][0])
    # the level at the matching radius is the profile's own
    assert p["level"][0] == pytest.approx(np.exp(-p["match"][0] / 3.0), rel=0.05)


def test_core_and_tail_continue_an_exponential_past_the_stamp():
    """The tail of an exponential is that exponential: core + tail on the larger grid gives
    back the analytic profile, beyond the stamp too, up to the edge taper."""
    h, q, phi = 3.0, 0.7, 0.3
    stamp = exponential(64, h, q, phi)[None]
    p = wing_parameters(stamp, match_radius=2.0, fit_from=1.0, min_scale=0.3, max_scale=1.5)
    side = rotated_size(64)
    full = paint_wings(side, p)
    margin = (side - 64) // 2
    full[:, margin:margin + 64, margin:margin + 64] += core_images(stamp, p)
    truth = exponential(side, h, q, phi)
    offset = np.arange(side) - (side - 1) / 2
    r = np.hypot(offset[None, :], offset[:, None])
    inside = r < side / 2 - 2.0 - 4.0  # inside the edge taper
    np.testing.assert_allclose(full[0][inside], truth[inside], rtol=0.06, atol=1e-6)
    beyond_stamp = inside & (r > 33)
    assert beyond_stamp.sum() > 100 and np.all(full[0][beyond_stamp] > 0)
    # nothing at or beyond the grid's inscribed circle: no straight edge at any angle
    assert np.all(full[0][r >= side / 2 - 2.0] == 0)


def test_the_half_light_radius_is_the_sorted_pixels_own():
    """The binned search finds exactly the radius a full sort of every pixel finds: the
    smallest radius whose enclosed light reaches half, ties and empty rows included."""
    rng = np.random.default_rng(3)
    q, phi = rng.uniform(0.2, 1.0, 40), rng.uniform(0, np.pi, 40)
    rho = _elliptical_radius(48, q, phi).astype(np.float64)
    light = rng.exponential(1.0, rho.shape) * np.exp(-rho / rng.uniform(1, 10, (40, 1)))
    light[0] = 0.0  # no light: the smallest radius
    light[1] = 0.0
    light[1, 100] = 2.0  # all the light in one pixel: its radius
    total = light.sum(axis=1)
    order = np.argsort(rho, axis=1)
    grown = np.cumsum(np.take_along_axis(light, order, 1), axis=1)
    index = [np.searchsorted(g, 0.5 * t) for g, t in zip(grown, total)]
    sorted_radius = np.take_along_axis(rho, order, 1)[np.arange(40), index]
    np.testing.assert_array_equal(_half_light_radius(rho, light, total), sorted_radius)
    assert _half_light_radius(rho, light, total)[1] == rho[1, 100]


def test_no_stamps_give_no_wings():
    out = render_with_wings(StampWings(), np.zeros((0, 64, 64), np.float32), [], [])
    assert out.shape == (0, 92, 92)


def test_the_elliptical_radius_is_the_rotated_forms():
    """One matrix product gives ``sqrt(q x'^2 + y'^2 / q)`` with ``x'`` along ``phi``."""
    offset = np.arange(10) - 4.5
    x, y = offset[None, :], offset[:, None]
    c, s = np.cos(0.7), np.sin(0.7)
    expected = np.sqrt(0.4 * (x * c + y * s) ** 2 + (-x * s + y * c) ** 2 / 0.4)
    np.testing.assert_allclose(_elliptical_radius(10, [0.4], [0.7])[0].reshape(10, 10),
                               expected, rtol=1e-6)


def test_the_tail_turns_with_its_galaxy():
    stamp = exponential(64, 3.0, 0.5, 0.2)[None]
    p = wing_parameters(stamp)
    turned = paint_wings(92, p, angles=[np.pi / 2])[0]
    np.testing.assert_allclose(turned, np.rot90(paint_wings(92, p)[0]), atol=1e-6)


def test_the_scale_length_stays_in_its_bounds_and_empty_images_get_no_tail():
    steep = exponential(64, 0.8)
    flat = np.full((64, 64), 1e-3) + exponential(64, 2.0)  # a pedestal: a flat tail
    p = wing_parameters(np.stack([steep, flat, np.zeros((64, 64))]), min_scale=0.5,
                        max_scale=1.3)
    assert np.all(p["scale"][:2] <= 1.3 * p["r50"][:2] + 1e-9)
    assert np.all(p["scale"][:2] >= 0.5 * p["r50"][:2] - 1e-9)
    assert p["level"][2] == 0 and np.all(paint_wings(92, p)[2] == 0)
    with pytest.raises(InputError, match=r"square stamps \[N, S, S\]"):
        wing_parameters(np.zeros((64, 64)))


def test_the_core_ends_inside_the_stamp_for_big_elongated_galaxies():
    stamp = exponential(64, 12.0, q=0.3, phi=0.0)[None]
    p = wing_parameters(stamp)
    core = core_images(stamp, p)[0]
    offset = np.arange(64) - 31.5
    r = np.hypot(offset[None, :], offset[:, None])
    assert np.all(core[r >= 31.0] == 0)


def test_wings_entry_validates(tiny_module_path):
    meta = read_metadata(tiny_module_path)
    entry = wings_entry(match_radius=2.0, fit_from=1.0)
    validate_metadata(dict(meta, wings=entry))
    assert isinstance(module_wings(dict(meta, wings=entry)), StampWings)
    assert module_wings(meta) is None
    with pytest.raises(InputError, match="0 < fit_from < match_radius"):
        wings_entry(match_radius=1.0, fit_from=2.0)
    with pytest.raises(InputError, match="unknown wings settings"):
        wings_entry(radius=2.0)
    for change, message in [({"fit_from": 3.0}, "0 < fit_from < match_radius"),
                            ({"profile": "sersic"}, "profile 'exponential'"),
                            ({"extra": 1.0}, r"unknown keys \['extra'\]"),
                            ({"blend": "0.2"}, "wings.blend must be of type float")]:
        bad = copy.deepcopy(meta)
        bad["wings"] = {**entry, **change}
        with pytest.raises(ModuleFormatError, match=message):
            validate_metadata(bad)
    both = dict(meta, wings=entry, window={"profile": "raised_cosine", "inner_radius": 8.0,
                                           "outer_radius": 14.0, "unit": "pixel"})
    with pytest.raises(ModuleFormatError, match="both 'window' and 'wings'"):
        validate_metadata(both)


@pytest.fixture
def winged_copy(gaussian_module_path, tmp_path, capsys):
    """The Gaussian toy module given wings by ``galsim-deep hub wings``."""
    out = tmp_path / "toy-winged"
    shutil.copytree(gaussian_module_path, out)
    assert main(["hub", "wings", str(out), "--match-radius", "2", "--fit-from", "1",
                 "--version", "0.0.2"]) == 0
    assert '"match_radius": 2.0' in capsys.readouterr().out
    return out


def test_the_engine_draws_the_wings_past_the_stamp(gaussian_module_path, winged_copy, capsys):
    plain = galsim_deep.GenerativeGalaxyModel(str(gaussian_module_path))
    winged = galsim_deep.GenerativeGalaxyModel(str(winged_copy))
    assert isinstance(winged.kind.wings, StampWings) and plain.kind.wings is None
    side = winged.rotated_stamp_size
    for rotate in (True, False, "exact"):
        profiles = winged.sample(CAT, rng=5, rotate=rotate)
        base = plain.sample(CAT, rng=5, rotate=rotate)
        for p, b in zip(profiles[:4], base[:4]):
            # the same galaxy, its flux kept, drawn on the rotated grid past the stamp
            assert p.flux == pytest.approx(b.flux, rel=1e-4)
            image = p.drawImage(nx=side, ny=side, scale=winged.pixel_scale,
                                method="no_pixel").array
            assert image.shape == (side, side)
    # same seed, same galaxies, whatever the batch size
    a = np.concatenate(list(winged.sample_arrays(CAT, rng=5, batch_size=3)))
    b = np.concatenate(list(winged.sample_arrays(CAT, rng=5, batch_size=16)))
    np.testing.assert_array_equal(a, b)
    # a second wings entry is refused, as is one on a windowed module
    assert main(["hub", "wings", str(winged_copy)]) == 1
    assert "has a wings already" in capsys.readouterr().err
