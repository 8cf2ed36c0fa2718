"""The equivariant-VAE family (issue 57): the rotation op, the pose network's equivariance,
the recipe checks, and the tiny recipe trained, resumed, exported and sampled through the
API and a GalSim YAML config."""
import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.training.equivariant_vae import rotation  # noqa: E402
from galsim_deep.training.equivariant_vae.networks import (MomentPose, PoseNetwork,  # noqa: E402
                                                            half_angle)
from galsim_deep.training.equivariant_vae.train import labelled_positions  # noqa: E402
from galsim_deep.training.families import get_family  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402

from tests.checks import (assert_resumes_to_the_same_weights, train_tiny_family,  # noqa: E402
                          trainable_weights)

FAMILY = get_family("equivariant-vae")


def _gaussian(size, beta, a=4.0, b=2.0, centre=None):
    """An elliptical Gaussian (sigmas ``a``, ``b`` pixels) whose major axis is at ``beta``
    radians counter-clockwise from +x, peak 1, on an ``[S, S]`` grid about ``centre``."""
    centre = (size - 1) / 2 if centre is None else centre
    y, x = np.mgrid[:size, :size] - centre
    u = np.cos(beta) * x + np.sin(beta) * y
    v = -np.sin(beta) * x + np.cos(beta) * y
    return np.exp(-0.5 * ((u / a) ** 2 + (v / b) ** 2)).astype(np.float32)


def _inner(size, margin=2):
    """Pixels inside the disc of radius ``S / 2 - margin`` (away from the corners)."""
    y, x = np.mgrid[:size, :size] - (size - 1) / 2
    return x ** 2 + y ** 2 < (size / 2 - margin) ** 2


def _turn(images, angle, interpolant):
    c = rotation.galaxy_centre(images.shape[-1])
    angle = np.broadcast_to(np.float32(angle), (len(images),))
    return rotation.rotate_by(images, angle, c, interpolant).numpy()


# Peak-relative tolerances measured on the 4 x 2 pixel Gaussian (bilinear: 0.033 and 0.059
# round trip; cubic: 0.0033 and 0.0061), with a margin.
TOLERANCE = {"bilinear": (0.04, 0.07), "cubic": (0.005, 0.008)}


@pytest.mark.parametrize("interpolant", ["bilinear", "cubic"])
@pytest.mark.parametrize("theta", [0.3, math.pi / 4, 1.2, 2.5, -2.0])
def test_rotating_an_elliptical_gaussian_gives_the_analytic_one(interpolant, theta):
    stamp = _gaussian(32, 0.4)[None]
    turned = _turn(stamp, theta, interpolant)[0]
    expected = _gaussian(32, 0.4 + theta)
    assert np.abs(turned - expected).max() < TOLERANCE[interpolant][0]
    np.testing.assert_allclose(turned.sum(), expected.sum(), rtol=1e-3)  # the flux stays


@pytest.mark.parametrize("interpolant", ["bilinear", "cubic"])
@pytest.mark.parametrize("theta", [0.3, math.pi / 4, 1.2, 2.5, -2.0])
def test_rotating_by_theta_then_minus_theta_returns_the_stamp(interpolant, theta):
    rng = np.random.default_rng(1)
    stamp = _gaussian(32, rng.uniform(0, math.pi), a=rng.uniform(3, 5), b=2.0)[None]
    back = _turn(_turn(stamp, theta, interpolant), -theta, interpolant)[0]
    inner = _inner(32)
    assert np.abs(back - stamp[0])[inner].max() < TOLERANCE[interpolant][1]


@pytest.mark.parametrize("interpolant", ["bilinear", "cubic"])
def test_quarter_turns_are_exact_and_counter_clockwise_as_the_engines(interpolant):
    """+90 degrees is numpy's rot90 from +x towards +y, the engine's convention
    (:func:`galsim_deep.engine.rotate_stamps`)."""
    image = np.random.default_rng(0).uniform(size=(2, 16, 16)).astype(np.float32)
    turned = _turn(image, math.pi / 2, interpolant)
    np.testing.assert_allclose(turned, np.rot90(image, 1, axes=(2, 1)), atol=1e-5)
    np.testing.assert_allclose(_turn(image, 0.0, interpolant), image, atol=1e-6)


