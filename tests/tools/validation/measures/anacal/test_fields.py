"""The AnaCal measure's fields: layouts, the scene's shear and rotation, and the drawing."""
import galsim
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation.measures.anacal import fields as fl


def test_isolated_grids_hold_one_galaxy_a_cell_inside_the_border():
    layouts = fl.isolated_fields(300, seed=0)
    assert [len(lay.galaxies) for lay in layouts] == [256, 44]
    assert np.array_equal(np.concatenate([lay.galaxies for lay in layouts]), np.arange(300))
    for lay in layouts:
        cells = np.floor((lay.positions - fl.FIELD_PAD) / fl.ISOLATED_CELL).astype(int)
        assert len({tuple(c) for c in cells}) == len(lay.galaxies)
        assert lay.positions.min() >= fl.FIELD_PAD
        assert lay.positions.max() <= lay.nx - fl.FIELD_PAD
    fixed = fl.isolated_fields(4, seed=0, jitter=False)[0]
    assert np.array_equal(fixed.positions, np.round(fixed.positions))


def test_blended_fields_have_the_asked_density():
    layouts = fl.blended_fields(500, density=40.0, pixel_scale=0.2, seed=1)
    inner = (fl.BLEND_SIDE - 2 * fl.FIELD_PAD) * 0.2 / 60.0
    per_field = [len(lay.galaxies) / inner ** 2 for lay in layouts]
    assert np.mean(per_field) == pytest.approx(40.0, rel=0.1)
    assert fl.science_book_density(25.3) == pytest.approx(46 * 10 ** (0.31 * 0.3))
    with pytest.raises(InputError, match="density must be > 0"):
        fl.blended_fields(10, density=0.0, pixel_scale=0.2, seed=1)
    with pytest.raises(InputError, match="n >= 1"):
        fl.isolated_fields(0, seed=1)


def test_a_blended_scene_turns_and_shears_about_its_centre():
    lay = fl.FieldLayout("blends", np.arange(2), np.array([[199.5, 249.5], [299.5, 199.5]]),
                         400, 400)
    turned = fl.scene_positions(lay, 0.0, 1)
    assert np.allclose(turned, [[149.5, 199.5], [199.5, 299.5]])
    sheared = fl.scene_positions(lay, 0.1, 0)
    assert sheared[1, 0] > 299.5 and np.isclose(sheared[1, 1], 199.5)  # stretched along x
    grid = fl.FieldLayout("isolated", np.arange(2), lay.positions, 400, 400)
    assert np.array_equal(fl.scene_positions(grid, 0.1, 1), lay.positions)


def test_a_field_is_drawn_where_the_galaxies_are_with_their_flux():
    psf = galsim.Gaussian(fwhm=0.7)
    lay = fl.isolated_fields(4, seed=0, jitter=False)[0]
    profiles = [galsim.Gaussian(sigma=0.2, flux=100.0 * (k + 1)) for k in range(4)]
    image, failed = fl.render_field(profiles, lay, psf, 0.2, 0.02, 1)
    assert failed == [] and image.shape == (lay.ny, lay.nx)
    assert image.sum() == pytest.approx(1000.0, rel=1e-3)
    for x, y in lay.positions.astype(int):  # each galaxy's peak on its own pixel
        assert image[y, x] == image[y - 1:y + 2, x - 1:x + 2].max() > 0
