"""The catalog's population of shapes (galsim_deep.engine.shape_prior): the table, its
checks, its uniform numbers, and a module that ships one."""
import doctest
import shutil

import galsim
import numpy as np
import pytest

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.errors import InputError
from galsim_deep.core.module_format import read_metadata, shape_prior_problems, write_metadata
from galsim_deep.data import hub
from galsim_deep.engine import galaxy_draws, shape_prior
from galsim_deep.engine.random_draws import shape_uniforms
from galsim_deep.engine.shape_prior import ShapePrior, fit_shape_prior


def test_the_docstring_example_runs():
    assert doctest.testmod(shape_prior).failed == 0


def _catalog(n=20000, seed=0):
    rng = np.random.default_rng(seed)
    mag, size = rng.uniform(18, 25, n), rng.uniform(2, 20, n)
    q = np.clip(rng.normal(0.3 + 0.05 * (mag - 18), 0.08), 0.05, 1.0)
    return {"mag_auto": mag, "flux_radius": size}, q


def test_a_fitted_prior_draws_each_cells_own_distribution():
    conditions, q = _catalog()
    entry = fit_shape_prior(conditions, q, bins={"mag_auto": 5, "flux_radius": 2})
    assert not shape_prior_problems(entry, ["mag_auto", "flux_radius", "zphot"])
    prior = ShapePrior(entry)
    rng = np.random.default_rng(1)
    for mag in (18.5, 24.5):
        drawn = prior.sample({"mag_auto": np.full(4000, mag), "flux_radius": np.full(4000, 9.)},
                             rng.uniform(size=4000))
        near = np.abs(conditions["mag_auto"] - mag) < 0.7
        assert np.median(drawn) == pytest.approx(np.median(q[near]), abs=0.02)
        assert np.std(drawn) == pytest.approx(np.std(q[near]), rel=0.15)
    # the quantile function rises with u; its ends are the cell's extremes
    u = np.linspace(0, 1, 11)
    drawn = prior.sample({"mag_auto": np.full(11, 21.0), "flux_radius": np.full(11, 5.)}, u)
    assert np.all(np.diff(drawn) >= 0) and drawn[0] >= shape_prior.MIN_Q


def test_a_sparse_cell_borrows_its_neighbours():
    conditions, q = _catalog(n=300)
    entry = fit_shape_prior(conditions, q, bins={"mag_auto": 10}, min_count=100)
    table = np.asarray(entry["quantiles"])
    assert table.shape == (10, 33)
    assert len({tuple(row) for row in table}) < 10  # neighbouring cells pooled


@pytest.mark.parametrize("change, match", [
    (lambda e: e.update(variable="e"), "variable must be 'q'"),
    (lambda e: e.update(conditions=["colour"]), "one list of edges per condition"),
    (lambda e: e["quantiles"].pop(), "cells per condition"),
    (lambda e: e["quantiles"][0].reverse(), "must rise"),
    (lambda e: e.pop("levels"), "lacks \\['levels'\\]")])
def test_a_broken_entry_is_named(change, match):
    conditions, q = _catalog(n=2000)
    entry = fit_shape_prior(conditions, q, bins={"mag_auto": 3})
    change(entry)
    assert any(__import__("re").search(match, p) for p in
               shape_prior_problems(entry, ["mag_auto", "flux_radius"])), match


def test_bad_fits_are_refused():
    conditions, q = _catalog(n=500)
    with pytest.raises(InputError, match="bins names"):
        fit_shape_prior(conditions, q, bins={"zphot": 3})
    with pytest.raises(InputError, match="axis ratios"):
        fit_shape_prior(conditions, q * 2, bins={"mag_auto": 3})


def test_the_uniforms_follow_the_angle_on_each_galaxys_stream():
    seeds = np.arange(100, 110)
    first = shape_uniforms(seeds, 16)
    assert np.array_equal(first, shape_uniforms(seeds, 16))
    assert np.all((first >= 0) & (first < 1)) and len(set(first)) == 10
    # the normals and angles do not change, and the row's number is the row's own
    np.testing.assert_array_equal(shape_uniforms(seeds[3:5], 16), first[3:5])
    assert not np.array_equal(shape_uniforms(seeds, 8), first)
    normals, angles = galaxy_draws(seeds, 16)
    assert np.array_equal(galaxy_draws(seeds, 16)[1], angles)


# ------------------------------------------------------------- a module that ships one
@pytest.fixture(scope="module")
def flat_module(tmp_path_factory):
    """The shipped default with a population of axis ratios all near 0.3."""
    source = hub.resolve("hub:flow-vae-mock-cosmos-25.2")
    path = tmp_path_factory.mktemp("modules") / "with-shapes"
    shutil.copytree(source, path)
    meta = read_metadata(path)
    rng = np.random.default_rng(5)
    conditions = {"mag_auto": rng.uniform(18, 25, 3000)}
    meta["shape_prior"] = fit_shape_prior(conditions, rng.uniform(0.29, 0.31, 3000),
                                          bins={"mag_auto": 2}, source="a test's")
    write_metadata(path, meta)
    return path


def _cat(n=6):
    rng = np.random.default_rng(2)
    return {"mag_auto": rng.uniform(20, 24, n), "flux_radius": rng.uniform(4, 12, n),
            "zphot": rng.uniform(0.3, 1.2, n)}


def _q(galaxy, pixel_scale):
    image = galaxy.drawImage(nx=320, ny=320, scale=pixel_scale / 3, method="no_pixel")
    for sigma in (15.0, 5.0, 30.0):
        try:
            return galsim.hsm.FindAdaptiveMom(image, guess_sig=sigma).observed_shape.q
        except galsim.GalSimHSMError:
            continue
    raise AssertionError("HSM converged from no start")


def test_a_module_with_a_population_gives_its_axis_ratios(flat_module):
    model = GenerativeGalaxyModel(str(flat_module))
    galaxies = model.sample(_cat(), rng=3)
    assert [_q(g, model.pixel_scale) for g in galaxies] == pytest.approx([0.3] * 6, abs=0.012)
    # a catalog q still wins, row by row
    given = model.sample(dict(_cat(), q=np.full(6, 0.8)), rng=3)
    assert _q(given[0], model.pixel_scale) == pytest.approx(0.8, abs=0.01)
    # the same seed, the same galaxies, whatever the batch
    again = np.concatenate(list(model.sample_arrays(_cat(), rng=3, batch_size=4)))
    np.testing.assert_array_equal(again, np.concatenate(list(model.sample_arrays(_cat(),
                                                                                 rng=3))))


def test_shapes_network_keeps_the_networks_own(flat_module):
    plain = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2@2.1.0")  # ships none
    own = GenerativeGalaxyModel(str(flat_module), shapes="network")
    np.testing.assert_array_equal(np.concatenate(list(own.sample_arrays(_cat(), rng=3))),
                                  np.concatenate(list(plain.sample_arrays(_cat(), rng=3))))
    with pytest.raises(InputError, match="ships none"):
        GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2@2.1.0", shapes="population")
    with pytest.raises(InputError, match="shapes must be one of"):
        GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2", shapes="catalog")
