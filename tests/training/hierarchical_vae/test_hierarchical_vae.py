"""The hierarchical-VAE family (issue 57, Andrianomena & Tang's VDVAE): the Gaussian KL and
the top-down block against numbers, the model's shapes and latent layout, the loss on a
fixed batch, the recipe checks, and the tiny recipe trained, resumed, scored by its ELBO,
exported and sampled through the API."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.core.errors import InputError  # noqa: E402
from galsim_deep.training.families import get_family  # noqa: E402
from galsim_deep.training.hierarchical_vae.networks import (  # noqa: E402
    ResBlock, TopDownBlock, gaussian_kl)
from galsim_deep.training.recipes import load_recipe  # noqa: E402

from tests.checks import (assert_resumes_to_the_same_weights, train_tiny_family,  # noqa: E402
                          trainable_weights)

FAMILY = get_family("hierarchical-vae")


def _normal_log_density(x, mean, std):
    return -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)


# --- the pieces -----------------------------------------------------------------------------

def test_gaussian_kl_is_the_closed_form_and_the_monte_carlo_mean():
    mq, sq, mp, sp = 0.3, 0.5, -0.4, 1.7
    kl = float(gaussian_kl(tf.constant(mq), tf.constant(sq), tf.constant(mp), tf.constant(sp)))
    closed = np.log(sp / sq) + (sq ** 2 + (mq - mp) ** 2) / (2 * sp ** 2) - 0.5
    np.testing.assert_allclose(kl, closed, rtol=1e-6)
    z = mq + sq * np.random.default_rng(0).normal(size=400_000)
    monte_carlo = np.mean(_normal_log_density(z, mq, sq) - _normal_log_density(z, mp, sp))
    np.testing.assert_allclose(kl, monte_carlo, atol=4e-3)  # MC error ~1e-3
    assert float(gaussian_kl(tf.constant(mq), tf.constant(sq), tf.constant(mq),
                             tf.constant(sq))) == pytest.approx(0.0, abs=1e-7)


def test_a_new_residual_block_is_the_identity_and_a_new_prior_is_standard():
    x = tf.random.stateless_normal([2, 8, 8, 6], seed=[1, 2])
    np.testing.assert_array_equal(ResBlock(3, 6, zero_last=True, seed=1)(x).numpy(), x.numpy())
    block = TopDownBlock(6, 3, latent=2, seed=4)
    mean, std, h = block.prior_of(x)
    np.testing.assert_array_equal(mean.numpy(), 0)
    np.testing.assert_array_equal(std.numpy(), 1)
    np.testing.assert_array_equal(h.numpy(), x.numpy())


def test_top_down_block_kl_is_that_of_its_posterior_against_its_prior():
    """The block's KL is gaussian_kl of the posterior and the prior it computes, summed
    over the latent, and the Monte Carlo mean of log q(z) - log p(z) over its own draws;
    without the encoder's activation z comes from the prior."""
    rng = np.random.default_rng(3)
    block = TopDownBlock(6, 3, latent=2, seed=5)
    h = tf.constant(rng.normal(size=(1, 4, 4, 6)), tf.float32)
    a = tf.constant(rng.normal(size=(1, 4, 4, 6)), tf.float32)
    block(h, a)
    # Give the prior non-trivial outputs (a new one is exactly N(0, 1)).
    block.prior.c4.kernel.assign(0.3 * rng.normal(size=block.prior.c4.kernel.shape))
    mean_p, std_p, _ = (t.numpy() for t in block.prior_of(h))
    mean_q, std_q = (t.numpy() for t in block.posterior_of(h, a))
    _, info = block(h, a)
    expected = np.sum(gaussian_kl(mean_q, std_q, mean_p, std_p).numpy())
    np.testing.assert_allclose(info["kl"].numpy()[0], expected, rtol=1e-5)
    eps = rng.normal(size=(20_000, *mean_q.shape[1:]))
    z = mean_q + std_q * eps
    monte_carlo = np.mean(np.sum(_normal_log_density(z, mean_q, std_q)
                                 - _normal_log_density(z, mean_p, std_p), axis=(1, 2, 3)))
    np.testing.assert_allclose(info["kl"].numpy()[0], monte_carlo, rtol=0.02)
    fixed = tf.constant(eps[:1], tf.float32)
    np.testing.assert_allclose(block(h, a, fixed)[1]["z"].numpy(), z[:1], rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(block(h, None, fixed)[1]["z"].numpy(),
                               mean_p + std_p * eps[:1], rtol=1e-5, atol=1e-5)


# --- the model ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model():
    return FAMILY.build(load_recipe("hierarchical-tiny"))


def test_shapes_and_latent_layout(tiny_model):
    model, recipe = tiny_model, load_recipe("hierarchical-tiny")
    assert model.latent_shapes == ((2, 2, 1), (4, 4, 1), (8, 8, 1))
    assert model.latent_size == FAMILY.latent_size(recipe) == 4 and model.lower_size == 80
    stamp = tf.random.stateless_normal([3, 32, 32], seed=[0, 1])
    psf = tf.fill([3, 32, 32], 1.0 / 1024)
    mean, std = model.encode(stamp, psf)
    assert mean.shape == std.shape == (3, 4) and np.all(std.numpy() > 0)
    out = model.autoencode(stamp, psf, tf.random.stateless_normal([3, 84], seed=[0, 2]))
    assert out["profile"].shape == (3, 32, 32) and np.all(out["profile"].numpy() >= 0)
    assert out["kl"].shape == (3, 3) and np.all(out["kl"].numpy() >= 0)
    # The top posterior of autoencode is encode's.
    np.testing.assert_allclose(out["mean"].numpy(), mean.numpy(), rtol=1e-6)
    z = tf.random.stateless_normal([3, 4], seed=[0, 3])
    assert model.decode(z).shape == (3, 32, 32)
    # No normals: each lower latent at its prior's mean.
    np.testing.assert_array_equal(model.decode(z).numpy(),
                                  model.decode(z, tf.zeros([3, 80])).numpy())
    other = model.decode(z, tf.random.stateless_normal([3, 80], seed=[0, 4])).numpy()
    assert np.all(other >= 0) and other.shape == (3, 32, 32)
    # Every latent's posterior mean, the top's first; a stamp's own, whatever its batch.
    latents = model.encode_latents(stamp, psf).numpy()
    assert latents.shape == (3, 84)
    np.testing.assert_allclose(latents[:, :4], mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.encode_latents(stamp[1:2], psf[1:2]).numpy()[0],
                               latents[1], rtol=1e-5, atol=1e-6)
    # the lower means move with the stamp (they carry what the top code does not)
    assert np.abs(latents[0, 4:] - latents[1, 4:]).max() > 1e-4


def test_elbo_is_the_negative_loss_without_free_bits(tiny_model, mock_dataset_path):
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.training.hierarchical_vae.losses import hierarchical_vae_loss

    with StampDataset(mock_dataset_path) as data:
        arrays = data.read(data.indices("train")[:4], ["stamp", "psf", "noise_variance"])
    batch = {k: tf.constant(v.astype(np.float32)) for k, v in arrays.items()}
    cfg = {**load_recipe("hierarchical-tiny")["hierarchical_vae"], "free_bits": 0.0,
           "tv_factor": 0.0}
    eps = tf.random.stateless_normal([4, 84], seed=[7, 0])
    terms = hierarchical_vae_loss(tiny_model, batch, eps, cfg)
    elbo = tiny_model.elbo(batch["stamp"], batch["psf"], batch["noise_variance"], seed=7)
    assert elbo.shape == (4,)
    np.testing.assert_allclose(elbo.numpy(), -terms["loss"].numpy(), rtol=1e-5)
    np.testing.assert_allclose(terms["kl"].numpy(), terms["kl_blocks"].numpy().sum(axis=1),
                               rtol=1e-6)
    # Free bits only raise the loss, block by block.
    bits = hierarchical_vae_loss(tiny_model, batch, eps, {**cfg, "free_bits": 1.0})["loss"]
    assert np.all(bits.numpy() >= terms["loss"].numpy())
    # lower_kl_weight scales the lower blocks' KL alone, not the top latent's.
    # (A large weight: the loss is ~1e4 nats in float32, the lower KL ~0.1.)
    heavy = hierarchical_vae_loss(tiny_model, batch, eps, {**cfg, "lower_kl_weight": 101.0})
    lower = terms["kl_blocks"].numpy()[:, 1:].sum(axis=1)
    assert np.all(lower > 0)
    np.testing.assert_allclose(heavy["loss"].numpy() - terms["loss"].numpy(), 100.0 * lower,
                               rtol=2e-3)
    # top_free_bits: the top latent's KL below it costs nothing, the lower blocks unchanged
    top = terms["kl_blocks"].numpy()[:, 0]
    roomy = hierarchical_vae_loss(tiny_model, batch, eps, {**cfg, "top_free_bits": 50.0})
    np.testing.assert_allclose(roomy["loss"].numpy() - terms["loss"].numpy(), 50.0 - top,
                               rtol=2e-3)
    # prior_path_weight adds the stamp's likelihood under the top code's own image, the
    # lower latents at their priors' means (the sampling path)
    from galsim_deep.training.flow_vae.losses import observation_terms

    path = hierarchical_vae_loss(tiny_model, batch, eps, {**cfg, "prior_path_weight": 2.0})
    fit = tiny_model.autoencode(batch["stamp"], batch["psf"], eps)
    z_top = fit["mean"] + fit["stddev"] * eps[:, :4]
    like = observation_terms(tiny_model.decode(z_top), batch["stamp"], batch["psf"],
                             batch["noise_variance"], cfg)
    np.testing.assert_allclose(path["loss"].numpy() - terms["loss"].numpy(),
                               -2.0 * like["log_likelihood"].numpy(), rtol=1e-3)
    np.testing.assert_allclose(path["prior_path_chi2"].numpy(), like["reduced_chi2"].numpy(),
                               rtol=1e-5)
    assert np.all(terms["prior_path_chi2"].numpy() == 0)
    # the warm-up: at step 0 the start weight, halfway between, then lower_kl_weight
    warm = {**cfg, "lower_kl_warmup": {"start_weight": 101.0, "steps": 10}}
    for step, weight in ((0, 101.0), (5, 51.0), (10, 1.0), (40, 1.0)):
        loss = hierarchical_vae_loss(tiny_model, batch, eps, warm, step=step)["loss"]
        np.testing.assert_allclose(loss.numpy() - terms["loss"].numpy(), (weight - 1) * lower,
                                   rtol=2e-3, atol=1e-3)


def test_lower_kl_weight_falls_linearly_over_the_warm_up():
    from galsim_deep.training.hierarchical_vae.losses import lower_kl_weight

    cfg = {"lower_kl_weight": 2.0, "lower_kl_warmup": {"start_weight": 10.0, "steps": 4}}
    assert [float(lower_kl_weight(cfg, s)) for s in (0, 1, 2, 4, 9)] == [10.0, 8.0, 6.0,
                                                                          2.0, 2.0]
    assert float(lower_kl_weight({"lower_kl_weight": 3.0}, 7)) == 3.0
    recipe = load_recipe("hierarchical-tiny")["hierarchical_vae"]
    assert recipe["top_free_bits"] is None and recipe["lower_kl_warmup"]["steps"] == 0
    assert recipe["prior_path_weight"] == 0.0


@pytest.mark.extended
@pytest.mark.slow
def test_loss_falls_over_steps_on_a_fixed_batch(mock_dataset_path):
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.training.flux_scale import initial_flux_scale
    from galsim_deep.training.hierarchical_vae.losses import hierarchical_vae_loss

    recipe = load_recipe("hierarchical-tiny")
    model = FAMILY.build(recipe)
    with StampDataset(mock_dataset_path) as data:
        model.flux_scale.assign(initial_flux_scale("auto", data))
        arrays = data.read(data.indices("train")[:8], ["stamp", "psf", "noise_variance"])
    batch = {k: tf.constant(v.astype(np.float32)) for k, v in arrays.items()}
    cfg = recipe["hierarchical_vae"]
    optimizer = tf.keras.optimizers.Adam(0.003)
    eps = tf.random.stateless_normal([8, 84], seed=[0, 0])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(hierarchical_vae_loss(model, batch, eps, cfg)["loss"])
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses = [float(step()) for _ in range(20)]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.9 * losses[0], losses


# --- recipes --------------------------------------------------------------------------------

def test_recipes_load_with_the_family_and_section():
    from galsim_deep.training.recipes import available_recipes

    for name, size in (("hierarchical-tiny", 4), ("hierarchical-mock-cosmos-25.2-64", 16)):
        recipe = load_recipe(name)
        assert recipe["family"] == "hierarchical-vae"
        assert FAMILY.latent_size(recipe) == size
    assert {"hierarchical-tiny", "hierarchical-mock-cosmos-25.2-64"} <= \
        set(available_recipes("hierarchical-vae"))


def test_a_misspelt_key_is_a_clear_error(tmp_path):
    import yaml

    from galsim_deep.training.recipes import RECIPE_DIR

    text = yaml.safe_load((RECIPE_DIR / "hierarchical-tiny.yaml").read_text())
    text["hierarchical_vae"]["latent_channel"] = [1, 1, 1, 0, 0]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(text))
    with pytest.raises(InputError, match="unknown key hierarchical_vae.latent_channel "
                                         "\\(known keys here: .*latent_channels"):
        load_recipe(path)


