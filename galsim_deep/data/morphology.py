"""Mock galaxy morphologies: smooth bulge + disk plus non-parametric structure.

A mock galaxy is a ``galsim`` profile made of simple, analytic pieces (so its
unconvolved truth can be drawn exactly in real space with
``method='no_pixel'``):

* a smooth **bulge** (de Vaucouleurs) + **disk** (exponential) with their own
  axis ratios and position angles;
* star-forming **knots**: Gaussians of 0.02-0.05 arcsec at positions drawn by
  ``galsim.RandomKnots`` from an exponential profile, sheared like the disk;
* logarithmic **spiral arms** (2 or 3) made of chains of Gaussians, sheared like
  the disk;
* **disturbed** features: a disk off-centred from the bulge (lopsided), offset
  clumps on one side, tidal tails;
* a close **pair**: a smaller, fainter Sersic companion.

Every galaxy has one of :data:`CLASS_NAMES` as its class label.  The class
probabilities depend on the conditions (brighter and larger galaxies are more
often structured, clumpy galaxies more common at higher redshift, spirals at
lower redshift) and on the bulge fraction (bulge-dominated galaxies are mostly
spheroids).  See :func:`class_probabilities`.
"""
import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["CLASS_NAMES", "COMPONENTS", "class_probabilities", "structure_strength", "MockGalaxy",
           "build_galaxy", "bulge_disk_half_light_radius", "sersic_n_equivalent"]

#: Morphology classes (the ``label`` field indexes this list).
CLASS_NAMES = ("spheroid", "disk", "clumpy", "spiral", "disturbed", "pair")

#: The parts of a mock galaxy (:attr:`MockGalaxy.components`), in this order.
COMPONENTS = ("bulge", "disk", "structure", "companion")


def structure_strength(mag_auto, flux_radius):
    """How structured a galaxy of these conditions is, in [0, 1].

    The mean of ``(23.5 - mag_auto) / 4`` and ``log10(flux_radius / 4)``
    (``flux_radius`` in pixels of 0.03 arcsec), each clipped to [0, 1]: 0 for
    faint (mag 23.5) or small (4 pixels) galaxies, 1 for mag 19.5 and 40 pixels.
    """
    bright = np.clip((23.5 - mag_auto) / 4.0, 0.0, 1.0)
    large = np.clip(math.log10(max(flux_radius, 1e-3) / 4.0), 0.0, 1.0)
    return float(0.5 * (bright + large))


def class_probabilities(bulge_to_total, strength, zphot):
    """Probabilities of the :data:`CLASS_NAMES` for one galaxy.

    Parameters
    ----------
    bulge_to_total : float
        B/T of the smooth profile.
    strength : float
        :func:`structure_strength` of the galaxy's conditions.
    zphot : float
        Redshift.

    Returns
    -------
    numpy.ndarray
        ``[len(CLASS_NAMES)]`` probabilities summing to 1.
    """
    b, s = float(bulge_to_total), float(strength)
    z = float(np.clip(zphot, 0.0, 3.0))
    w = np.array([
        4.0 * b ** 3,                              # spheroid
        (1.0 - b) * (1.2 - s),                     # disk
        (1.0 - b) * s * (0.4 + z),                 # clumpy
        (1.0 - b) * s * max(0.2, 1.3 - z),         # spiral
        0.08 + 0.3 * s,                            # disturbed
        0.06 + 0.1 * s,                            # pair
    ])
    return w / w.sum()


def _sersic_enclosed(n, r):
    """Fraction of a Sersic profile's flux inside radius r (in half-light radii)."""
    from scipy.special import gammainc, gammaincinv

    b = gammaincinv(2.0 * n, 0.5)
    return gammainc(2.0 * n, b * np.power(r, 1.0 / n))


def _mixture_radius(bulge_to_total, size_ratio, fraction):
    """Radius (disk half-light radii) enclosing ``fraction`` of a circular bulge + disk."""
    from scipy.optimize import brentq

    def f(r):
        return (bulge_to_total * _sersic_enclosed(4.0, r / size_ratio)
                + (1 - bulge_to_total) * _sersic_enclosed(1.0, r) - fraction)

    return brentq(f, 1e-6, 1e4, xtol=1e-10)


def bulge_disk_half_light_radius(bulge_to_total, size_ratio):
    """Half-light radius of a circular de Vaucouleurs + exponential, in disk half-light radii.

    Parameters
    ----------
    bulge_to_total : float
        B/T in [0, 1].
    size_ratio : float
        Bulge half-light radius / disk half-light radius.
    """
    return _mixture_radius(bulge_to_total, size_ratio, 0.5)