def test_rotation_has_gradients_in_the_pixels_and_the_angle():
    stamp = tf.constant(_gaussian(32, 0.2)[None])
    angle = tf.Variable([0.5])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(stamp)
        total = tf.reduce_sum(tf.square(rotation.rotate_by(stamp, angle, 15.5, "cubic")
                                        - _gaussian(32, 1.0)[None]))
    d_angle = float(tape.gradient(total, angle)[0])
    assert np.all(np.isfinite(tape.gradient(total, stamp).numpy()))
    h = 1e-3

    def at(a):
        return float(tf.reduce_sum(tf.square(rotation.rotate_by(stamp, [a], 15.5, "cubic")
                                             - _gaussian(32, 1.0)[None])))
    assert d_angle < 0  # turning towards 1.0 rad lowers the difference
    np.testing.assert_allclose(d_angle, (at(0.5 + h) - at(0.5 - h)) / (2 * h), rtol=0.05)


def test_polar_resampling_turns_a_rotation_into_a_cyclic_shift():
    k, m = 16, 3
    stamp = _gaussian(32, 0.3, a=5.0, b=2.0)[None]
    turned = _turn(stamp, 2 * math.pi * m / k, "cubic")
    polar = rotation.polar_resample(stamp, k, 6, "cubic").numpy()[0]
    shifted = rotation.polar_resample(turned, k, 6, "cubic").numpy()[0]
    np.testing.assert_allclose(shifted, np.roll(polar, m, axis=0), atol=0.01)


def test_half_angle_is_exact_and_its_gradient_is_damped():
    c, s = tf.Variable([0.0, 1e-6, 0.5]), tf.Variable([1.0, 1e-6, -0.5])
    with tf.GradientTape() as tape:
        cos, sin, angle = half_angle(c, s, 0.01)
        total = tf.reduce_sum(angle)
    np.testing.assert_allclose(angle.numpy(), 0.5 * np.arctan2(s.numpy(), c.numpy()),
                               rtol=1e-6)
    np.testing.assert_allclose(cos.numpy() ** 2 + sin.numpy() ** 2, 1, rtol=1e-6)
    grads = [g.numpy() for g in tape.gradient(total, [c, s])]
    assert all(np.all(np.abs(g) < 1.0 / 0.01 ** 2) for g in grads)  # not 1 / 1e-12


def _pose_error(angles, turns):
    """Pose differences from the first stamp's less the turns, modulo pi, in degrees."""
    diff = np.asarray(angles) - angles[0] - np.asarray(turns)
    return np.degrees(np.angle(np.exp(2j * diff)) / 2)


@pytest.mark.parametrize("interpolant", ["bilinear", "cubic"])
def test_pose_network_is_equivariant_by_construction(interpolant):
    """Untrained (random weights): an analytic galaxy turned by a has its pose moved by a,
    modulo pi (a half turn leaves it unchanged)."""
    net = PoseNetwork(32, n_angles=16, n_radii=6, depth=4, n_layers=2, seed=3,
                      interpolant=interpolant)
    turns = np.array([0.0, 0.1, 0.3, math.pi / 8, 0.9, 1.7, 2.6, -1.0, math.pi])
    stamps = np.stack([3.0 * _gaussian(32, 0.4 + a, a=5.0, b=2.0) for a in turns])
    out = net(stamps)
    assert np.all(out["strength"].numpy() > 0.01)
    errors = _pose_error(out["angle"].numpy(), turns)
    assert np.abs(errors).max() < 1.0, errors
    assert np.all(np.abs(out["angle"].numpy()) <= math.pi / 2 + 1e-6)


@pytest.mark.parametrize("beta", [0.0, 0.4, -1.2, 1.5])
def test_moment_pose_is_the_major_axis_and_turns_with_the_stamp(beta):
    """The weighted moments' angle of an elliptical Gaussian is its major axis (modulo
    pi, to 0.2 degrees on the pixel grid), turns follow it, and a round stamp has
    strength 0 where an elongated one has its ellipticity."""
    pose = MomentPose(48, weight_radius=6.0)
    turns = np.array([0.0, 0.3, 1.1, math.pi / 2, 2.9])
    stamps = np.stack([_gaussian(48, beta + a, a=5.0, b=2.5) for a in turns])
    out = pose(stamps)
    truth = np.degrees(np.angle(np.exp(2j * (out["angle"].numpy() - beta - turns))) / 2)
    assert np.abs(truth).max() < 0.2, truth
    assert np.all(np.abs(out["angle"].numpy()) <= math.pi / 2 + 1e-6)
    round_ = pose(_gaussian(48, 0.0, a=3.0, b=3.0)[None])["strength"].numpy()[0]
    assert round_ < 1e-4 < 0.3 < out["strength"].numpy().min() < 0.9
    assert pose.trainable_variables == []


