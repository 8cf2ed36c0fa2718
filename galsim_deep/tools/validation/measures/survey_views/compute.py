"""The survey views' numbers: magnitude bins, the control's partners and the verdicts."""
import numpy as np

__all__ = ["TESTS", "dilation_tests", "shuffled_within", "verdict"]


#: The tests of each view against the truth (then one per dilation, ``size xF``).
TESTS = ("generated", "parametric", "control")


def dilation_tests(dilations):
    """The names of the injected-change tests, ``size xF``."""
    return [f"size x{f:g}" for f in dilations]


def shuffled_within(groups, seed):
    """A permutation of the galaxies that moves each one to another of its group (if any)."""
    rng = np.random.default_rng([int(seed), 0x5EE])
    partner = np.arange(len(groups))
    for g in np.unique(groups):
        members = np.flatnonzero(groups == g)
        if len(members) > 1:
            # A random cyclic shift of a random order: nobody is its own partner.
            order = rng.permutation(members)
            partner[order] = np.roll(order, 1 + rng.integers(len(members) - 1))
    return partner


def verdict(tests, dilations):
    """The verdict in words, from accuracies and their errors (overall, or one bin's).

    Parameters
    ----------
    tests : dict
        Test name -> ``{"accuracy", "error"}``.
    dilations : list of str
        The injected-change tests, smallest change first.

    Returns
    -------
    (str, str)
        Generated against the truth: within 2 sigma of the control's accuracy,
        *indistinguishable from the truth* where the classifier detects one of
        the injected size changes, *not told apart (weak test)* where it
        detects none of them; else *told apart*, *less than*, *as much as* or
        *more than a Sérsic* by the same rule.  And the smallest injected
        change the classifier detects (2 sigma above the control), or
        ``none``.  NaN accuracies (an empty bin): ``n/a``.
    """
    def acc(name):
        t = tests[name]
        return t["accuracy"], t["error"]

    g, eg = acc("generated")
    p, ep = acc("parametric")
    c, ec = acc("control")
    if not all(np.isfinite([g, p, c])):
        return "n/a", "n/a"
    seen = [name for name in dilations if acc(name)[0] - c > 2 * np.hypot(acc(name)[1], ec)]
    if g - c <= 2 * np.hypot(eg, ec):
        words = "indistinguishable from the truth" if seen else "not told apart (weak test)"
    elif g < p - 2 * np.hypot(eg, ep):
        words = "told apart, less than a Sérsic"
    elif g > p + 2 * np.hypot(eg, ep):
        words = "told apart, more than a Sérsic"
    else:
        words = "told apart, as much as a Sérsic"
    return words, (seen[0] if seen else "none")