_N_GRID = np.linspace(0.3, 6.2, 119)
_C_GRID = None


def sersic_n_equivalent(bulge_to_total, size_ratio):
    """Sersic index with the same concentration r80/r20 as a bulge + disk.

    Parameters
    ----------
    bulge_to_total : float
        B/T in [0, 1].
    size_ratio : float
        Bulge half-light radius / disk half-light radius.

    Returns
    -------
    float
        ``n`` in [0.3, 6.2] whose Sersic profile has the bulge + disk's ratio of
        the radii enclosing 80% and 20% of the flux.
    """
    from scipy.special import gammaincinv

    global _C_GRID
    if _C_GRID is None:
        b = gammaincinv(2 * _N_GRID, 0.5)
        r80 = (gammaincinv(2 * _N_GRID, 0.8) / b) ** _N_GRID
        r20 = (gammaincinv(2 * _N_GRID, 0.2) / b) ** _N_GRID
        _C_GRID = r80 / r20
    c = (_mixture_radius(bulge_to_total, size_ratio, 0.8)
         / _mixture_radius(bulge_to_total, size_ratio, 0.2))
    return float(np.interp(c, _C_GRID, _N_GRID))


@dataclass
class MockGalaxy:
    """A mock galaxy: its profile and what is known about it.

    Attributes
    ----------
    profile : galsim.GSObject
        Unconvolved light profile (arcsec, flux in HST F814W counts/s),
        centred on its bulge.
    label : int
        Index into :data:`CLASS_NAMES`.
    parametric : numpy.ndarray
        ``(flux, half_light_radius, sersic_n, q, beta)``: the single-Sersic
        approximation of the smooth bulge + disk, with the galaxy's total flux.
    params : dict
        Every drawn parameter (for inspection and tests).
    components : dict
        The profile's parts, :data:`~galsim_deep.data.morphology.COMPONENTS` ->
        ``galsim.GSObject`` (F814W counts/s) or None when the galaxy has none: the ``bulge``, the
        ``disk``, the ``structure`` (knots, arms, clumps and tails) and the
        ``companion`` of a pair.  Their sum is ``profile``; a colour mock gives
        each its own SED.
    """

    profile: object
    label: int
    parametric: np.ndarray
    params: dict = field(default_factory=dict)
    components: dict = field(default_factory=dict)

    @property
    def class_name(self):
        """Name of the class label."""
        return CLASS_NAMES[self.label]


def _galsim_rng(rng):
    import galsim

    return galsim.BaseDeviate(int(rng.integers(1, 2 ** 31 - 1)))


def _chain(points, sigmas, fluxes):
    """Sum of Gaussians at ``points`` (arcsec) with the given sigmas and fluxes."""
    import galsim

    return [galsim.Gaussian(sigma=float(s), flux=float(f)).shift(float(x), float(y))
            for (x, y), s, f in zip(points, sigmas, fluxes)]


def _lognormal_fractions(rng, n, sigma):
    w = np.exp(sigma * rng.standard_normal(n))
    return w / w.sum()