def test_labelled_galaxies_are_a_seeded_nested_choice():
    one, ten, every = (labelled_positions(5000, f, seed=0) for f in (0.01, 0.1, 1.0))
    assert (len(one), len(ten), len(every)) == (50, 500, 5000)
    assert set(one) <= set(ten) <= set(every)
    np.testing.assert_array_equal(one, labelled_positions(5000, 0.01, seed=0))
    assert not np.array_equal(one, labelled_positions(5000, 0.01, seed=1))
    assert len(labelled_positions(20, 0.01, seed=0)) == 1  # at least one
    assert len(labelled_positions(20, 0.0, seed=0)) == 0


def test_a_misspelt_key_is_a_clear_error(tmp_path):
    import yaml

    from galsim_deep.training.recipes import RECIPE_DIR

    text = yaml.safe_load((RECIPE_DIR / "equivariant-tiny.yaml").read_text())
    text["equivariant_vae"]["labeled_fraction"] = 0.1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(text))
    with pytest.raises(InputError, match="unknown key equivariant_vae.labeled_fraction "
                                         "\\(known keys here: .*labelled_fraction"):
        load_recipe(path)


@pytest.mark.parametrize("override, message", [
    ("equivariant_vae.labelled_fraction=1.5", "labelled_fraction must be a number"),
    ("equivariant_vae.interpolant=lanczos", "interpolant must be one of"),
    ("equivariant_vae.pose_angles=4", "pose_angles must be an integer >= 8"),
    ("equivariant_vae.pose_radii=20", "pose_radii 20 is more than half the stamp"),
    ("equivariant_vae.n_stages=6", "must be a multiple of 2\\*\\*equivariant_vae.n_stages"),
    ("dataset.bands=[F814W, F606W]", "mono model: remove dataset.bands"),
])
def test_bad_recipe_keys_are_clear_errors(override, message):
    with pytest.raises(InputError, match=message):
        load_recipe("equivariant-tiny", [override])


def test_the_classifier_needs_labels_unless_no_galaxy_is_labelled():
    from types import SimpleNamespace

    from galsim_deep.training.equivariant_vae.train import _check_labels

    unlabelled = SimpleNamespace(fields=("stamp", "psf", "conditions"), class_names=[])
    with pytest.raises(InputError, match="lacks .*labelled_fraction: 0"):
        _check_labels(load_recipe("equivariant-tiny"), unlabelled)
    _check_labels(load_recipe("equivariant-tiny", ["equivariant_vae.labelled_fraction=0"]),
                  unlabelled)
    seven = SimpleNamespace(fields=("label",), class_names=list("abcdefg"))
    with pytest.raises(InputError, match="n_classes is 6; set it to 7"):
        _check_labels(load_recipe("equivariant-tiny"), seven)


def test_recipes_load_with_the_family_and_section():
    for name in ("equivariant-tiny", "equivariant-mock-cosmos-25.2-64"):
        recipe = load_recipe(name)
        assert recipe["family"] == "equivariant-vae"
        assert FAMILY.latent_size(recipe) == recipe["equivariant_vae"]["latent_size"]
    from galsim_deep.training.recipes import available_recipes

    assert "equivariant-tiny" in available_recipes("equivariant-vae")


# --- the tiny recipe end to end -------------------------------------------------------------

def _recipe(dataset, out, *extra):
    return load_recipe("equivariant-tiny", [f"dataset.path={dataset}", f"output_dir={out}",
                                            *extra])


@pytest.fixture(scope="module")
def trained(mock_dataset_path, tmp_path_factory, restore_op_determinism):
    """The tiny recipe trained; its latent flow; its module."""
    from galsim_deep.training.equivariant_vae.train import train_equivariant_vae

    return train_tiny_family(FAMILY, train_equivariant_vae,
                             lambda out: _recipe(mock_dataset_path, out),
                             tmp_path_factory.mktemp("equivariant_tiny"))