@pytest.mark.parametrize("override, message", [
    ("hierarchical_vae.encoder_blocks=[1, 1]", "one entry per stage each; got 2, 5 and 5"),
    ("hierarchical_vae.decoder_blocks=[1, 0, 1, 1, 1]", "decoder_blocks must be a list of "
                                                        "positive integers"),
    ("hierarchical_vae.latent_channels=[1, -1, 0, 0, 0]", "must be a list of integers >= 0"),
    ("hierarchical_vae.latent_channels=[0, 1, 1, 0, 0]", "latent_channels\\[0\\] must be >= 1"),
    ("dataset.stamp_size=24", "multiple of 2\\*\\*\\(stages - 1\\) = 16"),
    ("hierarchical_vae.width=0", "width must be an integer >= 1"),
    ("hierarchical_vae.optimizer.name=rmsprop", "name must be one of"),
    ("flow.refine_steps=10", "set flow.refine_steps: 0"),
    ("dataset.bands=[F814W, F606W]", "mono model: remove dataset.bands"),
])
def test_bad_recipe_keys_are_clear_errors(override, message):
    with pytest.raises(InputError, match=message):
        load_recipe("hierarchical-tiny", [override])


def test_a_one_number_top_latent_is_refused():
    with pytest.raises(InputError, match="top latent has 1 number"):
        load_recipe("hierarchical-tiny", ["hierarchical_vae.encoder_blocks=[1, 1, 1, 1, 1, 1]",
                                          "hierarchical_vae.decoder_blocks=[1, 1, 1, 1, 1, 1]",
                                          "hierarchical_vae.latent_channels=[1, 1, 1, 0, 0, 0]"])


