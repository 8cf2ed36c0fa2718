"""Assertions and helpers shared by several test files (``from tests.checks import ...``)."""
import contextlib
import subprocess
import sys
from pathlib import Path

import numpy as np

#: The repository's root (tests/ sits in it), for the tests that read its files.
ROOT = Path(__file__).resolve().parents[1]

#: GalSim's ``galsim`` command of this environment.
GALSIM = str(Path(sys.executable).with_name("galsim"))


def run_galsim(tmp_path, text, name):
    """Write the YAML ``text`` to ``tmp_path/name.yaml`` and run the ``galsim`` command on it
    there; it must succeed."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    result = subprocess.run([GALSIM, str(path)], capture_output=True, text=True, cwd=tmp_path,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def assert_samples_are_galsim_profiles(model, gals, cat):
    """What a user of an exported module relies on, beyond "it returns something"."""
    import galsim

    assert len(gals) == 2 and all(isinstance(g, galsim.InterpolatedImage) for g in gals)
    # The same seed gives the same pixels, another seed other pixels.
    again = model.sample(cat, rng=galsim.BaseDeviate(3))
    other = model.sample(cat, rng=galsim.BaseDeviate(4))
    for g, a, o in zip(gals, again, other):
        np.testing.assert_array_equal(g.image.array, a.image.array)
        assert not np.array_equal(g.image.array, o.image.array)
    # zero_point= puts each galaxy at its catalog magnitude (the exported flux metadata).
    at_zp = model.sample(cat, rng=galsim.BaseDeviate(3), zero_point=28.0)
    np.testing.assert_allclose([g.flux for g in at_zp],
                               10 ** (-0.4 * (np.asarray(cat["mag_auto"]) - 28.0)), rtol=1e-5)
    # Drawn through a PSF on the module's pixels: finite, and the flux GalSim says it holds.
    for g in at_zp:
        image = galsim.Convolve(g, galsim.Gaussian(fwhm=0.1)).drawImage(
            nx=4 * model.stamp_size, ny=4 * model.stamp_size, scale=model.pixel_scale)
        assert np.all(np.isfinite(image.array))
        np.testing.assert_allclose(image.array.sum(), g.flux, rtol=0.02)


def trainable_weights(model):
    """A model's trainable variables as numpy arrays, in order."""
    return [v.numpy() for v in model.trainable_variables]


def train_tiny_family(family, train, make_recipe, out):
    """A family's tiny recipe trained; its latent flow; its module.  ``train(recipe,
    progress, stop_at=None)`` is the family's training function, ``make_recipe(output_dir)``
    its loaded recipe for a run folder.  Returns ``recipe``, ``log`` (the run's) and
    ``module`` (its exported folder)."""
    from galsim_deep.training.latent_flow import train_latent_flow

    recipe = make_recipe(out / "run")
    log = train(recipe, progress=False)
    train_latent_flow(recipe, progress=False)
    module = family.export(recipe, out / "module")
    return {"recipe": recipe, "log": log, "module": module}


def assert_resumes_to_the_same_weights(family, train, make_recipe, trained, out):
    """The tiny recipe of :func:`train_tiny_family` trained again, interrupted at step 3
    and resumed in ``out``: the same weights as ``trained``'s run."""
    resumed = make_recipe(out)
    assert train(resumed, progress=False, stop_at=3)["steps"] == 3
    train(resumed, progress=False)
    straight, again = (trainable_weights(family.restore(r)[0])
                       for r in (trained["recipe"], resumed))
    assert len(straight) == len(again) > 0
    for a, b in zip(straight, again):
        np.testing.assert_array_equal(a, b)


@contextlib.contextmanager
def op_determinism_restored():
    """Training switches TensorFlow op determinism on for the whole process; switch it back
    off afterwards, so the tests of other areas run as they would alone."""
    from tensorflow.python.framework import config as tf_config

    before = tf_config.is_op_determinism_enabled()
    try:
        yield
    finally:
        if not before:
            tf_config.disable_op_determinism()


def catalog_rows(n, seed=0):
    """``n`` catalog rows inside the tiny module's ranges (AB mag, pixels, redshift), drawn
    from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return {"mag_auto": rng.uniform(20.5, 24.0, n), "flux_radius": rng.uniform(2.0, 12.0, n),
            "zphot": rng.uniform(0.2, 2.0, n)}


def likelihood_neighbours(codes, row, k):
    """The dataset rows ``latent similar --metric likelihood`` must give for row ``row`` of a
    codes file that holds it, and their scores: the other galaxies whose ``log_prob`` is
    nearest the query's, nearest first (ties in file order)."""
    gap = np.abs(codes.log_prob.astype(np.float64) - codes.log_prob[codes.row_of(row)])
    gap[codes.row_of(row)] = np.inf
    order = np.argsort(gap, kind="stable")[:k]
    return codes.indices[order].tolist(), gap[order]


def dotted_object(dotted):
    """The object a dotted name names (``package.module.Class.method``) and the module it
    lies in, importing the longest importable prefix; AttributeError or ImportError where
    there is none."""
    import importlib

    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        obj = module
        for name in parts[i:]:
            obj = getattr(obj, name)
        return obj, module
    raise ImportError(f"no module in {dotted!r}")


def research_command(script):
    """``main(argv)`` of a research script (``research/<folder>/<script>.py``, imported as
    ``research.<folder>.<script>``): its command line run as ``python`` runs it, an error
    as one line with exit status 1 (:func:`galsim_deep.cli.run_script`)."""
    from galsim_deep.cli import run_script

    return lambda argv: run_script(script.parser(), script.run, argv)