@pytest.mark.slow
def test_tiny_recipe_trains(trained):
    log = trained["log"]
    assert log["steps"] == 6
    for key in ("reduced_chi2", "kl", "class_nll", "class_accuracy", "pose_strength"):
        assert np.isfinite(log["metrics"][key]), key
    assert log["labelled_count"] == log["metrics"]["labelled_count"] > 0


@pytest.mark.slow
@pytest.mark.extended
def test_an_interrupted_run_resumes_to_the_same_weights(trained, mock_dataset_path, tmp_path):
    from galsim_deep.training.equivariant_vae.train import train_equivariant_vae

    assert_resumes_to_the_same_weights(FAMILY, train_equivariant_vae,
                                       lambda out: _recipe(mock_dataset_path, out),
                                       trained, tmp_path / "resumed")


@pytest.mark.slow
def test_module_metadata_and_signatures(trained):
    from galsim_deep.core.module_format import read_metadata

    meta = read_metadata(trained["module"])
    assert meta["family"] == "equivariant-vae" and meta["sampling_kind"] == "mono"
    assert meta["latent_size"] == 5 and meta["equivariant"]["code_size"] == 4
    assert meta["equivariant"]["class_names"][0] == "spheroid"
    assert {"sample", "encode", "decode", "log_prob", "classify", "pose"} <= \
        set(meta["signatures"])
    assert meta["signatures"]["encode"]["outputs"]["mean"]["shape"] == [None, 4]
    assert "sample" in meta["portable"]["signatures"]  # tf2onnx converts it


@pytest.mark.slow
def test_sample_turns_the_canonical_galaxy_by_the_last_normal(trained):
    """sample = rotate(decode(flow(normals[:, :4])), 2 pi Phi(normals[:, 4])): the pose is
    the last normal's and nothing else."""
    from galsim_deep.training.equivariant_vae.module import pose_from_normal
    from galsim_deep.training.latent_flow import restore_flow

    loaded = tf.saved_model.load(str(trained["module"]))
    n = 4
    conds = {"mag_auto": np.full(n, 21.0, np.float32),
             "flux_radius": np.full(n, 6.0, np.float32), "zphot": np.full(n, 0.5, np.float32)}
    normals = np.tile(np.random.default_rng(0).normal(size=(1, 5)), (n, 1)).astype(np.float32)
    normals[:, 4] = [-1.0, 0.0, 0.5, 1.5]
    image = loaded.signatures["sample"](**conds, random_normal=normals)["image"].numpy()
    assert image.shape == (n, 32, 32) and np.all(image >= 0) and image.sum() > 0
    flow, _ = restore_flow(trained["recipe"])
    model, _ = FAMILY.restore(trained["recipe"])
    z = flow.sample_from_normal(normals[:, :4], np.stack(list(conds.values()), axis=1))
    angle = pose_from_normal(normals[:, 4]).numpy()
    np.testing.assert_allclose(angle[1], math.pi, rtol=1e-6)
    expected = model.decode_posed(z, angle).numpy()
    np.testing.assert_allclose(image, expected, rtol=1e-4, atol=1e-6 * image.max())
    canonical = loaded.signatures["decode"](z=z)["image"].numpy()
    np.testing.assert_allclose(canonical[0], canonical[3], rtol=1e-5)  # one code, four poses
    probabilities = loaded.signatures["classify"](
        image=image, psf=np.full_like(image, 1 / 1024))["probabilities"].numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


@pytest.mark.slow
def test_samples_through_the_api_and_yaml_with_the_same_pixels(trained):
    galsim = pytest.importorskip("galsim")
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.api.config import batching

    model = GenerativeGalaxyModel(str(trained["module"]))
    cat = {"mag_auto": np.array([21.0, 22.0]), "flux_radius": np.array([5.0, 6.0]),
           "zphot": np.array([0.5, 0.7])}
    gals = model.sample(cat, rng=galsim.BaseDeviate(3))
    from tests.checks import assert_samples_are_galsim_profiles

    assert_samples_are_galsim_profiles(model, gals, cat)
    # rotate=False: each galaxy in the pose its own network drew (turned by the engine's
    # rotation: test_the_engine_turns_the_canonical_galaxy_once_by_its_pose); same seed,
    # same pixels.
    first = np.concatenate(list(model.sample_arrays(cat, rng=5, rotate=False)))
    again = np.concatenate(list(model.sample_arrays(cat, rng=5, rotate=False, batch_size=1)))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (2, 32, 32) and np.isfinite(first).all() and first.sum() > 0

    row = {"flux_radius": [4.0], "mag_auto": [22.0], "zphot": [1.0]}
    (plain,) = model.sample(row, rng=7, rotate=False)
    cfg = {"gal": {"type": "GenerativeModelGalaxy", "flux_radius": 4.0, "mag_auto": 22.0,
                   "zphot": 1.0, "random_rotation": False},
           "image": {"type": "Single", "size": 32, "pixel_scale": 0.03, "random_seed": 7},
           "stamp": {"draw_method": "no_pixel"},
           "input": {"generative_model": {"file_name": str(trained["module"]),
                                          "batch_size": 4}}}
    batching._GROUPS.clear()
    built = galsim.config.BuildImage(cfg).array
    drawn = plain.drawImage(nx=32, ny=32, scale=0.03, method="no_pixel").array
    np.testing.assert_allclose(built, drawn, rtol=0, atol=1e-6 * drawn.max())


