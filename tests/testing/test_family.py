"""The conformance kit (galsim_deep.testing.check_family): every shipped family passes it,
and it catches a family that breaks the contract."""
import numpy as np
import pytest

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core.errors import InputError
from galsim_deep.testing import FAMILY_CHECKS, check_family, default_catalog


def test_the_default_passes_every_check():
    assert check_family("hub:flow-vae-mock-cosmos-25.2") == list(FAMILY_CHECKS)


def test_the_toy_family_of_one_file_passes(tmp_path):
    """The toy kind of tests/toy_kind.py (a family added as one kind) conforms."""
    pytest.importorskip("tensorflow")
    from tests.toy_kind import export_parts_module

    module = export_parts_module(tmp_path / "parts")
    assert check_family(module, checks=["metadata", "profiles", "seeds", "arrays", "flux",
                                        "bad_catalogs", "yaml"])


def test_the_colour_default_passes_what_applies():
    """A chromatic module: the checks that draw through its reference band."""
    assert check_family("hub:flow-vae-mock-cosmos-25.2-colour",
                        checks=["metadata", "profiles", "seeds", "bad_catalogs"])


def test_a_family_that_ignores_its_seed_fails_the_seeds_check():
    model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
    outputs = model.kind.outputs
    rng = np.random.default_rng()
    model.kind.outputs = lambda out: {k: (v * rng.uniform(0.5, 2.0) if k == "stamps" else v)
                                      for k, v in outputs(out).items()}
    with pytest.raises(AssertionError, match=r"(?s)check_family\(.*\): seeds: .*the same seed"):
        check_family(model, checks=["seeds"])


def test_a_family_that_drops_the_catalog_shape_fails_the_shapes_check():
    model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
    sample = model.sample

    def unshaped(cat, **kwargs):
        return sample({k: v for k, v in cat.items() if k not in ("q", "beta")}, **kwargs)

    model.sample = unshaped
    with pytest.raises(AssertionError, match="shapes: row 0: asked q=0.40"):
        check_family(model, checks=["shapes"])


def test_the_default_catalog_lies_inside_the_training_range():
    model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
    cat = default_catalog(model, n=5)
    for name, (lo, hi) in model.condition_ranges.items():
        assert np.all((cat[name] > lo) & (cat[name] < hi)) and len(set(cat[name])) == 5
    with pytest.raises(InputError, match="unknown family check"):
        check_family(model, checks=["speed"])