# --- the tiny recipe end to end -------------------------------------------------------------

def _recipe(dataset, out, *extra):
    return load_recipe("hierarchical-tiny", [f"dataset.path={dataset}", f"output_dir={out}",
                                             *extra])


@pytest.fixture(scope="module")
def trained(mock_dataset_path, tmp_path_factory, restore_op_determinism):
    """The tiny recipe trained; its latent flow; its module."""
    from galsim_deep.training.hierarchical_vae.train import train_hierarchical_vae

    return train_tiny_family(FAMILY, train_hierarchical_vae,
                             lambda out: _recipe(mock_dataset_path, out),
                             tmp_path_factory.mktemp("hierarchical_tiny"))


@pytest.mark.slow
def test_tiny_recipe_trains(trained):
    log = trained["log"]
    assert log["steps"] == 6
    for key in ("loss", "reduced_chi2", "kl", "kl_top", "tv"):
        assert np.isfinite(log["metrics"][key]), key
    assert log["top_latent_size"] == 4 and log["lower_latent_size"] == 80


@pytest.mark.slow
@pytest.mark.extended
def test_an_interrupted_run_resumes_to_the_same_weights(trained, mock_dataset_path, tmp_path):
    from galsim_deep.training.hierarchical_vae.train import train_hierarchical_vae

    assert_resumes_to_the_same_weights(FAMILY, train_hierarchical_vae,
                                       lambda out: _recipe(mock_dataset_path, out),
                                       trained, tmp_path / "resumed")