def _code_changes(encode, stamps, psfs, turns):
    """Per turn and stamp: the largest change of a code when the stamp and its PSF are
    turned, the smaller of the changes from the stamp's code and from its half-turned
    copy's (the pose is defined modulo pi, so a turn may bring the canonical stamp back
    half turned)."""
    def turned(angle):
        angle = np.full(len(stamps), angle, np.float32)
        return (rotation.rotate_by(stamps, angle, rotation.galaxy_centre(stamps.shape[-1]),
                                   "cubic").numpy(),
                rotation.rotate_by(psfs, angle, rotation.psf_centre(psfs.shape[-1]),
                                   "cubic").numpy())
    base, half = encode(stamps, psfs), encode(*turned(math.pi))
    changes = []
    for turn in turns:
        code = encode(*turned(turn))
        changes.append(np.minimum(np.abs(code - base).max(axis=1),
                                  np.abs(code - half).max(axis=1)))
    return np.array(changes)


@pytest.mark.extended
@pytest.mark.slow
def test_codes_are_pose_free_unlike_the_flow_vaes(trained, mock_dataset_path,
                                                   tiny_flow_vae_module_path):
    """Turned by quarter turns (exact resamplings, and whole steps of the pose network's
    polar grid) a stamp keeps its code to float rounding; turned by 30 and 75 degrees (the
    interpolation then changes its noise, and the pose is equivariant to the interpolation's
    accuracy) its code moves much less than the Flow-VAE's."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.reader import StampDataset

    with StampDataset(mock_dataset_path) as data:
        arrays = data.read(data.indices("train")[:8], ["stamp", "psf"])
    stamps, psfs = arrays["stamp"].astype(np.float32), arrays["psf"].astype(np.float32)
    ours = GenerativeGalaxyModel(str(trained["module"]))
    theirs = GenerativeGalaxyModel(str(tiny_flow_vae_module_path))
    quarter, other = np.radians([90.0, 270.0]), np.radians([30.0, 75.0])
    for turns, ratio in ((quarter, 0.02), (other, 0.5)):
        equivariant = _code_changes(lambda s, p: ours.encode(s, p)[0], stamps, psfs, turns)
        flow_vae = _code_changes(lambda s, p: theirs.encode(s, p)[0], stamps, psfs, turns)
        assert np.median(equivariant) < ratio * np.median(flow_vae), (equivariant, flow_vae)
    assert _code_changes(lambda s, p: ours.encode(s, p)[0], stamps, psfs, quarter).max() < 1e-3


# A variant of the tiny recipe's run (its MomentPose, stamp_frame_decoder and pose-free
# codes have their own tests in CI).
@pytest.mark.extended
def test_a_moments_pose_model_without_labels_trains_exports_and_is_pose_free(
        mock_dataset_path, tmp_path, restore_op_determinism):
    """``pose: moments`` and no labelled galaxies (the default's pose-free fine-tune,
    recipe pose-mock-cosmos-25.2-64): it trains without classifier steps, its flow's codes
    are refined through each stamp's pose, its module records the estimator, and a stamp
    turned by quarter turns keeps its code."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.training.equivariant_vae.train import train_equivariant_vae

    from galsim_deep.training.latent_flow import train_latent_flow

    recipe = _recipe(mock_dataset_path, tmp_path / "run", "equivariant_vae.pose=moments",
                     "equivariant_vae.labelled_fraction=0", "flow.refine_steps=2")
    log = train_equivariant_vae(recipe, progress=False)
    assert log["steps"] == 6 and log["labelled_count"] == 0
    assert np.isfinite(log["metrics"]["pose_strength"])
    train_latent_flow(recipe, progress=False)  # its codes refined through the stamps' poses
    out = {"module": FAMILY.export(recipe, tmp_path / "module", portable=False)}
    assert read_metadata(out["module"])["equivariant"]["pose_estimator"] == "moments"
    with StampDataset(mock_dataset_path) as data:
        arrays = data.read(data.indices("train")[:6], ["stamp", "psf"])
    stamps, psfs = arrays["stamp"].astype(np.float32), arrays["psf"].astype(np.float32)
    model = GenerativeGalaxyModel(str(out["module"]))
    changes = _code_changes(lambda st, ps: model.encode(st, ps)[0], stamps, psfs,
                            np.radians([90.0, 270.0]))
    assert changes.max() < 1e-3, changes


