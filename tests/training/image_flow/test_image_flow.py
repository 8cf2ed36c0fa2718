"""The image-flow family (issue 69, item 3): the composed flow's density against a
brute-force Jacobian, its initialisation, the recipe checks, and the tiny recipe trained
through the command line, interrupted and resumed to the same weights, exported and its
``log_prob``, ``encode`` and ``sample`` called through the API and the SavedModel."""
import math
import warnings

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.training.families import get_family  # noqa: E402
from galsim_deep.training.image_flow.flow import ImageFlow  # noqa: E402
from galsim_deep.training.image_flow.networks import AffineCoupling  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402

from tests.checks import likelihood_neighbours, trainable_weights  # noqa: E402

FAMILY = get_family("image-flow")
CONDITIONS = ["mag_auto", "flux_radius", "zphot"]


def _small_flow(seed=0):
    """An 8x8 flow of three couplings, its networks not the identity, on stamps of noise
    0.5 (flux per pixel)."""
    flow = ImageFlow(8, 3, ["checkerboard", "channel", "checkerboard"], 6, 1, seed=seed)
    rng = np.random.default_rng(seed)
    stamps = (rng.normal(size=(6, 8, 8)) * 0.5 + 3.0 * np.exp(-rng.uniform(0, 3, (6, 8, 8))))
    conditions = rng.normal(size=(6, 3)) * [1.0, 4.0, 0.3] + [23.0, 8.0, 0.9]
    flow.initialize(stamps, conditions, 0.5, [23.0, 8.0, 0.9], [1.0, 4.0, 0.3])
    for step in flow.steps:
        if isinstance(step, AffineCoupling):
            step.net.out_kernel.assign(0.2 * rng.normal(size=step.net.out_kernel.shape))
    return flow, stamps.astype(np.float32), conditions.astype(np.float32)


def test_log_prob_is_the_normal_density_of_the_latent_times_the_jacobian():
    """log p(x) = log N(z; 0, I) + log |det dz/dx|, the determinant of the whole flow,
    preprocessing included, by brute force; the flow inverts; bits per dimension is
    -log p / (S**2 ln 2)."""
    flow, x, c = _small_flow()
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        z = flow.encode(xt, c)
    jac = tape.batch_jacobian(z, xt).numpy().reshape(6, 64, 64).astype(np.float64)
    log_det = np.linalg.slogdet(jac)[1]
    z = z.numpy().astype(np.float64)
    expected = -0.5 * (z ** 2).sum(axis=1) - 32 * math.log(2 * math.pi) + log_det
    log_prob = flow.log_prob(x, c).numpy()
    np.testing.assert_allclose(log_prob, expected, rtol=1e-4, atol=2e-2)
    np.testing.assert_allclose(flow.bits_per_dim(x, c).numpy(), -log_prob / (64 * math.log(2)),
                               rtol=1e-6)
    back = flow.sample_from_normal(z.astype(np.float32), c).numpy()
    np.testing.assert_allclose(back, x, rtol=1e-4, atol=1e-4)
    # The conditions change the density.
    assert not np.allclose(flow.log_prob(x, c + 1.0).numpy(), log_prob)


