"""Tests of the Flow-VAE pieces: networks, transverse connections, losses, optimizer schedule."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.physics import forward_model as physics  # noqa: E402
from galsim_deep.training.flow_vae import losses  # noqa: E402
from galsim_deep.training.flow_vae.autoencoder import FlowVAE  # noqa: E402
from galsim_deep.training.flow_vae.networks import (Decoder, ResidualBlock,  # noqa: E402
                                                    mix_transverse)
from galsim_deep.training.flux_scale import auto_flux_scale  # noqa: E402
from galsim_deep.training.resnet import stage_depths  # noqa: E402
from galsim_deep.training.optim import SqrtDecay, make_optimizer  # noqa: E402

S, L = 16, 4
CONFIG = dict(likelihood="pixel", convolution="zero", free_bits=0.5, tv_factor=0.01,
              transverse_fraction=0.5, transverse_decay_steps=10, bottleneck_l2=1.0,
              bottleneck_decay_steps=10)


@pytest.fixture(scope="module")
def vae():
    model = FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=6, seed=0)
    model.flux_scale.assign(2.0)
    return model


def _batch(b=3, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:S, :S]
    c = (S - 1) / 2
    gal = np.exp(-((x - c) ** 2 + (y - c) ** 2) / 8.0)
    psf = np.exp(-((x - S // 2) ** 2 + (y - S // 2) ** 2) / 2.0)
    psf /= psf.sum()
    stamps = gal[None] * rng.uniform(1, 3, size=(b, 1, 1)) + rng.normal(0, 0.1, size=(b, S, S))
    return {"stamp": tf.constant(stamps, tf.float32),
            "psf": tf.constant(np.repeat(psf[None], b, 0), tf.float32),
            "noise_variance": tf.fill([b], 0.01),
            "noise_power": tf.fill([b, S, S // 2 + 1], 0.01)}


def test_stage_depths_double_up_to_the_cap():
    assert stage_depths(5, 16, 512) == [16, 32, 64, 128, 256, 512]
    assert stage_depths(7, 16, 512) == [16, 32, 64, 128, 256, 512, 512, 512]


def test_residual_block_starts_as_identity():
    block = ResidualBlock(3, seed=1)
    x = tf.random.stateless_normal([2, 5, 5, 3], seed=[0, 1])
    np.testing.assert_array_equal(block(x).numpy(), x.numpy())


def test_shapes_and_positive_profiles(vae):
    batch = _batch()
    mean, std = vae.encode(batch["stamp"], batch["psf"])
    assert mean.shape == (3, L) and std.shape == (3, L)
    assert np.all(std.numpy() > 0)
    z = tf.random.stateless_normal([5, L], seed=[1, 1]) * 10.0
    profile = vae.decode(z).numpy()
    assert profile.shape == (5, S, S)
    assert np.all(profile >= 0) and np.all(np.isfinite(profile))


def test_flux_scale_sets_the_output_units(vae):
    z = tf.zeros([1, L])
    before = vae.decode(z).numpy()
    vae.flux_scale.assign(4.0)
    np.testing.assert_allclose(vae.decode(z).numpy(), 2.0 * before, rtol=1e-6)
    vae.flux_scale.assign(2.0)


def test_encoder_sees_the_psf(vae):
    batch = _batch()
    mean1, _ = vae.encode(batch["stamp"], batch["psf"])
    wide = tf.roll(batch["psf"], 1, axis=1) * 0.5 + batch["psf"] * 0.5
    mean2, _ = vae.encode(batch["stamp"], wide)
    assert np.max(np.abs(mean1.numpy() - mean2.numpy())) > 1e-6


def test_transverse_mixing_fraction():
    a = tf.zeros([4, 8, 8, 16])
    b = tf.ones([4, 8, 8, 16])
    seed = tf.constant([1, 2])
    assert float(tf.reduce_mean(mix_transverse(a, b, 0.0, seed))) == 0.0
    assert float(tf.reduce_mean(mix_transverse(a, b, 1.0, seed))) == 1.0
    frac = float(tf.reduce_mean(mix_transverse(a, b, 0.3, seed)))
    assert abs(frac - 0.3) < 0.03
    np.testing.assert_array_equal(mix_transverse(a, b, 0.3, seed).numpy(),
                                  mix_transverse(a, b, 0.3, seed).numpy())


def test_decoder_with_zero_fraction_ignores_the_encoder(vae):
    batch = _batch()
    eps = tf.zeros([3, L])
    full = vae.autoencode(batch["stamp"], batch["psf"], eps, 0.0, tf.constant([0, 1]))
    mean, _ = vae.encode(batch["stamp"], batch["psf"])
    np.testing.assert_allclose(full["profile"].numpy(), vae.decode(mean).numpy(), rtol=1e-5,
                               atol=1e-7)
    mixed = vae.autoencode(batch["stamp"], batch["psf"], eps, 0.9, tf.constant([0, 1]))
    assert np.max(np.abs(mixed["profile"].numpy() - full["profile"].numpy())) > 1e-6
    assert np.all(full["bottleneck_l2"].numpy() > 0)


def test_decoder_rejects_incompatible_stamp_size():
    with pytest.raises(ValueError, match="multiple of 2"):
        Decoder(20, n_stages=3)


def test_relu_output_draws_an_exactly_dark_sky_and_softplus_does_not():
    z = tf.random.stateless_normal([4, L], seed=[3, 4])
    relu = Decoder(S, n_stages=2, base_depth=4, max_depth=6, output_activation="relu")(z)
    soft = Decoder(S, n_stages=2, base_depth=4, max_depth=6)(z)
    relu, soft = relu["profile"].numpy(), soft["profile"].numpy()
    # relu starts with bias 0: some pixels are exactly 0 and some are lit, none negative
    assert relu.min() == 0.0 and 0.05 < np.mean(relu == 0) < 0.95
    # softplus starts from a faint floor, softplus(-6) = 2.5e-3, and is never exactly 0
    assert soft.min() > 0 and np.median(soft) == pytest.approx(np.log1p(np.exp(-6.0)), rel=0.5)
    with pytest.raises(ValueError, match="output_activation must be one of"):
        Decoder(S, n_stages=2, output_activation="sigmoid")
    # the recipe check (which runs without TensorFlow) offers the same names
    from galsim_deep.training.flow_vae.family import FAMILY
    assert (set(FAMILY.schema["output_activation"].choices)
            == set(Decoder.OUTPUT_ACTIVATIONS))



def test_bilinear_upsampling_keeps_the_weights_and_draws_smoother_light():
    from galsim_deep.training.flow_vae.family import FAMILY

    assert set(FAMILY.schema["upsampling"].choices) == set(Decoder.UPSAMPLINGS)
    with pytest.raises(ValueError, match="upsampling must be one of"):
        Decoder(S, n_stages=2, upsampling="bicubic")
    z = tf.random.stateless_normal([8, L], seed=[3, 6])
    nearest = Decoder(S, n_stages=2, base_depth=4, max_depth=6, seed=2)
    bilinear = Decoder(S, n_stages=2, base_depth=4, max_depth=6, seed=2, upsampling="bilinear")
    nearest(z), bilinear(z)
    # same weights, so a trained decoder can switch (a checkpoint of one restores the other)
    assert [w.shape for w in nearest.weights] == [w.shape for w in bilinear.weights]
    bilinear.set_weights(nearest.get_weights())

    def total_variation(profile):
        return (np.abs(np.diff(profile, axis=1)).mean()
                + np.abs(np.diff(profile, axis=2)).mean())

    sharp, smooth = nearest(z)["profile"].numpy(), bilinear(z)["profile"].numpy()
    assert not np.allclose(sharp, smooth)
    # interpolated feature maps: the same network draws less pixel-to-pixel variation
    assert total_variation(smooth) < 0.6 * total_variation(sharp)

def test_bulge_disk_decoder_adds_smooth_light_under_its_structure():
    from galsim_deep.training.flow_vae.family import FAMILY

    assert set(FAMILY.schema["smooth_profile"].choices) == set(Decoder.SMOOTH_PROFILES)
    with pytest.raises(ValueError, match="smooth_profile must be one of"):
        Decoder(S, n_stages=2, smooth_profile="sersic")
    decoder = Decoder(S, n_stages=2, base_depth=4, max_depth=6, output_activation="relu",
                      smooth_profile="bulge_disk")
    z = tf.random.stateless_normal([3, L], seed=[3, 5])
    out = decoder(z)
    smooth = decoder.smooth(z).numpy()
    np.testing.assert_allclose(out["profile"].numpy(), out["structure"].numpy() + smooth,
                               rtol=1e-6, atol=1e-7)
    assert np.all(smooth > 0) and np.all(out["structure"].numpy() >= 0)
    # the sparsity prior prices the structure only: same profile, other split, other l1
    vae = FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=6, output_activation="relu",
                  smooth_profile="bulge_disk", seed=0)
    vae.flux_scale.assign(2.0)
    batch = _batch()
    terms = losses.flow_vae_loss(vae, batch, tf.zeros([3, L]), tf.constant(100), dict(
        CONFIG, l1_factor=1.0), tf.constant([0, 1]))
    out = vae.autoencode(batch["stamp"], batch["psf"], tf.zeros([3, L]), 0.0, tf.constant([0, 1]))
    sigma = 0.1
    np.testing.assert_allclose(terms["l1"].numpy(),
                               np.abs(out["structure"].numpy() / sigma).sum(axis=(1, 2)),
                               rtol=1e-4)
    assert np.all(out["profile"].numpy().sum(axis=(1, 2))
                  > out["structure"].numpy().sum(axis=(1, 2)))


def test_structure_joins_the_profile_at_structure_from_step():
    vae = FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=6, output_activation="relu",
                  smooth_profile="bulge_disk", seed=1)
    vae.flux_scale.assign(2.0)
    batch, eps = _batch(), tf.zeros([3, L])
    config = dict(CONFIG, l1_factor=0.1, structure_from_step=50)
    out_layer = vae.decoder.out.trainable_variables
    for step, joined in ((49, False), (50, True)):
        with tf.GradientTape() as tape:
            terms = losses.flow_vae_loss(vae, batch, eps, tf.constant(step), config,
                                         tf.constant([0, 1]))
            loss = tf.reduce_sum(terms["loss"])
        grads = tape.gradient(loss, out_layer)
        moved = any(g is not None and np.any(g.numpy() != 0) for g in grads)
        assert moved == joined
        assert (np.sum(terms["l1"].numpy()) > 0) == joined
    # before it, the profile is the bulge + disk alone
    mean, _ = vae.encode(batch["stamp"], batch["psf"])
    before = vae.autoencode(batch["stamp"], batch["psf"], eps, 0.0, tf.constant([0, 1]),
                            structure_weight=0.0)
    np.testing.assert_allclose(before["profile"].numpy(),
                               vae.decoder.smooth(mean).numpy() * 2.0, rtol=1e-5)


def test_multiplicative_structure_modulates_the_smooth_light_within_its_bound():
    from galsim_deep.training.flow_vae.family import FAMILY

    assert set(FAMILY.schema["structure"].choices) == set(Decoder.STRUCTURES)
    with pytest.raises(ValueError, match="needs a smooth profile"):
        Decoder(S, n_stages=2, structure="multiplicative")
    with pytest.raises(ValueError, match="structure must be one of"):
        Decoder(S, n_stages=2, smooth_profile="bulge_disk", structure="both")
    a = 1.5
    decoder = Decoder(S, n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                      structure="multiplicative", max_log_modulation=a)
    z = tf.random.stateless_normal([3, L], seed=[3, 5])
    decoder(z)
    # large output weights drive the modulation to its bound, not beyond
    decoder.out.kernel.assign(decoder.out.kernel * 1e4)
    out = decoder(z)
    smooth = decoder.smooth(z).numpy()
    m = out["modulation"].numpy()
    assert np.all(np.abs(m) <= a + 1e-6) and np.abs(m).max() > 0.99 * a
    np.testing.assert_allclose(out["profile"].numpy(), smooth * np.exp(m), rtol=1e-5)
    np.testing.assert_allclose(out["structure"].numpy(), out["profile"].numpy() - smooth,
                               rtol=1e-5, atol=1e-6)
    ratio = out["profile"].numpy() / smooth
    assert ratio.min() >= np.exp(-a) * (1 - 1e-5) and ratio.max() <= np.exp(a) * (1 + 1e-5)
    # no light where the smooth profile is dark: the profile is zero exactly where it is
    assert np.all((out["profile"].numpy() > 0) == (smooth > 0))
    # a new (or restarted) output layer starts as the smooth profile itself
    fresh = Decoder(S, n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                    structure="multiplicative", seed=3)
    first = fresh(z)
    assert float(fresh.out.bias[0]) == 0.0
    fresh.restart_structure(scale=0.0, seed=1)
    np.testing.assert_allclose(fresh(z)["profile"].numpy(), fresh.smooth(z).numpy(), rtol=1e-6)
    assert np.abs(first["modulation"].numpy()).max() < 1.0
    # structure_weight 0: the bulge + disk alone
    np.testing.assert_allclose(decoder(z, structure_weight=0.0)["profile"].numpy(), smooth,
                               rtol=1e-6)


def test_modulation_floor_fades_the_structure_where_the_smooth_light_is_faint():
    with pytest.raises(ValueError, match="modulation_floor must be >= 0"):
        Decoder(S, n_stages=2, smooth_profile="bulge_disk", structure="multiplicative",
                modulation_floor=-0.1)
    z = tf.random.stateless_normal([3, L], seed=[4, 6])
    kwargs = dict(n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                  structure="multiplicative", max_log_modulation=2.0, seed=5)
    free, faded = Decoder(S, **kwargs), Decoder(S, modulation_floor=0.05, **kwargs)
    free(z), faded(z)
    faded.set_weights(free.get_weights())
    for decoder in (free, faded):
        decoder.out.kernel.assign(decoder.out.kernel * 1e3)  # a modulation near its bound
    smooth = free.smooth(z).numpy()
    np.testing.assert_allclose(faded.smooth(z).numpy(), smooth, rtol=1e-6)
    m_free, m_faded = free(z)["modulation"].numpy(), faded(z)["modulation"].numpy()
    gate = smooth / (smooth + 0.05 * smooth.max(axis=(1, 2), keepdims=True))
    np.testing.assert_allclose(m_faded, m_free * gate, rtol=1e-4, atol=1e-6)
    # at the peak nearly all of it, where the smooth light is 1% of its peak at most a sixth
    peak = smooth == smooth.max(axis=(1, 2), keepdims=True)
    faint = smooth < 0.01 * smooth.max(axis=(1, 2), keepdims=True)
    assert faint.any()
    assert np.all(np.abs(m_faded[faint]) <= np.abs(m_free[faint]) / 6 + 1e-7)
    np.testing.assert_allclose(m_faded[peak], m_free[peak] / 1.05, rtol=1e-4)


def test_modulation_prior_prices_the_log_modulation_squared():
    vae = FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                  structure="multiplicative", seed=2)
    vae.flux_scale.assign(2.0)
    vae.decoder.out.kernel.assign(vae.decoder.out.kernel * 50.0)  # a modulation far from 0
    batch, eps, key = _batch(), tf.zeros([3, L]), tf.constant([0, 1])
    out = vae.autoencode(batch["stamp"], batch["psf"], eps, 0.0, key)  # no transverse mixing
    want = np.square(out["modulation"].numpy()).sum(axis=(1, 2))
    assert np.all(want > 0)
    terms = {f: losses.flow_vae_loss(vae, batch, eps, tf.constant(20), dict(
        CONFIG, modulation_l2=f), key) for f in (0.0, 0.25)}
    np.testing.assert_allclose(terms[0.25]["modulation"].numpy(), want, rtol=1e-5)
    np.testing.assert_allclose(terms[0.25]["loss"].numpy() - terms[0.0]["loss"].numpy(),
                               0.25 * want, rtol=1e-4)
    # a decoder without a modulation has none to price
    plain = losses.flow_vae_loss(FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=6),
                                 batch, eps, tf.constant(20), dict(CONFIG, modulation_l2=1.0), key)
    np.testing.assert_array_equal(plain["modulation"].numpy(), 0.0)


def test_below_noise_modulation_prior_is_free_inside_the_galaxy():
    sigma = tf.constant([[[2.0]]])
    smooth = tf.constant([[[0.0, 2.0, 6.0, 200.0]]])
    out = {"profile": smooth * 1.5, "structure": smooth * 0.5}  # smooth * exp(m) - smooth
    w = losses.modulation_weight(out, sigma, {"modulation_weighting": "below_noise"}).numpy()
    np.testing.assert_allclose(w, [[[1.0, 0.5, 0.1, 1e-4]]], rtol=1e-3)
    assert float(losses.modulation_weight(out, sigma, {})) == 1.0  # uniform by default
    # in the loss: the same modulation costs less where the galaxy is bright
    vae = FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                  structure="multiplicative", seed=2)
    vae.flux_scale.assign(2.0)
    vae.decoder.out.kernel.assign(vae.decoder.out.kernel * 50.0)
    batch, eps, key = _batch(), tf.zeros([3, L]), tf.constant([0, 1])
    terms = {w: losses.flow_vae_loss(vae, batch, eps, tf.constant(20), dict(
        CONFIG, modulation_l2=1.0, modulation_weighting=w), key)["modulation"].numpy()
        for w in ("uniform", "below_noise")}
    assert np.all(terms["below_noise"] < terms["uniform"]) and np.all(terms["below_noise"] > 0)


def test_recipe_refuses_a_multiplicative_structure_without_a_smooth_profile():
    from galsim_deep.training.recipes import load_recipe

    with pytest.raises(ValueError, match="vae.smooth_profile: bulge_disk"):
        load_recipe("tiny", ["vae.structure=multiplicative"])
    recipe = load_recipe("tiny", ["vae.structure=multiplicative",
                                  "vae.smooth_profile=bulge_disk"])
    assert recipe["vae"]["max_log_modulation"] == 3.0


def test_a_decoder_without_structure_draws_its_bulge_disk_alone():
    """structure='none': no ResNet (only the bulge + disk network's weights), the profile is
    exactly the smooth light, the structure and bottleneck outputs are zero, and the
    recipe refuses it without a smooth profile."""
    from galsim_deep.training.recipes import load_recipe

    with pytest.raises(ValueError, match="needs a smooth profile"):
        Decoder(S, n_stages=2, structure="none")
    with pytest.raises(ValueError, match="vae.smooth_profile: bulge_disk"):
        load_recipe("tiny", ["vae.structure=none"])
    decoder = Decoder(S, n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                      structure="none")
    z = tf.random.stateless_normal([3, L], seed=[1, 2])
    out = decoder(z)
    assert {v.name.split("/")[1] for v in decoder.trainable_variables} == {"smooth"}
    np.testing.assert_array_equal(out["profile"].numpy(), decoder.smooth(z).numpy())
    assert not out["structure"].numpy().any() and not out["bottleneck"].numpy().any()
    assert out["bottleneck"].shape[0] == 3
    # the whole model trains: its loss is finite, the sparsity prior on the structure is zero
    vae = FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=6, smooth_profile="bulge_disk",
                  structure="none", seed=0)
    vae.flux_scale.assign(2.0)
    terms = losses.flow_vae_loss(vae, _batch(), tf.zeros([3, L]), tf.constant(5), dict(
        CONFIG, l1_factor=1.0), tf.constant([0, 1]))
    assert np.all(np.isfinite(terms["loss"].numpy()))
    assert not terms["l1"].numpy().any()


def test_restart_structure_gives_the_output_layer_small_weights():
    decoder = Decoder(S, n_stages=2, base_depth=4, max_depth=6, output_activation="relu",
                      smooth_profile="bulge_disk")
    z = tf.random.stateless_normal([4, L], seed=[1, 9])
    decoder(z)
    decoder.out.kernel.assign(decoder.out.kernel * 100.0)
    decoder.out.bias.assign([3.0])
    decoder.restart_structure(scale=0.05, seed=2)
    assert float(decoder.out.bias[0]) == 0.0
    assert 0 < np.abs(decoder.out.kernel.numpy()).max() < 0.05 * np.sqrt(6 / (6 + 1)) + 1e-6
    first = decoder.out.kernel.numpy().copy()
    decoder.restart_structure(scale=0.05, seed=2)
    np.testing.assert_array_equal(decoder.out.kernel.numpy(), first)


def test_linear_decay():
    assert float(losses.linear_decay(0.5, 0, 10)) == 0.5
    assert float(losses.linear_decay(0.5, 5, 10)) == 0.25
    assert float(losses.linear_decay(0.5, 10, 10)) == 0.0
    assert float(losses.linear_decay(0.5, 50, 10)) == 0.0
    assert float(losses.linear_decay(0.5, 0, 0)) == 0.0


def test_kl_matches_closed_form_and_monte_carlo():
    mean = tf.constant([[0.5, -1.0]])
    std = tf.constant([[0.7, 1.3]])
    kl = float(losses.kl_standard_normal(mean, std)[0])
    expected = sum(np.log(1 / s) + (s ** 2 + m ** 2) / 2 - 0.5
                   for m, s in [(0.5, 0.7), (-1.0, 1.3)])
    assert kl == pytest.approx(expected, rel=1e-6)
    rng = np.random.default_rng(0)
    z = np.array([0.5, -1.0]) + np.array([0.7, 1.3]) * rng.normal(size=(200000, 2))
    logq = (-0.5 * ((z - [0.5, -1.0]) / [0.7, 1.3]) ** 2 - np.log([0.7, 1.3])).sum(1)
    logp = (-0.5 * z ** 2).sum(1)
    assert kl == pytest.approx(np.mean(logq - logp), abs=0.01)


def test_free_bits_removes_the_pressure_below_lambda():
    kl_small = tf.Variable([1.0, 5.0])
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(losses.free_bits_kl(kl_small, 4.0))
    np.testing.assert_allclose(out.numpy(), 4.0 + 5.0)
    np.testing.assert_allclose(tape.gradient(out, kl_small).numpy(), [0.0, 1.0])


def test_loss_terms_add_up(vae):
    batch = _batch()
    eps = tf.random.stateless_normal([3, L], seed=[2, 2])
    seed = tf.constant([3, 4])
    terms = losses.flow_vae_loss(vae, batch, eps, tf.constant(5), CONFIG, seed)
    out = vae.autoencode(batch["stamp"], batch["psf"], eps, 0.25, seed)
    conv = physics.convolve_psf(out["profile"], batch["psf"])
    nll = -physics.pixel_log_likelihood(batch["stamp"], conv, batch["noise_variance"])
    np.testing.assert_allclose(terms["neg_log_likelihood"].numpy(), nll.numpy(), rtol=1e-5)
    assert float(terms["transverse_fraction"]) == pytest.approx(0.25)
    assert float(terms["bottleneck_weight"]) == pytest.approx(0.5)
    expected = (terms["neg_log_likelihood"] + tf.maximum(0.5, terms["kl"])
                + 0.01 * terms["tv"] + 0.5 * terms["bottleneck_l2"])
    np.testing.assert_allclose(terms["loss"].numpy(), expected.numpy(), rtol=1e-5)
    tv = physics.total_variation(out["profile"] / 0.1)
    np.testing.assert_allclose(terms["tv"].numpy(), tv.numpy(), rtol=1e-5)
    smooth = losses.flow_vae_loss(vae, batch, eps, tf.constant(5),
                                  dict(CONFIG, log_smooth_factor=0.3), seed)
    np.testing.assert_allclose(smooth["loss"].numpy(),
                               (terms["loss"] + 0.3 * terms["log_smooth"]).numpy(), rtol=1e-5)
    np.testing.assert_allclose(
        terms["log_smooth"].numpy(),
        losses.log_roughness(out["profile"] / 0.1, 1e-3).numpy(), rtol=1e-5)
    spectral = losses.flow_vae_loss(vae, batch, eps, tf.constant(5),
                                    dict(CONFIG, spectral_factor=0.02), seed)
    beyond = physics.power_beyond_psf(out["profile"] / 0.1, batch["psf"]).numpy()
    assert np.all(beyond > 0) and not np.any(terms["spectral"].numpy())
    np.testing.assert_allclose(spectral["spectral"].numpy(), beyond, rtol=1e-5)
    np.testing.assert_allclose(spectral["loss"].numpy(),
                               (terms["loss"] + 0.02 * beyond).numpy(), rtol=1e-5)


def test_log_roughness_prices_holes_not_smooth_wings():
    r = np.hypot(*(np.indices((64, 64)) - 31.5))
    k = 0.3
    wing = np.exp(-k * r)[None]  # exponential profile, peak ~0.8 sigma
    rough = losses.log_roughness(wing, 1e-12).numpy()[0]
    # far above the floor, |grad log I|**2 = k**2 at every pixel (edges: 2 * 63 fewer pairs)
    assert rough / (64 * 63) == pytest.approx(k ** 2, rel=0.03)
    assert float(losses.log_roughness(np.full((1, 8, 8), 3.0), 1e-3)[0]) == 0.0
    # the empty sky costs nothing, a hole in light 10 sigma bright costs 4 log(1e4)**2
    flat = np.full((1, 9, 9), 10.0)
    holed = flat.copy()
    holed[0, 4, 4] = 0.0
    cost = float(losses.log_roughness(holed, 1e-3)[0] - losses.log_roughness(flat, 1e-3)[0])
    assert cost == pytest.approx(4 * np.log(10.0 / 1e-3) ** 2, rel=1e-4)
    assert float(losses.log_roughness(np.zeros((1, 9, 9)), 1e-3)[0]) == 0.0


def test_fourier_and_pixel_losses_agree_for_white_noise(vae):
    batch = _batch()
    eps = tf.zeros([3, L])
    pix = losses.flow_vae_loss(vae, batch, eps, tf.constant(20), CONFIG, tf.constant([0, 0]))
    fou = losses.flow_vae_loss(vae, batch, eps, tf.constant(20),
                               dict(CONFIG, likelihood="fourier"), tf.constant([0, 0]))
    np.testing.assert_allclose(fou["loss"].numpy(), pix["loss"].numpy(), rtol=1e-4)


@pytest.mark.slow
def test_training_steps_lower_the_loss():
    model = FlowVAE(S, L, n_stages=2, base_depth=4, max_depth=8, seed=1)
    model.flux_scale.assign(2.0)
    opt = make_optimizer({"name": "adafactor", "learning_rate": 0.05, "warmup_steps": 100})
    batch = _batch(b=4, seed=5)
    eps = tf.zeros([4, L])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(losses.flow_vae_loss(
                model, batch, eps, opt.iterations, CONFIG, tf.constant([0, 0]))["loss"])
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                model.trainable_variables))
        return loss

    first = float(step())
    for _ in range(30):
        last = float(step())
    assert last < first - 0.1 * abs(first)


def test_auto_flux_scale_is_the_median_peak():
    stamps = np.zeros((3, 4, 4))
    stamps[:, 1, 1] = [1.0, 2.0, 10.0]
    assert auto_flux_scale(stamps) == 2.0
    with pytest.raises(ValueError, match="flux_scale"):
        auto_flux_scale(np.zeros((2, 4, 4)))


def test_sqrt_decay_schedule():
    sched = SqrtDecay(0.001, 100)
    assert float(sched(0)) == pytest.approx(0.001)
    assert float(sched(99)) == pytest.approx(0.001)
    assert float(sched(399)) == pytest.approx(0.0005)
    assert float(sched(9999)) == pytest.approx(0.0001)
    with pytest.raises(ValueError, match="warmup_steps"):
        SqrtDecay(0.001, 0)
    with pytest.raises(ValueError, match="adam"):
        make_optimizer({"name": "sgd", "learning_rate": 0.1, "warmup_steps": 1})


def test_a_cool_down_anneals_the_rate_linearly_to_zero_at_the_last_step():
    plain, cooled = SqrtDecay(0.001, 100), SqrtDecay(0.001, 100, cooldown_steps=1000,
                                                     total_steps=10000)
    # Before the cool-down the two schedules agree; over it the rate falls linearly.
    for step in (0, 399, 8999):
        assert float(cooled(step)) == pytest.approx(float(plain(step)))
    # Update k (0-based) of a 10,000-step run has (10000 - k) / 1000 of the rate: the
    # last one 1/1000, none after the run's end.
    assert float(cooled(9499)) == pytest.approx(0.501 * float(plain(9499)), rel=1e-5)
    assert float(cooled(9999)) == pytest.approx(0.001 * float(plain(9999)), rel=1e-4)
    assert float(cooled(10000)) == 0.0 and float(cooled(12000)) == 0.0
    opt = make_optimizer({"name": "adam", "learning_rate": 0.001, "warmup_steps": 100,
                          "cooldown_steps": 1000}, total_steps=10000)
    assert float(opt.learning_rate) == pytest.approx(0.001)  # at step 0
    with pytest.raises(ValueError, match="total steps"):
        make_optimizer({"name": "adam", "learning_rate": 0.001, "warmup_steps": 100,
                        "cooldown_steps": 1000})


def test_global_clipnorm_reaches_the_optimizer_and_is_checked():
    from galsim_deep.core.errors import InputError
    from galsim_deep.training.recipes import load_recipe

    adam = {"name": "adam", "learning_rate": 0.1, "warmup_steps": None}
    assert make_optimizer(adam).global_clipnorm is None
    clipped = make_optimizer(dict(adam, global_clipnorm=10.0))
    assert clipped.global_clipnorm == 10.0
    # the clipped gradient has the global norm asked for, its direction kept
    g = clipped._clip_gradients([tf.constant([3e4, 4e4])])[0].numpy()
    np.testing.assert_allclose(g, [6.0, 8.0], rtol=1e-6)
    assert make_optimizer({"name": "adafactor", "learning_rate": 0.01, "warmup_steps": None,
                           "global_clipnorm": 1.0}).global_clipnorm == 1.0
    assert load_recipe("tiny", overrides=["flow.optimizer.global_clipnorm=10"])[
        "flow"]["optimizer"]["global_clipnorm"] == 10
    with pytest.raises(InputError, match="global_clipnorm must be null or a number > 0"):
        load_recipe("tiny", overrides=["flow.optimizer.global_clipnorm=-1"])


def test_the_bulge_disk_network_may_train_with_its_own_clipped_adam():
    from galsim_deep.training.flow_vae.train import (SMOOTH_CLIPNORM, FlowVAETrainer,
                                                     split_smooth_variables)
    from galsim_deep.training.recipes import load_recipe

    smooth = ["vae.smooth_profile=bulge_disk", "vae.structure=multiplicative"]
    shared = FlowVAETrainer().create_state(load_recipe("tiny", smooth))
    assert list(shared.optimizers) == ["optimizer"]
    recipe = load_recipe("tiny", smooth + ["vae.smooth_learning_rate=0.01"])
    state = FlowVAETrainer().create_state(recipe)
    own, rest = split_smooth_variables(state.model, recipe)
    names = sorted(v.name for v in own)
    assert len(own) == 4 and all("smooth" in n for n in names)
    assert not {id(v) for v in own} & {id(v) for v in rest}
    assert len(own) + len(rest) == len(state.model.trainable_variables)
    adam = state.optimizers["smooth_optimizer"]
    assert adam.global_clipnorm == SMOOTH_CLIPNORM
    assert float(adam.learning_rate) == pytest.approx(0.01)  # before its warm-up ends
    # One step of a huge gradient moves each weight by about the learning rate, not more.
    before = [v.numpy().copy() for v in own]
    adam.apply_gradients([(tf.fill(v.shape, 1e12), v) for v in own])
    moved = max(np.abs(v.numpy() - b).max() for v, b in zip(own, before))
    assert 0.005 < moved < 0.011
    # A decoder without a smooth profile has nothing to split off.
    plain = load_recipe("tiny", ["vae.smooth_learning_rate=0.01"])
    model = FlowVAETrainer().create_state(plain).model
    assert split_smooth_variables(model, plain)[0] == []