@pytest.mark.slow
def test_the_engine_turns_the_canonical_galaxy_once_by_its_pose(trained):
    """The engine asks the module for its canonical galaxy and turns it by the pose its
    ``sample`` would give (2 pi Phi of the last normal) with its own rotation: with
    rotate=False the arrays are the module's canonical stamps turned by that pose alone,
    and a rotated row adds its drawn angle to it (the turn kept in [0, 2 pi))."""
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.engine import rotate_stamps, rotated_size
    from galsim_deep.engine.random_draws import galaxy_draws
    from galsim_deep.engine.kinds.base import CANONICAL_POSE_NORMAL
    from galsim_deep.training.equivariant_vae.module import pose_from_normal

    model = GenerativeGalaxyModel(str(trained["module"]))
    cat = {"mag_auto": np.array([21.0, 22.5]), "flux_radius": np.array([5.0, 6.0]),
           "zphot": np.array([0.5, 0.7])}
    (batch,) = list(model.batches(cat, rng=5, rotate=False))
    normals, angles = galaxy_draws(batch.seeds, model.kind.latent_size)
    pose = pose_from_normal(normals[:, -1]).numpy()
    np.testing.assert_allclose(batch.angles, pose, rtol=1e-6)
    canonical = normals.copy()
    canonical[:, -1] = CANONICAL_POSE_NORMAL
    sample = model.kind.network.run_blocks("sample", model.kind.signature_inputs(
        {q: np.asarray(v, np.float32) for q, v in cat.items()}, canonical)[1], 0)["image"]
    np.testing.assert_allclose(batch.stamps, sample, rtol=1e-6, atol=1e-9)
    turned = rotate_stamps(sample, pose)
    margin = (rotated_size(32) - 32) // 2
    np.testing.assert_allclose(next(iter(model.sample_arrays(cat, rng=5, rotate=False))),
                               turned[:, margin:margin + 32, margin:margin + 32],
                               rtol=0, atol=1e-5 * turned.max())
    (rotated,) = list(model.batches(cat, rng=5))
    np.testing.assert_allclose(rotated.angles, np.mod(angles + pose, 2 * np.pi), rtol=1e-6)