def build_galaxy(flux, structure, mag_auto, flux_radius, zphot, rng, max_extent=0.9,
                 gsparams=None):
    """Build a mock galaxy from its smooth-profile parameters and conditions.

    Parameters
    ----------
    flux : float
        Total flux (HST F814W counts/s).
    structure : dict
        Output of :meth:`galsim_deep.data.population.CosmosPopulation.sample_structure`:
        ``hlr`` (arcsec), ``q``, ``bulge_to_total``, ``bulge_disk_size_ratio``, and
        optionally ``class_conditions``: ``(mag_auto, flux_radius, zphot)`` that set
        the class probabilities and structure strength instead of the conditions
        (the donor's, for galaxies extrapolated below the real data by
        :class:`~galsim_deep.data.population.Cosmos252Population`).
    mag_auto, flux_radius, zphot : float
        The conditions (AB mag, pixels of 0.03 arcsec, redshift); unless
        ``structure`` has ``class_conditions``, they set the class probabilities
        and the strength of the structure.
    rng : numpy.random.Generator
        Consumed deterministically.
    max_extent : float, optional
        Radius (arcsec) inside which extended features (arms, tails, companions)
        are kept, default 0.9 (a 64-pixel stamp at 0.03 arcsec has 0.96).
    gsparams : galsim.GSParams, optional
        Applied to the whole profile.

    Returns
    -------
    MockGalaxy
    """
    import galsim

    hlr = float(structure["hlr"])
    q = float(structure["q"])
    btt = float(structure["bulge_to_total"])
    ratio = float(structure["bulge_disk_size_ratio"])
    class_mag, class_fr, class_z = structure.get("class_conditions",
                                                 (mag_auto, flux_radius, zphot))
    strength = structure_strength(class_mag, class_fr)
    probs = class_probabilities(btt, strength, class_z)
    label = int(rng.choice(len(CLASS_NAMES), p=probs))
    name = CLASS_NAMES[label]
    # Make the classes visually distinct: spheroids are bulge-dominated, the
    # disk-based classes disk-dominated.
    if name == "spheroid":
        btt = max(btt, 0.7 + 0.3 * rng.random())
    elif name in ("disk", "clumpy", "spiral"):
        btt = min(btt, 0.4 * rng.random())
    # Radii: the circular bulge + disk has half-light radius hlr.
    r_disk = hlr / bulge_disk_half_light_radius(btt, ratio)
    r_bulge = ratio * r_disk
    beta_d = math.pi * rng.random()
    beta_b = beta_d + 0.15 * rng.standard_normal()
    if btt >= 0.5:
        q_b = q
        q_d = max(0.1, q * (0.7 + 0.3 * rng.random()))
    else:
        q_d = max(0.1, q)
        q_b = min(1.0, q + (1.0 - q) * (0.3 + 0.5 * rng.random()))
    params = dict(structure, strength=strength, class_probabilities=probs.tolist(),
                  bulge_to_total=btt, r_disk=r_disk, r_bulge=r_bulge, q_disk=q_d, q_bulge=q_b,
                  beta_disk=beta_d, beta_bulge=beta_b)

    # Flux of the non-smooth structure (fraction of the total).
    extra = []
    f_struct = 0.0
    disk_shift = (0.0, 0.0)
    if name == "clumpy":
        f_struct = min(0.6, (0.15 + 0.3 * strength) * rng.uniform(0.7, 1.3))
        n_knots = int(rng.integers(8, 13 + int(40 * strength)))
        positions = galsim.RandomKnots(
            n_knots, profile=galsim.Exponential(half_light_radius=r_disk * rng.uniform(0.8, 1.2)),
            rng=_galsim_rng(rng)).points
        r = np.hypot(positions[:, 0], positions[:, 1])
        positions = positions[r < max_extent] if np.any(r < max_extent) else positions[:1] * 0
        sig = rng.uniform(0.02, 0.05, size=len(positions))
        fr = _lognormal_fractions(rng, len(positions), 0.6) * f_struct * flux
        extra.append(galsim.Add(_chain(positions, sig, fr)).shear(q=q_d, beta=beta_d * galsim.radians))
        params.update(n_knots=len(positions))
    elif name == "spiral":
        f_struct = min(0.6, (0.15 + 0.25 * strength) * rng.uniform(0.7, 1.3))
        m = 2 if rng.random() < 0.75 else 3
        pitch = math.radians(rng.uniform(12.0, 28.0))
        r0 = 0.3 * r_disk
        r1 = min(2.5 * r_disk, max_extent * 0.9)
        r1 = max(r1, 1.5 * r0)
        sigma = float(np.clip(0.12 * r_disk, 0.02, 0.08))
        theta_max = math.log(r1 / r0) / math.tan(pitch)
        arc = (r1 - r0) / math.sin(pitch)
        n_per_arm = int(np.clip(arc / (1.8 * sigma), 4, 30))
        theta = np.linspace(0.0, theta_max, n_per_arm)
        radius = r0 * np.exp(theta * math.tan(pitch))
        phase0 = 2 * math.pi * rng.random()
        blobs = []
        weights = []
        for j in range(m):
            ang = theta + phase0 + 2 * math.pi * j / m
            weights.append(radius * np.exp(-radius / r_disk)
                           * np.exp(0.4 * rng.standard_normal(n_per_arm)))
            for r_, a_ in zip(radius, ang):
                # Elongated along the arm: the log spiral's tangent is at angle a + 90 - pitch.
                blobs.append((r_ * math.cos(a_), r_ * math.sin(a_), a_ + math.pi / 2 - pitch))
        weights = np.concatenate(weights)
        weights = weights / weights.sum() * f_struct * flux
        sig = sigma * rng.uniform(0.8, 1.25, size=len(blobs))
        arms = [galsim.Gaussian(sigma=float(sg), flux=float(w)).shear(
                    q=0.4, beta=float(b) * galsim.radians).shift(float(x), float(y))
                for (x, y, b), sg, w in zip(blobs, sig, weights)]
        extra.append(galsim.Add(arms).shear(q=q_d, beta=beta_d * galsim.radians))
        params.update(n_arms=m, pitch_deg=math.degrees(pitch))
    elif name == "disturbed":
        f_clumps = (0.1 + 0.2 * strength) * rng.uniform(0.7, 1.3)
        has_tail = rng.random() < 0.7
        f_tail = rng.uniform(0.05, 0.12) if has_tail else 0.0
        f_struct = min(0.6, f_clumps + f_tail)
        f_clumps = f_struct - f_tail
        # Lopsided: the disk is off-centre from the bulge.
        d = rng.uniform(0.1, 0.35) * r_disk
        phi = 2 * math.pi * rng.random()
        disk_shift = (d * math.cos(phi), d * math.sin(phi))
        # Clumps on one side (within 60 degrees of phi).
        k = int(rng.integers(2, 5))
        ang = phi + rng.uniform(-math.pi / 3, math.pi / 3, size=k)
        rad = np.minimum(rng.uniform(0.4, 1.5, size=k) * r_disk, max_extent * 0.8)
        pts = np.column_stack([rad * np.cos(ang), rad * np.sin(ang)])
        sizes = rng.uniform(0.03, 0.1, size=k)
        cf = rng.dirichlet(np.ones(k)) * f_clumps * flux
        extra.extend(galsim.Exponential(half_light_radius=float(s), flux=float(f)).shift(
            float(x), float(y)) for (x, y), s, f in zip(pts, sizes, cf))
        if has_tail:
            n_tails = 2 if rng.random() < 0.3 else 1
            start = 2 * math.pi * rng.random()
            turn = rng.uniform(0.6, 1.6) * (1 if rng.random() < 0.5 else -1)
            for t in range(n_tails):
                n_blobs = 16
                s_ = np.linspace(0.0, 1.0, n_blobs)
                rr = np.minimum(r_disk * (1.0 + 2.0 * s_), max_extent * 0.9)
                aa = start + math.pi * t + turn * s_
                tp = np.column_stack([rr * np.cos(aa), rr * np.sin(aa)])
                ts = 0.04 + 0.06 * s_
                tf = np.exp(-1.5 * s_)
                tf = tf / tf.sum() * f_tail * flux / n_tails
                extra.extend(_chain(tp, ts, tf))
        params.update(n_clumps=k, tail=bool(has_tail), disk_shift=disk_shift)
    elif name == "pair":
        f_struct = rng.uniform(0.15, 0.45)
        n_c = rng.uniform(0.8, 3.0)
        hlr_c = max(0.03, hlr * rng.uniform(0.3, 0.7))
        sep = hlr * rng.uniform(1.2, 2.5)
        sep = float(np.clip(sep, 0.15, max(0.15, 0.75 * max_extent - 2 * hlr_c)))
        phi = 2 * math.pi * rng.random()
        comp = galsim.Sersic(n_c, half_light_radius=hlr_c, flux=f_struct * flux)
        comp = comp.shear(q=rng.uniform(0.4, 1.0), beta=math.pi * rng.random() * galsim.radians)
        extra.append(comp.shift(sep * math.cos(phi), sep * math.sin(phi)))
        params.update(companion_separation=sep, companion_hlr=hlr_c, companion_n=n_c)
    params["structure_fraction"] = f_struct

    smooth_flux = (1.0 - f_struct) * flux
    pieces = []
    components = dict.fromkeys(COMPONENTS)
    if extra:
        components["companion" if name == "pair" else "structure"] = galsim.Add(extra)
    if btt > 0:
        bulge = galsim.DeVaucouleurs(half_light_radius=r_bulge, flux=btt * smooth_flux)
        if q_b < 1:
            bulge = bulge.shear(q=q_b, beta=beta_b * galsim.radians)
        pieces.append(bulge)
        components["bulge"] = bulge
    if btt < 1:
        disk = galsim.Exponential(half_light_radius=r_disk, flux=(1 - btt) * smooth_flux)
        if q_d < 1:
            disk = disk.shear(q=q_d, beta=beta_d * galsim.radians)
        if disk_shift != (0.0, 0.0):
            disk = disk.shift(*disk_shift)
        pieces.append(disk)
        components["disk"] = disk
    profile = galsim.Add(pieces + extra)
    if gsparams is not None:
        profile = profile.withGSParams(gsparams)
        components = {k: None if c is None else c.withGSParams(gsparams)
                      for k, c in components.items()}

    n_eq = sersic_n_equivalent(btt, ratio)
    q_main, beta_main = (q_b, beta_b) if btt >= 0.5 else (q_d, beta_d)
    parametric = np.array([flux, hlr, n_eq, q_main, beta_main % math.pi], dtype=np.float64)
    return MockGalaxy(profile=profile, label=label, parametric=parametric, params=params,
                      components=components)
