"""Reconstructions against the mock truth, and the Sérsic fits they are compared with."""
import json

import galsim
import numpy as np
import pytest

from galsim_deep.cli import main
from galsim_deep.tools.validation.measures.reconstruction.metrics import (by_class, observed_chi2,
                                                                          reconstruction_residuals)
from galsim_deep.physics.sersic import sersic_image
from galsim_deep.tools.validation.measures.reconstruction.psf_convolution import _convolve
from galsim_deep.tools.validation.measures.reconstruction.psf_convolution import (PSFConvolver,
                                                                                  convolve_stamps)
from galsim_deep.tools.validation.measures.reconstruction.sersic_fit import (fit_bulge_disk,
                                                                             fit_sersic)

S, SCALE = 48, 0.03


def test_reconstruction_residuals_known_values():
    truth = np.zeros((3, 4, 4))
    truth[:, 1:3, 1:3] = [[1.0, 2.0], [3.0, 4.0]]
    estimates = np.stack([truth[0], 2 * truth[1], np.zeros((4, 4))])
    np.testing.assert_allclose(reconstruction_residuals(truth, estimates), [0.0, 1.0, 1.0])
    shifted = np.roll(truth, 1, axis=2)  # disjoint support would give 2; overlap gives less
    res = reconstruction_residuals(truth, shifted)
    assert np.all((res > 0) & (res < 2))


@pytest.mark.parametrize("n, hlr, g1, g2", [(1.0, 0.3, 0.2, -0.1), (4.0, 0.2, 0.0, 0.3),
                                           (0.5, 0.4, -0.3, 0.0)])
def test_sersic_image_matches_galsim(n, hlr, g1, g2):
    """Pixel-centre samples of GalSim's sheared, shifted Sérsic (method='no_pixel')."""
    prof = galsim.Sersic(n, half_light_radius=hlr, flux=10.0).shear(g1=g1, g2=g2)
    prof = prof.shift(1.3 * SCALE, -0.7 * SCALE)
    expected = prof.drawImage(nx=S, ny=S, scale=SCALE, method="no_pixel",
                              use_true_center=False).array
    mine = sersic_image(S, SCALE, hlr, n, g1, g2, x0=1.3, y0=-0.7, flux=10.0)
    np.testing.assert_allclose(mine, expected, rtol=0, atol=1e-6 * expected.max())


def _gaussian_psf(fwhm=0.1):
    psf = galsim.Gaussian(fwhm=fwhm).drawImage(nx=S, ny=S, scale=SCALE, method="no_pixel",
                                               use_true_center=False).array
    return psf / psf.sum()


def test_fit_sersic_recovers_the_parameters_of_a_noisy_convolved_sersic():
    psf = _gaussian_psf()
    truth = sersic_image(S, SCALE, 0.2, 2.5, 0.15, -0.2, x0=0.4, y0=-0.3, flux=50.0)
    rng = np.random.default_rng(0)
    stamp = _convolve(truth, psf) + rng.normal(0.0, 0.01, (S, S))
    fit = fit_sersic(stamp, psf, 1e-4, SCALE)
    assert fit.half_light_radius == pytest.approx(0.2, rel=0.05)
    assert fit.n == pytest.approx(2.5, abs=0.3)
    assert (fit.g1, fit.g2) == pytest.approx((0.15, -0.2), abs=0.02)
    assert (fit.x0, fit.y0) == pytest.approx((0.4, -0.3), abs=0.05)
    assert fit.reduced_chi2 == pytest.approx(1.0, abs=0.1)
    # The unconvolved fit is far closer to the truth than the observed stamp is.
    assert reconstruction_residuals(truth[None], fit.image[None])[0] < 0.01


def test_psf_convolver_is_the_forward_model():
    rng = np.random.default_rng(1)
    image, psf = rng.random((S, S)), _gaussian_psf()
    # (the Gaussian PSF image is float32, so scipy convolves in single precision)
    np.testing.assert_allclose(PSFConvolver(psf)(image), _convolve(image, psf), atol=1e-6)
    np.testing.assert_allclose(convolve_stamps(image[None], psf[None])[0],
                               PSFConvolver(psf)(image), atol=1e-12)


def test_fit_bulge_disk_recovers_a_noisy_convolved_bulge_plus_disk():
    psf = _gaussian_psf()
    bulge = sersic_image(S, SCALE, 0.08, 4.0, 0.1, 0.05, x0=0.3, y0=-0.2, flux=30.0)
    disk = sersic_image(S, SCALE, 0.3, 1.0, -0.3, 0.2, x0=0.3, y0=-0.2, flux=70.0)
    rng = np.random.default_rng(0)
    stamp = _convolve(bulge + disk, psf) + rng.normal(0.0, 0.02, (S, S))
    sersic = fit_sersic(stamp, psf, 4e-4, SCALE)
    fit = fit_bulge_disk(stamp, psf, 4e-4, SCALE, start=sersic)
    # The bulge-disk split of the light is degenerate at this noise; the total is not.
    assert fit.flux_bulge + fit.flux_disk == pytest.approx(100.0, rel=0.03)
    assert fit.bulge_to_total == pytest.approx(0.3, abs=0.08)
    assert fit.hlr_disk == pytest.approx(0.3, rel=0.05)
    assert (fit.g1_disk, fit.g2_disk) == pytest.approx((-0.3, 0.2), abs=0.05)
    assert fit.reduced_chi2 == pytest.approx(1.0, abs=0.1)
    # The two-component model is the right one here: better than one Sérsic.
    assert fit.reduced_chi2 < sersic.reduced_chi2
    truth = (bulge + disk)[None]
    assert reconstruction_residuals(truth, fit.image[None])[0] < \
        reconstruction_residuals(truth, sersic.image[None])[0]
    with pytest.raises(ValueError, match="same shape"):
        fit_bulge_disk(np.zeros((8, 8)), np.zeros((9, 9)), 1.0, SCALE)