@pytest.mark.slow
def test_elbo_per_galaxy_prefers_the_galaxies_to_their_scrambled_pixels(trained,
                                                                        mock_dataset_path):
    """A training stamp has a higher ELBO than the same pixels shuffled (same values, no
    galaxy) and than the galaxy 10 times brighter under the same noise.  (A stamp of pure
    noise, or a blank one, has a *higher* ELBO than a galaxy: the ELBO bounds the density
    of the pixels, and a dark sky is the likeliest stamp; docs/hierarchical_vae.rst.)"""
    from galsim_deep.data.reader import StampDataset

    model, _ = FAMILY.restore(trained["recipe"])
    with StampDataset(mock_dataset_path) as data:
        arrays = data.read(data.indices("train")[:8], ["stamp", "psf", "noise_variance"])
    stamp, psf, noise = (arrays[k].astype(np.float32)
                         for k in ("stamp", "psf", "noise_variance"))
    elbo = model.elbo(stamp, psf, noise, seed=1, samples=2).numpy()
    assert elbo.shape == (8,) and np.all(np.isfinite(elbo))
    np.testing.assert_array_equal(elbo, model.elbo(stamp, psf, noise, seed=1, samples=2))
    rng = np.random.default_rng(0)
    shuffled = rng.permuted(stamp.reshape(8, -1), axis=1).reshape(stamp.shape)
    assert np.all(elbo > model.elbo(shuffled, psf, noise, seed=1, samples=2).numpy())
    assert np.all(elbo > model.elbo(10 * stamp, psf, noise, seed=1, samples=2).numpy())


