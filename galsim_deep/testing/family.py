"""The checks every family's exported module must pass, as scikit-learn's ``check_estimator``.

A new family (a network, its training and its sampling kind, :doc:`/architecture`) is
usable by simulations when its module keeps the contract every caller relies on.
:func:`check_family` loads the module and runs :data:`FAMILY_CHECKS` on it, each a
function of the loaded model and a catalog that raises ``AssertionError`` naming what
broke:

* ``metadata``: the metadata is valid and names the kind the model samples with;
* ``profiles``: one GalSim profile per catalog row, of finite, positive flux;
* ``seeds``: the same seed gives the same galaxies, whatever the batch size; another seed
  other galaxies;
* ``arrays``: ``sample_arrays`` gives the stamps the profiles draw (one-band modules);
* ``flux``: ``flux_scaling`` scales every galaxy's flux (one-band modules);
* ``shapes``: a catalog's ``q`` and ``beta`` give the galaxy that shape, as HSM measures it
  (one-band modules, :doc:`/shapes`);
* ``bad_catalogs``: a missing column or a NaN is refused with an error naming it;
* ``yaml``: the YAML type draws the galaxy the API draws from the same seed.
"""
import numpy as np

__all__ = ["check_family", "FAMILY_CHECKS", "default_catalog"]

#: The random seed the checks sample with (``rng=``).
SEED = 11


def default_catalog(model, n=6):
    """``n`` catalog rows spread inside the training range of each of the model's
    conditions (their 20% to 80% points, a different order per condition)."""
    rows = {}
    for k, (name, (lo, hi)) in enumerate(model.condition_ranges.items()):
        fractions = np.roll(np.linspace(0.2, 0.8, n), k)
        rows[name] = lo + fractions * (hi - lo)
    return rows


def _drawn(profile, model, side=None):
    """A profile drawn noiseless on the module's grid (``side`` pixels, default its
    rotated stamp's); a chromatic one through the module's reference band."""
    side = model.rotated_stamp_size if side is None else side
    if model.chromatic is None:
        return profile.drawImage(nx=side, ny=side, scale=model.pixel_scale,
                                 method="no_pixel").array
    from ..physics.bands import get_bandpass

    band = get_bandpass(model.chromatic["bands"][0])
    return profile.drawImage(band, nx=side, ny=side, scale=model.pixel_scale,
                             method="no_pixel").array


def check_metadata(model, cat):
    """The metadata validates and chooses the kind the model samples with."""
    from ..core.module_format import validate_metadata
    from ..engine.kinds import kind_class

    validate_metadata(model.metadata)
    assert isinstance(model.kind, kind_class(model.metadata)), (
        f"the module's metadata names kind {kind_class(model.metadata).name!r}, the model "
        f"samples with {type(model.kind).__name__}")
    assert model.quantities == [c["name"] for c in model.metadata["conditions"]]


def check_profiles(model, cat):
    """One profile per row, each a GalSim object of finite, positive flux."""
    import galsim

    profiles = model.sample(cat, rng=SEED)
    n = len(next(iter(cat.values())))
    assert len(profiles) == n, f"{n} catalog rows gave {len(profiles)} profiles"
    for i, p in enumerate(profiles):
        assert isinstance(p, (galsim.GSObject, galsim.ChromaticObject)), (
            f"row {i} gave a {type(p).__name__}, not a GalSim profile")
        if isinstance(p, galsim.GSObject):
            assert np.isfinite(p.flux) and p.flux > 0, f"row {i} has flux {p.flux}"


def _images(model, cat, **kwargs):
    """The profiles' noiseless images."""
    return np.stack([_drawn(p, model) for p in model.sample(cat, **kwargs)])


def check_seeds(model, cat):
    """Same seed, same galaxies, whatever the batch size; another seed, other galaxies."""
    first = _images(model, cat, rng=SEED)
    np.testing.assert_array_equal(_images(model, cat, rng=SEED, batch_size=1), first,
                                  err_msg="the same seed drew other galaxies in batches of 1")
    np.testing.assert_array_equal(_images(model, cat, rng=SEED), first,
                                  err_msg="the same seed drew other galaxies a second time")
    assert not np.array_equal(_images(model, cat, rng=SEED + 1), first), (
        "another seed drew the same galaxies")


def check_arrays(model, cat):
    """``sample_arrays(rotate=False)`` gives the stamps the unrotated profiles draw."""
    if model.chromatic is not None:
        return
    stamps = np.concatenate(list(model.sample_arrays(cat, rng=SEED, rotate=False)))
    profiles = model.sample(cat, rng=SEED, rotate=False)
    for i, (stamp, p) in enumerate(zip(stamps, profiles)):
        np.testing.assert_allclose(_drawn(p, model, model.stamp_size), stamp, rtol=0,
                                   atol=1e-5 * np.abs(stamp).max(),
                                   err_msg=f"row {i}: the profile does not draw its stamp")


def check_flux(model, cat):
    """``flux_scaling`` multiplies every galaxy's flux."""
    if model.chromatic is not None:
        return
    plain = model.sample(cat, rng=SEED)
    scaled = model.sample(cat, rng=SEED, flux_scaling=2.5)
    np.testing.assert_allclose([g.flux for g in scaled], [2.5 * g.flux for g in plain],
                               rtol=1e-5, err_msg="flux_scaling=2.5 did not scale the flux")


