"""Reconstruction residuals against the mock truth."""
import numpy as np

from galsim_deep.training.flow_vae.evaluate import reconstruction_residuals


def test_reconstruction_residuals_known_values():
    truth = np.zeros((3, 4, 4))
    truth[:, 1:3, 1:3] = [[1.0, 2.0], [3.0, 4.0]]
    estimates = np.stack([truth[0], 2 * truth[1], np.zeros((4, 4))])
    np.testing.assert_allclose(reconstruction_residuals(truth, estimates), [0.0, 1.0, 1.0])
    shifted = np.roll(truth, 1, axis=2)  # disjoint support would give 2; overlap gives less
    res = reconstruction_residuals(truth, shifted)
    assert np.all((res > 0) & (res < 2))
