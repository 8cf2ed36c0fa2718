"""Numerical tests of the analytic bulge + disk a decoder may draw (training/bulge_disk.py)."""
import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
galsim = pytest.importorskip("galsim")

from galsim_deep.training import bulge_disk as bd  # noqa: E402
from galsim_deep.physics.sersic import sersic_surface_brightness  # noqa: E402


@pytest.mark.parametrize("component", ["bulge", "disk"])
def test_the_mixture_follows_the_sersic_profile(component):
    spec = bd.COMPONENTS[component]
    amplitudes, sigmas = bd.sersic_mixture(spec["n"], spec["n_gaussians"],
                                           spec["sigma_range"], spec["fit_range"])
    assert np.all(amplitudes >= 0)
    assert amplitudes.sum() == pytest.approx(1.0, abs=0.003)
    r = np.geomspace(0.05, 4.0, 200)
    mixture = (np.exp(-0.5 * (r[:, None] / sigmas) ** 2) / (2 * math.pi * sigmas ** 2)) @ amplitudes
    profile = galsim.Sersic(n=spec["n"], half_light_radius=1.0)
    exact = np.array([profile.xValue(galsim.PositionD(x, 0.0)) for x in r])
    assert np.max(np.abs(mixture / exact - 1)) < 0.012


def test_surface_brightness_has_unit_flux_and_half_of_it_inside_the_radius():
    for n in (1.0, 4.0):
        r = np.geomspace(1e-6, 1e3, 20001)
        ring = 2 * math.pi * r * sersic_surface_brightness(n, r)
        flux = np.trapezoid(ring, r)
        inside = np.trapezoid(ring[r <= 1.0], r[r <= 1.0])
        assert flux == pytest.approx(1.0, rel=2e-3)
        assert inside == pytest.approx(0.5, rel=2e-3)


@pytest.mark.parametrize("component,n,hlr,g1,g2,dx,dy", [
    ("disk", 1.0, 0.30, 0.3, -0.2, 0.4, -0.7),
    ("disk", 1.0, 0.10, -0.5, 0.1, 0.0, 1.5),
    ("bulge", 4.0, 0.20, 0.1, 0.4, -1.2, 0.3),
    ("bulge", 4.0, 0.05, 0.0, 0.0, 0.0, 0.0),
    ("bulge", 4.0, 0.60, -0.3, -0.3, 2.0, 2.0),
])
def test_drawn_like_galsim_draws_the_sersic_profile(component, n, hlr, g1, g2, dx, dy):
    """Same centre, shear convention, orientation and flux as GalSim's no_pixel drawing."""
    size, scale, flux = 48, 0.06, 100.0
    exact = (galsim.Sersic(n=n, half_light_radius=hlr, flux=flux).shear(g1=g1, g2=g2)
             .shift(dx * scale, dy * scale)
             .drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array)
    one = lambda v: tf.constant([v], tf.float32)  # noqa: E731
    drawn = bd.draw_sersic(component, one(flux), one(hlr / scale), one(g1), one(g2), one(dx),
                           one(dy), size).numpy()[0]
    l2 = np.sqrt(np.sum((drawn - exact) ** 2) / np.sum(exact ** 2))
    assert l2 < 0.006
    assert drawn.sum() == pytest.approx(exact.sum(), rel=0.003)


def test_layer_parameters_stay_in_their_bounds_and_start_as_one_round_galaxy():
    layer = bd.BulgeDiskLayer(32, initial_flux=10.0, initial_radius=4.0, seed=3)
    z = tf.random.stateless_normal([6, 8], seed=[1, 2])
    p = {k: v.numpy() for k, v in layer.parameters(z).items()}
    assert set(p) == {name for name, _ in bd.PARAMETERS}
    # near-zero last layer: every code starts as the same round, half-bulge galaxy
    np.testing.assert_allclose(p["flux"], 10.0, rtol=0.1)
    np.testing.assert_allclose(p["bulge_fraction"], 0.5, atol=0.05)
    np.testing.assert_allclose(p["disk_half_light_radius"], 4.0, rtol=0.1)
    assert np.all(np.abs(p["bulge_g1"]) < 0.05)
    image = layer(z).numpy()
    assert image.shape == (6, 32, 32) and np.all(image > 0)
    # extreme codes: radii, shears and offsets stay bounded, the image finite
    layer.params.set_weights([w * 0 + 50.0 for w in layer.params.get_weights()])
    p = {k: v.numpy() for k, v in layer.parameters(z * 100).items()}
    g = np.hypot(p["disk_g1"], p["disk_g2"])
    assert np.all(g <= 0.9 + 1e-6) and np.all(np.abs(p["disk_dx"]) <= 4.0 + 1e-6)
    assert np.all(p["disk_half_light_radius"] <= 4.0 * math.exp(3.5) * (1 + 1e-5))
    assert np.all(np.isfinite(layer(z * 100).numpy()))


def test_gradients_reach_every_parameter():
    layer = bd.BulgeDiskLayer(32, seed=0)
    z = tf.random.stateless_normal([4, 8], seed=[5, 6])
    target = tf.random.stateless_uniform([4, 32, 32], seed=[7, 8])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(layer(z) - target))
    grads = tape.gradient(loss, layer.trainable_variables)
    assert all(g is not None and np.all(np.isfinite(g.numpy())) for g in grads)
    # every one of the 12 parameters moves the image
    assert np.all(np.abs(grads[-1].numpy()) > 0)