def check_shapes(model, cat):
    """A catalog's ``q`` and ``beta`` give the galaxy that shape (HSM adaptive moments of
    the noiseless profile, within 0.02 in ``g``)."""
    import galsim

    if model.chromatic is not None:
        return
    n = len(next(iter(cat.values())))
    q, beta = np.linspace(0.4, 0.9, n), np.linspace(10.0, 170.0, n)
    shaped = model.sample(dict(cat, q=q, beta=beta), rng=SEED)
    for i, p in enumerate(shaped):
        image = galsim.Image(_drawn(p, model, 2 * model.rotated_stamp_size),
                             scale=model.pixel_scale)
        got = galsim.hsm.FindAdaptiveMom(image).observed_shape
        want = galsim.Shear(q=q[i], beta=beta[i] * galsim.degrees)
        assert abs(got.g1 - want.g1) < 0.02 and abs(got.g2 - want.g2) < 0.02, (
            f"row {i}: asked q={q[i]:.2f}, beta={beta[i]:.0f} deg, drew q={got.q:.3f}, "
            f"beta={got.beta.deg:.1f} deg")


def _refused(model, cat, name, what):
    """Assert that sampling ``cat`` raises the project's own error naming ``name``."""
    from ..core.errors import GalsimDeepError

    try:
        model.sample(cat, rng=SEED)
    except GalsimDeepError as err:
        assert name in str(err), f"the error for {what} {name!r} does not name it: {err}"
    else:
        raise AssertionError(f"a catalog with {what} {name!r} was sampled")


def check_bad_catalogs(model, cat):
    """A catalog without a condition, or with a NaN in one, is refused with the project's
    own error (a message naming the problem and the fix) naming it."""
    name = model.quantities[0]
    _refused(model, {k: v for k, v in cat.items() if k != name}, name, "no")
    nan = np.where(np.arange(len(cat[name])) == 0, np.nan, cat[name])
    _refused(model, dict(cat, **{name: nan}), name, "a NaN in")


def check_yaml(model, cat):
    """GalSim's config (the ``GenerativeModelGalaxy`` type) draws the API's galaxy."""
    import galsim

    from ..api import config  # noqa: F401  (registers the YAML types)

    if model.chromatic is not None:  # its YAML draws through a bandpass: tested apart
        return
    row = {name: float(values[0]) for name, values in cat.items()}
    side = model.rotated_stamp_size
    config = {"gal": {"type": "GenerativeModelGalaxy", **row},
              "image": {"type": "Single", "size": side, "pixel_scale": model.pixel_scale,
                        "random_seed": SEED},
              "stamp": {"draw_method": "no_pixel"},
              "input": {"generative_model": {"file_name": str(model.module_dir)}}}
    image = galsim.config.BuildImage(config).array
    (galaxy,) = model.sample({k: [v] for k, v in row.items()}, rng=SEED)
    expected = _drawn(galaxy, model)
    np.testing.assert_allclose(image, expected, rtol=0, atol=1e-6 * np.abs(expected).max(),
                               err_msg="the YAML type drew another galaxy than the API")


#: The checks :func:`check_family` runs, by name, in order.
FAMILY_CHECKS = {"metadata": check_metadata, "profiles": check_profiles, "seeds": check_seeds,
                 "arrays": check_arrays, "flux": check_flux, "shapes": check_shapes,
                 "bad_catalogs": check_bad_catalogs, "yaml": check_yaml}


def check_family(module, catalog=None, checks=None):
    """Run the conformance checks (:data:`FAMILY_CHECKS`) on a family's exported module.

    Parameters
    ----------
    module : str, Path or GenerativeGalaxyModel
        The module (``hub:NAME``, a directory or an archive) or a model loaded from it.
    catalog : dict of array_like, optional
        Catalog rows to sample (default :func:`default_catalog`, inside the training range).
    checks : sequence of str, optional
        The names of the checks to run (default all, in order).

    Returns
    -------
    list of str
        The checks run, each passed (the first that fails raises).

    Raises
    ------
    AssertionError
        Naming the check and what it found.

    Examples
    --------
    >>> from galsim_deep.testing import check_family
    >>> check_family("hub:flow-vae-mock-cosmos-25.2", checks=["metadata", "seeds"])
    ['metadata', 'seeds']
    """
    from ..api.model import GenerativeGalaxyModel
    from ..core.errors import chosen_names

    model = module if isinstance(module, GenerativeGalaxyModel) else \
        GenerativeGalaxyModel(module, range_policy="clip")
    cat = {k: np.asarray(v, np.float64) for k, v in
           (default_catalog(model) if catalog is None else catalog).items()}
    names = list(FAMILY_CHECKS) if checks is None else chosen_names(
        checks, FAMILY_CHECKS, "family check")
    for name in names:
        try:
            FAMILY_CHECKS[name](model, cat)
        except AssertionError as err:
            raise AssertionError(f"check_family({model.file_name}): {name}: {err}") from err
    return names