@pytest.mark.slow
def test_module_metadata_and_sample_signature(trained):
    """sample = decode(flow(normals[:, :4]), normals[:, 4:]); decode = sample with the lower
    normals 0."""
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.training.latent_flow import restore_flow

    meta = read_metadata(trained["module"])
    assert meta["family"] == "hierarchical-vae" and meta["sampling_kind"] == "mono"
    assert meta["latent_size"] == 84 and meta["hierarchical"]["code_size"] == 4
    assert meta["hierarchical"]["latent_shapes"] == [[2, 2, 1], [4, 4, 1], [8, 8, 1]]
    assert {"sample", "encode", "decode", "log_prob"} <= set(meta["signatures"])
    assert meta["signatures"]["encode"]["outputs"]["mean"]["shape"] == [None, 4]
    assert "sample" in meta["portable"]["signatures"]
    loaded = tf.saved_model.load(str(trained["module"]))
    n = 3
    conds = {"mag_auto": np.full(n, 21.0, np.float32),
             "flux_radius": np.full(n, 6.0, np.float32), "zphot": np.full(n, 0.5, np.float32)}
    normals = np.random.default_rng(0).normal(size=(n, 84)).astype(np.float32)
    normals[2, 4:] = 0
    image = loaded.signatures["sample"](**conds, random_normal=normals)["image"].numpy()
    assert image.shape == (n, 32, 32) and np.all(image >= 0) and image.sum() > 0
    flow, _ = restore_flow(trained["recipe"])
    model, _ = FAMILY.restore(trained["recipe"])
    z = flow.sample_from_normal(normals[:, :4], np.stack(list(conds.values()), axis=1))
    expected = model.decode(z, normals[:, 4:]).numpy()
    np.testing.assert_allclose(image, expected, rtol=1e-4, atol=1e-6 * image.max())
    decoded = loaded.signatures["decode"](z=z)["image"].numpy()
    np.testing.assert_allclose(decoded[2], image[2], rtol=1e-4, atol=1e-6 * image.max())


@pytest.mark.slow
def test_priors_only_training_moves_the_prior_networks_alone(trained, mock_dataset_path,
                                                             tmp_path):
    """``trainable: priors`` from a trained module: after two steps every prior network has
    moved and every other weight is the module's, bit for bit."""
    from galsim_deep.training.hierarchical_vae.train import (network_of_module,
                                                              train_hierarchical_vae,
                                                              trained_variables)

    recipe = _recipe(mock_dataset_path, tmp_path / "priors", "hierarchical_vae.trainable=priors",
                     "hierarchical_vae.steps=2")
    train_hierarchical_vae(recipe, progress=False, init_from=str(trained["module"]))
    before = network_of_module(trained["module"])
    after, _ = FAMILY.restore(recipe)
    priors = {v.name for v in trained_variables(after, "priors")}
    assert len(priors) == 16 and all("/prior/" in name for name in priors)
    moved = {a.name for a, b in zip(after.trainable_variables, before.trainable_variables)
             if not np.array_equal(a.numpy(), b.numpy())}
    assert moved == priors


def test_the_networks_of_another_familys_module_are_refused(monkeypatch, tmp_path):
    from galsim_deep.core import module_format
    from galsim_deep.core.errors import InputError
    from galsim_deep.training.hierarchical_vae.train import network_of_module

    monkeypatch.setattr(module_format, "read_metadata", lambda path: {"family": "flow-vae"})
    with pytest.raises(InputError, match="a 'flow-vae' module, not a hierarchical VAE's"):
        network_of_module(tmp_path)