@pytest.mark.slow
@pytest.mark.extended  # a variant of the warm start the Flow-VAE's tests run in CI
def test_warm_start_from_a_flow_vae_module_copies_its_autoencoder(tiny_flow_vae_recipe,
                                                                  tiny_flow_vae_module_path):
    """The tiny Flow-VAE has the tiny equivariant recipe's autoencoder sizes: its module's
    encoder and decoder become the equivariant model's (``--init-from``)."""
    from types import SimpleNamespace

    from galsim_deep.training.loop import warm_start

    recipe = load_recipe("equivariant-tiny")
    model = FAMILY.build(recipe)
    spec = FAMILY.trainer().warm_start(recipe, SimpleNamespace(model=model),
                                       tiny_flow_vae_module_path)
    warm_start(spec["objects"], spec["source"])
    source, _ = get_family("flow-vae").restore(tiny_flow_vae_recipe)
    for a, b in zip(source.trainable_variables, model.vae.trainable_variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.extended
@pytest.mark.slow
def test_joint_coupling_trains_the_head_in_the_vae_step_and_resumes(mock_dataset_path, tmp_path,
                                                                     restore_op_determinism):
    """``classifier_coupling: joint``: the ELBO plus the weighted class NLL in one step, the
    classifier's optimizer holding the head alone, so the head moves, and an interrupted run
    resumes to the straight run's weights."""
    from galsim_deep.training.equivariant_vae.train import train_equivariant_vae

    joint = ("equivariant_vae.classifier_coupling=joint",)
    recipe = _recipe(mock_dataset_path, tmp_path / "joint", *joint)
    start = [v.numpy() for v in FAMILY.build(recipe).classifier.trainable_variables]
    log = train_equivariant_vae(recipe, progress=False)
    assert np.isfinite(log["metrics"]["class_nll"]) and log["metrics"]["class_nll"] > 0
    trainer = FAMILY.trainer()
    held = trainer.create_state(recipe).optimizers["classifier_optimizer"].variables
    assert sum(int(np.prod(v.shape)) for v in held) == 1 + 2 * sum(
        int(np.prod(v.shape)) for v in FAMILY.build(recipe).classifier.trainable_variables)
    model = FAMILY.restore(recipe)[0]
    moved = [np.abs(a - b.numpy()).max() for a, b in
             zip(start, model.classifier.trainable_variables)]
    assert min(moved) > 0, moved
    resumed = _recipe(mock_dataset_path, tmp_path / "resumed", *joint)
    train_equivariant_vae(resumed, progress=False, stop_at=3)
    train_equivariant_vae(resumed, progress=False)
    for a, b in zip(trainable_weights(model), trainable_weights(FAMILY.restore(resumed)[0])):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_fit_on_labels_starts_from_the_runs_encoder_with_a_fresh_head(trained):
    from research.classes.semi_supervised import fit_on_labels

    recipe = trained["recipe"]
    run, _ = FAMILY.restore(recipe)
    bank = {"stamp": np.zeros((4, 32, 32), np.float32), "psf": np.zeros((4, 32, 32), np.float32),
            "label": np.arange(4) % 2}
    model = fit_on_labels(recipe, bank, 0, 0, 0.5, start=run)
    for mine, theirs in ((model.pose, run.pose), (model.vae.encoder, run.vae.encoder)):
        for a, b in zip(mine.variables, theirs.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    fresh = FAMILY.build(recipe).classifier.variables
    for a, b in zip(model.classifier.variables, fresh):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(model.flux_scale.numpy()) == 0.5


@pytest.mark.extended
@pytest.mark.slow
def test_semi_supervised_table_rows_resume_and_reproduce(trained, tiny_flow_vae_module_path,
                                                         tmp_path, monkeypatch):
    """Every row at every fraction, accuracies with binomial errors, a figure; a rerun
    skips the finished rows, and a fresh folder gives the same numbers."""
    from research.classes import semi_supervised as semi

    recipe = trained["recipe"]
    result = semi.semi_supervised_test(recipe, tmp_path / "a", fractions=(0.5, 1.0), steps=3,
                                       reference=str(tiny_flow_vae_module_path),
                                       progress=False)
    assert set(result["rows"]) == set(semi.ROWS)
    for row in ("supervised", "two_step", "probe_own", "probe_reference"):
        assert set(result["rows"][row]) == {"0.5", "1.0"}
    for got in (g for row in result["rows"].values() for g in row.values()):
        p = got["accuracy"]
        assert 0 <= p <= 1 and got["error"] == pytest.approx(np.sqrt(p * (1 - p) /
                                                                     got["n_test"]))
    assert result["rows"]["supervised"]["0.5"]["n_train"] < \
        result["rows"]["supervised"]["1.0"]["n_train"]
    assert (tmp_path / "a" / "semi_supervised.png").stat().st_size > 0
    with monkeypatch.context() as patch:   # (undo() would also undo the isolated cache)
        patch.setattr(semi, "fit_on_labels", lambda *a, **k: pytest.fail("refitted"))
        assert semi.semi_supervised_test(recipe, tmp_path / "a", fractions=(0.5, 1.0),
                                         steps=3, reference=str(tiny_flow_vae_module_path),
                                         progress=False)["rows"] == result["rows"]
    again = semi.semi_supervised_test(recipe, tmp_path / "b", fractions=(0.5,), steps=3,
                                      reference=None, progress=False)
    assert again["rows"]["two_step"]["0.5"] == result["rows"]["two_step"]["0.5"]
    with pytest.raises(InputError, match=r"fractions must be in \(0, 1\]"):
        semi.semi_supervised_test(recipe, tmp_path / "c", fractions=(0.0,), progress=False)
