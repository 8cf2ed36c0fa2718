"""The AnaCal estimator on sums whose answer is known: m, c, r_sel and paired differences."""
import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from galsim_deep.tools.validation.measures.anacal import bias

G = bias.SHEAR


def _sums(n_units=50, m=0.01, c=0.002, r=0.5, r_sel=0.05, seed=0, n_bins=2):
    """Per-unit sums of a shear estimator with multiplicative bias m and additive c: each
    unit one detection per sign (in its bin), responses scattered about r."""
    rng = np.random.default_rng(seed)
    s = np.zeros((n_units, n_bins + 2, 2 * len(bias.QUANTITIES)))
    for u in range(n_units):
        b = u % (n_bins + 1)
        resp = r * (1 + 0.1 * rng.standard_normal())
        for k, sign in enumerate((1, -1)):
            off = k * len(bias.QUANTITIES)
            # sum(w e1) = R ((1 + m) g + c): the shear estimate of each unit is exact
            s[u, b, off:off + 7] = [resp * ((1 + m) * sign * G + c), resp, r_sel * resp,
                                    resp * c / 2, resp, 1.0, 1.0]
    return s


def test_a_known_bias_is_recovered_overall_and_per_bin():
    out = bias.anacal_bias(_sums(), n_boot=100)
    assert out["all"]["m"] == pytest.approx(0.01, abs=1e-12)
    assert out["all"]["c1"] == pytest.approx(0.002, abs=1e-12)
    assert out["all"]["c2"] == pytest.approx(0.001, abs=1e-12)
    assert out["all"]["r_sel"] == pytest.approx(0.05)
    assert out["all"]["g_plus"] == pytest.approx(1.01 * G + 0.002)
    assert out["all"]["detected"] == 100
    assert len(out["bins"]) == 3 and all(b["m"] == pytest.approx(0.01) for b in out["bins"])
    assert out["unmatched"]["m"] is None and out["unmatched"]["detected"] == 0
    # every unit gives the same m: no scatter to resample
    assert out["all"]["m_error"] == pytest.approx(0.0, abs=1e-12)


def test_paired_difference_is_exactly_zero_against_itself_and_finds_a_bias():
    a = _sums(seed=1)
    same = bias.paired_difference(a, a.copy(), n_boot=50)
    assert same["all"]["dm"] == 0.0 and same["all"]["dm_error"] == 0.0
    assert same["all"]["detected"] == [100.0, 100.0]
    d = bias.paired_difference(_sums(m=0.03, seed=1), a, n_boot=50)
    assert d["all"]["dm"] == pytest.approx(0.02, abs=1e-12)
    assert d["all"]["dc1"] == pytest.approx(0.0, abs=1e-12)


def test_the_bootstrap_error_follows_the_scatter_between_units():
    s = _sums(n_units=400, seed=2)
    rng = np.random.default_rng(5)
    noisy = s.copy()
    noisy[:, :, 0] += 0.01 * rng.standard_normal(noisy.shape[:2]) * (s[:, :, 6] > 0)
    out = bias.anacal_bias(noisy, n_boot=400, seed=1)["all"]
    # m's scatter: sum of 400 noises of 0.01 over sum(R) ~ 400 x 1.0, divided by g
    expected = 0.01 * np.sqrt(400) / noisy[:, :, [1, 1 + len(bias.QUANTITIES)]].sum() / G
    assert out["m_error"] == pytest.approx(expected, rel=0.2)
    assert abs(out["m"] - 0.01) < 4 * out["m_error"]


@pytest.mark.parametrize("noisy_on_step", [True, False])
def test_the_share_of_m_s_variance_goes_to_the_detections_that_scatter(noisy_on_step):
    """Each unit: one fully selected detection per sign with an exact shear estimate, and
    one on the selection step; noise on the step's ``e1`` gives the step all of m's variance,
    noise on the other's none of it."""
    rng = np.random.default_rng(3)
    nq, q = len(bias.QUANTITIES), {k: i for i, k in enumerate(bias.QUANTITIES)}
    s = np.zeros((300, 2, 2 * nq))
    for u in range(300):
        for k, sign in enumerate((1, -1)):
            off = k * nq
            for on_step in (False, True):
                resp = 0.5 * (1 + 0.1 * rng.standard_normal())
                e1 = resp * sign * G + (0.01 * rng.standard_normal()
                                        if on_step == noisy_on_step else 0.0)
                s[u, 0, off + q["e1"]] += e1
                s[u, 0, off + q["r1"]] += resp
                s[u, 0, off + q["n"]] += 1
                if on_step:
                    s[u, 0, off + q["e1_step"]] += e1
                    s[u, 0, off + q["r1_step"]] += resp
                    s[u, 0, off + q["n_step"]] += 1
    out = bias.anacal_bias(s, n_boot=200)["all"]
    assert out["on_step"] == pytest.approx(0.5)
    assert out["step_variance_share"] == pytest.approx(1.0 if noisy_on_step else 0.0, abs=0.05)
    assert out["precision"] == pytest.approx(out["m_error"] * np.sqrt(1200))


def test_bad_sums_are_named():
    with pytest.raises(InputError, match=r"sums must be \[units, bins, 20\]"):
        bias.anacal_bias(np.zeros((3, 4)))
    with pytest.raises(InputError, match="differ in shape"):
        bias.paired_difference(_sums(n_units=4), _sums(n_units=5))