@pytest.mark.slow
def test_the_networks_of_a_module_are_its_weights(trained, mock_dataset_path):
    """network_of_module rebuilds the module's networks: their encode is its signature's,
    and encode_latents gives every latent of the stamps (what the module does not export)."""
    from galsim_deep.data.reader import StampDataset
    from galsim_deep.training.hierarchical_vae.train import network_of_module

    model = network_of_module(trained["module"])
    with StampDataset(mock_dataset_path) as data:
        d = data.read(data.indices("all")[:5], ["stamp", "psf"])
    loaded = tf.saved_model.load(str(trained["module"]))
    mean = loaded.signatures["encode"](image=d["stamp"], psf=d["psf"])["mean"].numpy()
    latents = model.encode_latents(d["stamp"], d["psf"]).numpy()
    assert latents.shape == (5, 84)
    np.testing.assert_allclose(latents[:, :4], mean, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_samples_through_the_api_are_galsim_profiles_with_seeded_pixels(trained):
    galsim = pytest.importorskip("galsim")
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(str(trained["module"]))
    cat = {"mag_auto": np.array([21.0, 22.0]), "flux_radius": np.array([5.0, 6.0]),
           "zphot": np.array([0.5, 0.7])}
    gals = model.sample(cat, rng=galsim.BaseDeviate(3))
    from tests.checks import assert_samples_are_galsim_profiles

    assert_samples_are_galsim_profiles(model, gals, cat)
    first = np.concatenate(list(model.sample_arrays(cat, rng=5, rotate=False)))
    again = np.concatenate(list(model.sample_arrays(cat, rng=5, rotate=False, batch_size=1)))
    np.testing.assert_array_equal(first, again)
    other = np.concatenate(list(model.sample_arrays(cat, rng=6, rotate=False)))
    assert first.shape == (2, 32, 32) and np.all(first >= 0)
    assert not np.array_equal(first, other)


@pytest.mark.slow
def test_yaml_config_draws_the_apis_pixels(trained):
    """The GalSim YAML type samples the module as the API does, seed for seed."""
    galsim = pytest.importorskip("galsim")
    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.api.config import batching

    model = GenerativeGalaxyModel(str(trained["module"]))
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


def _stamps(dataset, n=8):
    from galsim_deep.data.reader import StampDataset

    with StampDataset(dataset) as data:
        arrays = data.read(data.indices("all")[:n], ["stamp", "psf", "noise_variance"])
    return tuple(arrays[k].astype(np.float32) for k in ("stamp", "psf", "noise_variance"))


@pytest.mark.slow
def test_elbo_signature_is_the_models_draw_and_the_api_averages_seeded_draws(
        trained, mock_dataset_path):
    """The module's ``elbo`` is the trained model's one-draw ELBO for the same normals; the
    API's ``elbo`` is seeded, the same whatever the batching, and the mean of its draws."""
    from galsim_deep import GenerativeGalaxyModel

    stamp, psf, noise = _stamps(mock_dataset_path)
    loaded = tf.saved_model.load(str(trained["module"]))
    normals = np.random.default_rng(2).normal(size=(8, 84)).astype(np.float32)
    signed = loaded.signatures["elbo"](image=stamp, psf=psf, noise_variance=noise,
                                       random_normal=normals)["elbo"].numpy()
    model, _ = FAMILY.restore(trained["recipe"])
    own = model.elbo_of_draw(stamp, psf, noise, normals,
                             trained["recipe"]["hierarchical_vae"]["convolution"]).numpy()
    np.testing.assert_allclose(signed, own, rtol=1e-5)

    gm = GenerativeGalaxyModel(str(trained["module"]))
    elbo = gm.elbo(stamp, psf, noise, seed=4)
    assert elbo.shape == (8,) and np.all(np.isfinite(elbo))
    parts = np.concatenate([gm.elbo(stamp[:5], psf[:5], noise[:5], seed=4),
                            gm.elbo(stamp[5:], psf[5:], noise[5:], seed=4, first_row=5)])
    np.testing.assert_array_equal(elbo, parts)
    assert not np.array_equal(elbo, gm.elbo(stamp, psf, noise, seed=5))
    # Two draws: the first is the one-draw ELBO's, the second another.
    second = 2 * gm.elbo(stamp, psf, noise, seed=4, samples=2) - elbo
    assert np.all(np.isfinite(second)) and not np.allclose(second, elbo)
    shuffled = np.random.default_rng(0).permuted(stamp.reshape(8, -1), axis=1)
    assert np.median(elbo) > np.median(gm.elbo(shuffled.reshape(stamp.shape), psf, noise))
    with pytest.raises(InputError, match="noise_variance must be finite and > 0"):
        gm.elbo(stamp, psf, np.zeros(8))
    with pytest.raises(InputError, match="samples must be >= 1"):
        gm.elbo(stamp, psf, noise, samples=0)


def test_a_module_without_an_elbo_says_so(tiny_module_path):
    from galsim_deep import GenerativeGalaxyModel

    gm = GenerativeGalaxyModel(str(tiny_module_path))
    s = gm.stamp_size
    with pytest.raises(InputError, match="elbo"):
        gm.elbo(np.zeros((1, s, s)), np.full((s, s), 1.0 / s ** 2), 1.0)


@pytest.mark.slow
def test_latent_tools_score_stamps_by_their_elbo(trained, tmp_path_factory, capsys):
    """``latent encode`` keeps each stamp's ELBO, ``latent anomalies --score elbo`` ranks by
    it, and ``validation latent`` scores the non-galaxy stamps by -ELBO beside -log p."""
    import json

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.cli import main
    from galsim_deep.data.build import build_dataset
    from galsim_deep.tools.latent.codes import read_codes

    tmp = tmp_path_factory.mktemp("hierarchical_latent")
    dataset = build_dataset("mock-cosmos", 48, tmp / "mock48.h5", stamp_size=32,
                            pixel_scale=0.03, seed=3, processes=1, progress=False, n_test=24)
    module = str(trained["module"])
    assert main(["latent", "encode", str(dataset), "--model", module, "--out",
                 str(tmp / "codes.h5"), "--chunk-size", "16", "--quiet"]) == 0
    codes = read_codes(tmp / "codes.h5")
    stamp, psf, noise = _stamps(dataset, 48)
    np.testing.assert_array_equal(codes.elbo, GenerativeGalaxyModel(module).elbo(stamp, psf,
                                                                                 noise))
    capsys.readouterr()
    assert main(["latent", "anomalies", "--codes", str(tmp / "codes.h5"), "-n", "3",
                 "--score", "elbo", "--out", str(tmp / "elbo.png"), "--json"]) == 0
    ranked = json.loads(capsys.readouterr().out)
    assert ranked["most_anomalous"] == codes.indices[np.argsort(codes.elbo)[:3]].tolist()

    out = tmp / "report"
    assert main(["validation", "latent", "--model", module, "--dataset", str(dataset), "--out",
                 str(out), "--flow-steps", "20", "--n-non-galaxy", "6", "--held-out-classes",
                 "spheroid", "-k", "5", "--quiet"]) == 0
    assert "non-galaxy AUROC by -ELBO star" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    for v in report["non_galaxy"].values():
        assert 0 <= v["auroc_elbo"] <= 1 and np.isfinite(v["median_neg_elbo"])
    assert (out / "non_galaxy_roc_elbo.png").stat().st_size > 5000
    assert "AUROC, -ELBO" in (out / "report.md").read_text()


@pytest.mark.slow
def test_warm_start_from_a_module_copies_every_weight(trained):
    """``--init-from`` a hierarchical-VAE module: a new model of the same sizes takes its
    networks' weights."""
    from types import SimpleNamespace

    from galsim_deep.training.loop import warm_start

    model = FAMILY.build(trained["recipe"])
    spec = FAMILY.trainer().warm_start(trained["recipe"], SimpleNamespace(model=model),
                                       trained["module"])
    warm_start(spec["objects"], spec["source"])
    source, _ = FAMILY.restore(trained["recipe"])
    for a, b in zip(trainable_weights(source), trainable_weights(model)):
        np.testing.assert_array_equal(a, b)
    assert float(model.flux_scale.numpy()) == float(source.flux_scale.numpy())


def test_a_latents_standard_deviation_is_bounded_and_starts_at_one():
    """exp of the network's output clipped to LOG_STD_RANGE: 1 at 0 (a new block), finite
    and positive however far the output runs."""
    from galsim_deep.training.hierarchical_vae.networks import LOG_STD_RANGE, _std

    out = _std(tf.constant([0.0, -1e4, 1e4, 1.5])).numpy()
    np.testing.assert_allclose(out, [1.0, np.exp(LOG_STD_RANGE[0]), np.exp(LOG_STD_RANGE[1]),
                                     np.exp(1.5)], rtol=1e-6)