def test_observed_chi2_in_units_of_the_noise():
    truth = np.zeros((2, 8, 8))
    est = truth + np.array([0.1, 0.2])[:, None, None]
    np.testing.assert_allclose(observed_chi2(truth, est, np.array([0.01, 0.01])), [1.0, 4.0])
    with pytest.raises(ValueError, match="must be"):
        observed_chi2(truth, est[:1], np.ones(2))


def test_fit_sersic_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        fit_sersic(np.zeros((8, 8)), np.zeros((9, 9)), 1.0, SCALE)
    with pytest.raises(ValueError, match="noise_variance"):
        fit_sersic(np.zeros((8, 8)), np.zeros((8, 8)), 0.0, SCALE)
    with pytest.raises(ValueError, match="finite"):
        fit_sersic(np.full((8, 8), np.nan), np.zeros((8, 8)), 1.0, SCALE)


def test_reconstruct_command_writes_the_report(tiny_flow_vae_module_path, mock_dataset_path,
                                               tmp_path, capsys):
    out = tmp_path / "rec"
    assert main(["validation", "reconstruct", str(tiny_flow_vae_module_path), "--dataset",
                 str(mock_dataset_path), "--out", str(out), "--quiet", "--processes", "1"]) == 0
    report = json.loads((out / "reconstruction.json").read_text())
    assert report["n"] == 2  # the tiny dataset's test split
    for key in ("model", "fitted_sersic", "true_sersic"):
        assert np.isfinite(report[key]["median_relative_residual"])
    assert 0 <= report["fitted_sersic"]["fraction_model_better"] <= 1
    # The fit sees the same stamp as the (untrained) tiny module and is much better.
    assert (report["fitted_sersic"]["median_relative_residual"]
            < report["model"]["median_relative_residual"])
    assert (out / "reconstruction.png").stat().st_size > 0
    assert (out / "reconstruction_unconvolved.png").stat().st_size > 0
    md = (out / "reconstruction.md").read_text()
    assert "fitted to the stamp" in md and "| class | galaxies |" in md
    assert "## In observed space (primary)" in md and "Caveat" in md
    assert sum(c["n"] for c in report["by_class"].values()) == report["n"]
    # Observed space: the noisy stamp scores its noise (about 1); the truth is rebuilt exactly.
    obs = report["observed"]
    assert obs["noiseless_truth"]["method"] == "analytic"
    assert obs["estimates"]["observed_stamp"]["median"] == pytest.approx(1.0, abs=0.25)
    for key in ("model", "bulge_disk", "fitted_sersic", "true_sersic"):
        assert np.isfinite(obs["estimates"][key]["median"])
    assert "median chi2 in observed space" in capsys.readouterr().out


def test_residuals_by_class_known_values():
    res = {"model": np.array([0.1, 0.2, 0.3, 0.05]),
           "fitted_sersic": np.array([0.2, 0.1, 0.1, 0.5]),
           "true_sersic": np.array([0.3, 0.3, 0.3, 0.3])}
    out = by_class(res, np.array([0, 0, 2, 0]), ["spheroid", "disk", "clumpy"])
    assert list(out) == ["spheroid", "clumpy"]  # no disk among the galaxies
    assert out["spheroid"]["n"] == 3 and out["clumpy"]["n"] == 1
    assert out["spheroid"]["model"]["median_relative_residual"] == pytest.approx(0.1)
    assert out["spheroid"]["model"]["fraction_model_better"] is None
    # Module better than the fit for galaxies 0 and 3 of the 3 spheroids.
    assert out["spheroid"]["fitted_sersic"]["fraction_model_better"] == pytest.approx(2 / 3)
    assert out["clumpy"]["fitted_sersic"]["fraction_model_better"] == 0.0
    assert out["spheroid"]["true_sersic"]["fraction_model_better"] == 1.0
    # Scored against another estimate, under another name.
    other = by_class(res, np.array([0, 0, 2, 0]), ["spheroid", "disk", "clumpy"],
                     reference="true_sersic", key="fraction_oracle_better")
    assert other["spheroid"]["true_sersic"]["fraction_oracle_better"] is None
    assert other["spheroid"]["model"]["fraction_oracle_better"] == 0.0
    assert other["spheroid"]["fitted_sersic"]["fraction_oracle_better"] == pytest.approx(1 / 3)


def test_reconstruct_names_a_missing_dataset(tiny_flow_vae_module_path, tmp_path, capsys):
    assert main(["validation", "reconstruct", str(tiny_flow_vae_module_path), "--dataset",
                 str(tmp_path / "missing.h5"), "--out", str(tmp_path / "o")]) == 1
    assert "missing.h5" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