def test_the_density_is_of_the_stamp_in_its_own_units():
    """Stamps in a unit ``a`` times smaller, with the flow's scale too: the same latent,
    and ``log p`` larger by ``S**2 log a`` (the change of variables of the preprocessing)."""
    flow, x, c = _small_flow()
    other, _, _ = _small_flow()
    a = 10.0
    other.noise_scale.assign(flow.noise_scale / a)
    np.testing.assert_allclose(other.encode(x / a, c).numpy(), flow.encode(x, c).numpy(),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(other.log_prob(x / a, c).numpy() - flow.log_prob(x, c).numpy(),
                               64 * math.log(a), rtol=1e-4)


def test_initialisation_standardises_the_first_batch():
    """With the couplings new (the identity), the ActNorms set from the batch put its
    latent at per-channel mean 0 and variance 1, and the conditions are standardised."""
    flow = ImageFlow(8, 3, ["checkerboard", "channel"], 6, 1, seed=1)
    rng = np.random.default_rng(1)
    stamps = rng.normal(size=(32, 8, 8)).astype(np.float32) * 2.0
    conditions = rng.normal(size=(32, 3)).astype(np.float32)
    flow.initialize(stamps, conditions, 0.7, conditions.mean(0), conditions.std(0))
    z, _ = flow.to_latent(stamps, conditions)
    np.testing.assert_allclose(z.numpy().mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(z.numpy().std(axis=(0, 1, 2)), 1, rtol=1e-3)
    np.testing.assert_allclose(flow.standardize(conditions).numpy().std(axis=0), 1, rtol=1e-4)
    assert float(flow.noise_scale.numpy()) == pytest.approx(0.7)


# --- recipes --------------------------------------------------------------------------------

def test_recipes_load_with_the_family_and_section():
    from galsim_deep.training.recipes import available_recipes

    for name, size, couplings in (("image-flow-tiny", 32, 2),
                                  ("image-flow-mock-cosmos-25.2-64", 64, 4)):
        recipe = load_recipe(name)
        assert recipe["family"] == "image-flow"
        assert FAMILY.latent_size(recipe) == size ** 2
        assert len(recipe["image_flow"]["masks"]) == couplings
    assert {"image-flow-tiny", "image-flow-mock-cosmos-25.2-64"} <= \
        set(available_recipes("image-flow"))


@pytest.mark.parametrize("override, message", [
    ("image_flow.masks=[checkerboard, diagonal]", "masks must be a non-empty list"),
    ("image_flow.masks=[]", "masks must be a non-empty list"),
    ("dataset.stamp_size=31", "stamp_size 31 must be even"),
    ("image_flow.width=0", "width must be an integer >= 1"),
    ("image_flow.noise_scale=-1", "noise_scale must be 'auto' or a number > 0"),
    ("dataset.bands=[F814W, F606W]", "mono model: remove dataset.bands"),
])
def test_bad_recipe_keys_are_clear_errors(override, message):
    with pytest.raises(InputError, match=message):
        load_recipe("image-flow-tiny", [override])


# --- the tiny recipe end to end -------------------------------------------------------------

def _recipe(dataset, out):
    return load_recipe("image-flow-tiny", [f"dataset.path={dataset}", f"output_dir={out}"])


@pytest.fixture(scope="module")
def trained(mock_dataset_path, tmp_path_factory, restore_op_determinism):
    """The tiny recipe trained straight through the command line, and again interrupted at
    step 3 and resumed; its module."""
    from galsim_deep.cli import main
    from galsim_deep.training.image_flow.train import train_image_flow

    out = tmp_path_factory.mktemp("image_flow_tiny")
    assert main(["model", "train", "image-flow-tiny", "--set",
                 f"dataset.path={mock_dataset_path}", "--set", f"output_dir={out / 'run'}",
                 "--quiet"]) == 0
    recipe = _recipe(mock_dataset_path, out / "run")
    resumed = _recipe(mock_dataset_path, out / "resumed")
    assert train_image_flow(resumed, progress=False, stop_at=3)["steps"] == 3
    log = train_image_flow(resumed, progress=False)
    module = FAMILY.export(recipe, out / "module")
    return {"recipe": recipe, "resumed": resumed, "log": log, "module": module}


def _stamps(dataset, n=6):
    from galsim_deep.data.reader import StampDataset

    with StampDataset(dataset) as data:
        arrays = data.read(data.indices("all")[:n], ["stamp", "conditions"])
    cat = {name: arrays["conditions"][:, i] for i, name in enumerate(CONDITIONS)}
    return arrays["stamp"].astype(np.float32), cat


@pytest.mark.slow
def test_tiny_recipe_trains_and_resumes_to_the_same_weights(trained):
    from galsim_deep.training.loop import read_run_log

    log = trained["log"]
    assert log["steps"] == 6 and log["couplings"] == 2 and log["noise_scale"] > 0
    assert np.isfinite(log["metrics"]["bits_per_dim"])
    straight_log = read_run_log(FAMILY.checkpoint_dir(trained["recipe"]))
    assert straight_log["metrics"]["bits_per_dim"] == log["metrics"]["bits_per_dim"]
    straight, resumed = (trainable_weights(FAMILY.restore(trained[k])[0])
                         for k in ("recipe", "resumed"))
    assert len(straight) == len(resumed) > 0
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_module_log_prob_through_the_api_is_the_flows(trained, mock_dataset_path):
    """GenerativeGalaxyModel(module).log_prob(stamps, conditions) is the trained flow's
    log p(stamp | conditions) (ONNX Runtime: the portable copy), and loading the module
    warns that it is experimental."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.core.module_format import ExperimentalModuleWarning, read_metadata

    meta = read_metadata(trained["module"])
    assert meta["family"] == "image-flow" and meta["sampling_kind"] == "mono"
    assert meta["latent_size"] == 1024 and meta["image_flow"]["latent_shape"] == [16, 16, 4]
    assert {"sample", "encode", "log_prob"} <= set(meta["portable"]["signatures"])
    assert "image_flow_bits_per_dim" in meta["metrics"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gm = GenerativeGalaxyModel(str(trained["module"]))
    assert any(issubclass(w.category, ExperimentalModuleWarning) for w in caught)
    stamps, cat = _stamps(mock_dataset_path)
    log_prob = gm.log_prob(stamps, cat)
    model, _ = FAMILY.restore(trained["recipe"])
    conditions = np.stack([cat[c] for c in CONDITIONS], axis=1)
    expected = model.log_prob(stamps, conditions).numpy()
    assert log_prob.shape == (6,) and np.all(np.isfinite(log_prob))
    np.testing.assert_allclose(log_prob, expected, rtol=1e-4)
    # The same pixels shuffled (no galaxy) are less likely.
    shuffled = np.random.default_rng(0).permuted(stamps.reshape(6, -1), axis=1)
    assert np.median(gm.log_prob(shuffled.reshape(stamps.shape), cat)) < np.median(log_prob)
    mean, stddev = gm.encode(stamps, None, conditions=cat)
    np.testing.assert_allclose(mean, model.encode(stamps, conditions).numpy(), rtol=1e-4,
                               atol=1e-4)
    assert mean.shape == (6, 1024) and np.all(stddev == 0)
    with pytest.raises(InputError, match="needs the conditions"):
        gm.log_prob(stamps, None)


@pytest.mark.slow
def test_latent_tools_take_the_flows_latent_and_the_stamps_density(trained, mock_dataset_path,
                                                                  tmp_path, capsys):
    """``latent encode`` gives an image flow its conditions and keeps the density of the
    stamps as the codes' log_prob; ``latent similar --metric likelihood`` ranks by it."""
    import json

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.cli import main
    from galsim_deep.tools.latent.codes import read_codes

    out = tmp_path / "codes.h5"
    assert main(["latent", "encode", str(mock_dataset_path), "--model", str(trained["module"]),
                 "--out", str(out), "--max-galaxies", "12", "--quiet"]) == 0
    codes = read_codes(out)
    stamps, cat = _stamps(mock_dataset_path, 12)
    gm = GenerativeGalaxyModel(str(trained["module"]))
    np.testing.assert_array_equal(codes.log_prob, gm.log_prob(stamps, cat, range_policy="clip"))
    np.testing.assert_array_equal(codes.codes, gm.encode(stamps, None, conditions=cat)[0])
    capsys.readouterr()
    assert main(["latent", "similar", "3", "--codes", str(out), "-k", "4", "--metric",
                 "likelihood", "--out", str(tmp_path / "similar.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["rows"] == likelihood_neighbours(codes, 3, 4)[0]


@pytest.mark.slow
def test_latent_report_measures_the_flow_against_its_backgrounds(trained, mock_dataset_path,
                                                                 tmp_path, capsys):
    """``validation latent`` scores an image flow's non-galaxy stamps against the three
    backgrounds too and ranks by the footprint of its latent; ``latent similar --metric
    footprint`` is that ranking."""
    import json

    from galsim_deep.cli import main
    from galsim_deep.tools.latent.background import BACKGROUND_SCORES
    from galsim_deep.tools.latent.codes import read_codes
    from galsim_deep.tools.latent.search import footprint, ranking_index

    out = tmp_path / "report"
    assert main(["validation", "latent", "--model", str(trained["module"]), "--dataset",
                 str(mock_dataset_path), "--out", str(out), "--n-non-galaxy", "2", "-k", "1",
                 "--quiet"]) == 0
    report = json.loads((out / "report.json").read_text())
    for entry in report["non_galaxy"].values():
        assert all(0 <= entry[f"auroc_{name}"] <= 1 for name in BACKGROUND_SCORES)
    for name in BACKGROUND_SCORES:
        assert (out / f"non_galaxy_roc_{name}.png").stat().st_size > 5000
        assert name in (out / "report.md").read_text()
    assert 0 <= report["precision_at_k"]["footprint"]["mean"] <= 1
    codes = read_codes(out / "codes_train.h5")
    capsys.readouterr()
    assert main(["latent", "similar", str(codes.indices[0]), "--codes",
                 str(out / "codes_train.h5"), "-k", "3", "--metric", "footprint", "--out",
                 str(tmp_path / "similar.png"), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows, _ = ranking_index("footprint", codes.codes, latent_shape=[16, 16, 4]).query(
        footprint(codes.codes[:1], [16, 16, 4]), k=3, exclude=[0])
    assert res["rows"] == codes.indices[rows[0]].tolist()


@pytest.mark.slow
def test_sample_signature_is_the_flow_of_the_normals(trained, mock_dataset_path):
    """``sample`` maps normals to stamps through the flow (the inverse of ``encode``)."""
    model, _ = FAMILY.restore(trained["recipe"])
    loaded = tf.saved_model.load(str(trained["module"]))
    stamps, cat = _stamps(mock_dataset_path, 3)
    conds = {k: v.astype(np.float32) for k, v in cat.items()}
    z = loaded.signatures["encode"](image=stamps, **conds)["mean"].numpy()
    image = loaded.signatures["sample"](**conds, random_normal=z)["image"].numpy()
    np.testing.assert_allclose(image, stamps, rtol=1e-3, atol=1e-3 * np.abs(stamps).max())
    normals = np.random.default_rng(0).normal(size=(3, 1024)).astype(np.float32)
    drawn = loaded.signatures["sample"](**conds, random_normal=normals)["image"].numpy()
    conditions = np.stack([cat[c] for c in CONDITIONS], axis=1)
    np.testing.assert_allclose(drawn, model.sample_from_normal(normals, conditions).numpy(),
                               rtol=1e-4, atol=1e-5 * np.abs(drawn).max())
    assert drawn.shape == (3, 32, 32) and np.all(np.isfinite(drawn))


def test_train_flow_refuses_a_family_without_a_latent_flow(capsys):
    from galsim_deep.cli import main

    assert main(["model", "train-flow", "image-flow-tiny"]) != 0
    assert "no latent flow; export it with `galsim-deep hub export" in capsys.readouterr().err
