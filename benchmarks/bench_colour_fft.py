"""A colour galaxy drawn the way a GalSim user draws it, against GalSim's chromatic
parametric galaxy, in the same run: time, FFTs and accuracy per galaxy.

Prints a table and writes JSON::

    python benchmarks/bench_colour_fft.py [--model hub:flow-vae-mock-cosmos-25.2-colour]
        [--n 100] [--rounds 3] [--chromatic-n 5] [--out benchmarks/colour_fft.json]

The chromatic module samples ``n`` galaxies once (not timed; ONNX Runtime): their
rotated component images and SEDs.  Each case then builds every galaxy's GalSim object
and draws it through LSST r with a Kolmogorov PSF (FWHM 0.7") on a 32 x 32 stamp at
0.2"/pixel (best of ``--rounds`` interleaved rounds; the objects are built inside the
timing, so that no per-object cache carries over between rounds):

``ComponentGalaxy, natural call``
    ``galsim.Convolve(gal, psf).drawImage(bandpass, ...)`` of what
    ``chromatic_profile`` now returns (GalSim splits the ``ChromaticSum``: one FFT
    per component);
``ChromaticSum of InterpolatedImage * SED (before)``
    the same call on ``galsim.Add([InterpolatedImage(I_k) * SED_k])``, what
    ``chromatic_profile`` returned before;
``ComponentGalaxy.band_profile``
    ``galsim.Convolve(gal.band_profile(bandpass), psf).drawImage(...)``: the band's
    image ``sum_k f_kb I_k``, one FFT;
``inseparable, not a ChromaticSum``
    the same galaxy as a ``galsim.ChromaticObject`` that GalSim cannot split (its
    ``drawImage(bandpass)`` the band's image): the natural call then goes through
    GalSim's effective profile (the object drawn at half its Nyquist scale, wrapped in
    a new ``InterpolatedImage``): one FFT of the stamp, but a larger one inside that
    ``InterpolatedImage``;
``not a sum, exact samples at GalSim's scale`` (a candidate route to one FFT per band)
    the same, the object answering GalSim's request (``scale`` half the Nyquist scale,
    ``method='no_pixel'``) with the band profile's exact samples (the quintic kernel as
    two matrices) on a grid holding all of its light;
``not a sum, its own grid (not the scale asked)`` (a candidate route, for its cost)
    the same, the object answering with the band's image ``sum_k f_kb I_k`` on its own
    pixel grid, not the scale GalSim asks for: the effective profile's cost where the
    resampling costs nothing (an object that did this would break ``drawImage``'s
    contract);
``GalSim's interpolate(), 8 wavelengths`` (a candidate route, though a new call)
    ``galsim.Convolve(gal.interpolate(waves), psf).drawImage(bandpass)``, ``waves`` 8
    wavelengths across the band: GalSim's ``InterpolatedChromaticObject``, which a
    convolution also draws through the effective profile;
``COSMOSCatalog parametric, chromatic`` (the reference)
    ``makeGalaxy(gal_type='parametric', chromatic=True)`` of GalSim's example COSMOS
    catalogue, the natural call.

Accuracy: on the first 20 galaxies, the largest ``|difference| / peak`` of each case's
stamp and its relative flux difference, against the ``ChromaticSum``.

Through a chromatic PSF (``galsim.ChromaticAtmosphere`` of the Kolmogorov at 620 nm, 30
degrees from the zenith), on the first ``--chromatic-n`` galaxies: the natural call of the
``ComponentGalaxy`` (GalSim splits the sum: each term's effective PSF) against the same
galaxy as an object that is not a sum (GalSim then integrates the convolution over the
band's wavelengths itself, one FFT per wavelength, and never calls the object's
``drawImage``): time per galaxy and the difference.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, catalog, interleaved_times,  # noqa: E402
                     loadavg, write_conditions, write_json)

REFERENCE = "COSMOSCatalog parametric, chromatic"
CASES = ("ComponentGalaxy, natural call", "ChromaticSum of InterpolatedImage * SED (before)",
         "ComponentGalaxy.band_profile", "inseparable, not a ChromaticSum",
         "not a sum, exact samples at GalSim's scale",
         "not a sum, its own grid (not the scale asked)",
         "GalSim's interpolate(), 8 wavelengths")


def _quintic_samples(size, pixel_scale, scale):
    """The matrix that samples a quintic-interpolated axis of ``size`` pixels at
    ``pixel_scale`` at ``scale``, both grids centred on their true centres, on a grid that
    holds the kernel's whole support: ``[M, size]``."""
    import galsim

    half = ((size - 1) / 2 + 3) * pixel_scale
    m = 2 * int(np.ceil(half / scale)) + 2
    out = (np.arange(m) - (m - 1) / 2) * scale
    grid = (np.arange(size) - (size - 1) / 2) * pixel_scale
    u = (out[:, None] - grid[None, :]) / pixel_scale
    return galsim.Quintic().xval(u.ravel()).reshape(m, size)


def _inseparable_class(answer="galsim"):
    """A ``galsim.ChromaticObject`` that is not a ``ChromaticSum``, drawn through a band
    as a ``ComponentGalaxy`` is (what GalSim's convolution does with such an object).
    ``answer``: how its ``drawImage(bandpass, scale=..., method='no_pixel')`` answers
    GalSim's effective profile: ``galsim`` (``ComponentGalaxy.drawImage``, GalSim's
    drawing of ``band_profile`` at that scale), ``samples`` (the band profile's exact
    samples at that scale, all of its light; axis-aligned galaxies without a
    transformation) or ``own grid`` (the band's image on the galaxy's own pixel grid,
    whatever the scale asked)."""
    import galsim

    class Inseparable(galsim.ChromaticObject):
        def __init__(self, gal):
            self._gal = gal
            self.separable, self.interpolated, self.deinterpolated = False, False, self

        sed = property(lambda self: self._gal.sed)
        gsparams = property(lambda self: self._gal.gsparams)

        def withGSParams(self, gsparams=None, **kwargs):
            return self

        def evaluateAtWavelength(self, wave):
            return self._gal.evaluateAtWavelength(wave)

        def withScaledFlux(self, flux_ratio):
            # GalSim multiplies by the achromatic PSF's flat SED before drawing.
            if isinstance(flux_ratio, galsim.SED) and flux_ratio._const:
                flux_ratio = float(flux_ratio(500.0))
            return Inseparable(self._gal * flux_ratio)

        def drawImage(self, bandpass, image=None, integrator="quadratic", **kwargs):
            gal = self._gal
            if answer == "galsim":
                return gal.drawImage(bandpass, image=image, **kwargs)
            assert gal.angle is None and gal.jac is None and image is None
            band = np.einsum("k,kxy->xy", gal.band_fluxes(bandpass), gal.arrays,
                             dtype=np.float64)
            if answer == "own grid":
                return galsim.Image(band, scale=gal.pixel_scale)
            assert kwargs.get("method") == "no_pixel"
            scale = kwargs["scale"]
            rows = _quintic_samples(len(band), gal.pixel_scale, scale)
            return galsim.Image(rows @ band @ rows.T * (scale / gal.pixel_scale) ** 2,
                                scale=scale)

        def __eq__(self, other):
            return isinstance(other, Inseparable) and other._gal is self._gal

        def __hash__(self):
            return id(self._gal)

    return Inseparable


def count_ffts(draw):
    """GalSim's FFT draws (``GSObject.drawFFT`` calls) made by ``draw()``."""
    import galsim

    with mock.patch.object(galsim.GSObject, "drawFFT", autospec=True,
                           side_effect=galsim.GSObject.drawFFT) as fft:
        draw()
    return fft.call_count


def run(args, work):
    import galsim

    from galsim_deep import GenerativeGalaxyModel
    from galsim_deep.data.cosmos_example import EXAMPLE_FILE_NAME, build_example_directory
    from galsim_deep.engine.colour_object import ComponentGalaxy
    from galsim_deep.engine.profiles import galaxy_profile
    from galsim_deep.physics.bands import get_bandpass

    cosmos = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME,
                                  dir=str(build_example_directory(work / "cosmos", seed=1)))
    psf, bandpass = galsim.Kolmogorov(fwhm=PSF_FWHM), get_bandpass("LSST_r")
    model = GenerativeGalaxyModel(args.model, range_policy="clip", runtime="onnx")
    cat = catalog(args.n)
    cat["mag_f606w"] = cat["mag_auto"] + 0.7
    model.sample({k: v[:2] for k, v in cat.items()}, rng=0)   # loads the network
    t0 = time.perf_counter()
    made = model.sample(cat, rng=1)
    sample_ms = 1e3 * (time.perf_counter() - t0) / args.n
    # What each galaxy is made of: rotated component images, SEDs, how they are wrapped.
    parts = [(g.arrays, g.seds, g.angle, g.stamp_size) for g in made]
    Inseparable = _inseparable_class()
    Sampled, OwnGrid = _inseparable_class("samples"), _inseparable_class("own grid")
    waves = np.linspace(bandpass.blue_limit, bandpass.red_limit, 8)
    kw = dict(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)

    def new(arrays, seds, angle, size):
        return ComponentGalaxy(arrays, model.pixel_scale, seds, angle, size)

    def old(arrays, seds, angle, size):
        return galsim.Add([galaxy_profile(a, model.pixel_scale, angle, stamp_size=size) * sed
                           for a, sed in zip(arrays, seds)])

    draws = {
        CASES[0]: lambda p: galsim.Convolve(new(*p), psf).drawImage(bandpass, **kw),
        CASES[1]: lambda p: galsim.Convolve(old(*p), psf).drawImage(bandpass, **kw),
        CASES[2]: lambda p: galsim.Convolve(new(*p).band_profile(bandpass), psf).drawImage(
            **kw),
        CASES[3]: lambda p: galsim.Convolve(Inseparable(new(*p)), psf).drawImage(bandpass,
                                                                                 **kw),
        CASES[4]: lambda p: galsim.Convolve(Sampled(new(*p)), psf).drawImage(bandpass, **kw),
        CASES[5]: lambda p: galsim.Convolve(OwnGrid(new(*p)), psf).drawImage(bandpass, **kw),
        CASES[6]: lambda p: galsim.Convolve(new(*p).interpolate(waves), psf).drawImage(
            bandpass, **kw),
    }

    def parametric(k):
        gal = cosmos.makeGalaxy(k % cosmos.nobjects, gal_type="parametric", chromatic=True)
        return galsim.Convolve(gal, psf).drawImage(bandpass, **kw)

    cases = {name: (lambda d=draw: [d(p) for p in parts]) for name, draw in draws.items()}
    cases[REFERENCE] = lambda: [parametric(k) for k in range(args.n)]
    timed = interleaved_times(cases, args.rounds)

    accuracy = {name: {"max_abs_diff_over_peak": 0.0, "max_rel_flux_diff": 0.0}
                for name in draws}
    for p in parts[:20]:
        want = draws[CASES[1]](p).array
        for name, draw in draws.items():
            got = draw(p).array
            acc = accuracy[name]
            acc["max_abs_diff_over_peak"] = max(acc["max_abs_diff_over_peak"], float(
                np.abs(got - want).max() / want.max()))
            acc["max_rel_flux_diff"] = max(acc["max_rel_flux_diff"],
                                           float(abs(got.sum() / want.sum() - 1)))
    ffts = {name: count_ffts(lambda d=draw: d(parts[0])) for name, draw in draws.items()}
    ffts[REFERENCE] = count_ffts(lambda: parametric(0))
    reference = timed[REFERENCE][0]
    chromatic = chromatic_psf(parts[:args.chromatic_n], new, Inseparable, bandpass, kw)
    rows = [{"case": name, "ms_per_galaxy": 1e3 * best / args.n,
             "median_ms_per_galaxy": 1e3 * median / args.n, "ratio": best / reference,
             "ffts_per_galaxy": ffts[name], **accuracy.get(name, {})}
            for name, (best, median) in timed.items()]
    return {"rows": rows, "components": int(np.mean([len(p[0]) for p in parts])),
            "sample_ms_per_galaxy": sample_ms, "chromatic_psf": chromatic}


def chromatic_psf(parts, new, Inseparable, bandpass, kw):
    """Through a chromatic PSF: the natural call of the ``ComponentGalaxy`` (GalSim splits
    the sum) against the same galaxy as an object that is not a sum.  Each galaxy is drawn
    both ways, alternately, twice, GalSim's caches emptied before each draw; the best time
    of each, the mean over the galaxies."""
    import galsim

    psf = galsim.ChromaticAtmosphere(galsim.Kolmogorov(fwhm=PSF_FWHM), base_wavelength=620.0,
                                     zenith_angle=30.0 * galsim.degrees)
    draws = {"ComponentGalaxy, natural call (GalSim splits the sum)":
             lambda p: galsim.Convolve(new(*p), psf).drawImage(bandpass, **kw),
             "not a sum (GalSim integrates over wavelength)":
             lambda p: galsim.Convolve(Inseparable(new(*p)), psf).drawImage(bandpass, **kw)}
    times = {name: [] for name in draws}
    worst = {"max_abs_diff_over_peak": 0.0, "max_rel_flux_diff": 0.0}
    for p in parts:
        best, images = {name: np.inf for name in draws}, {}
        for _ in range(2):
            for name, draw in draws.items():
                # Each galaxy has its own SEDs: GalSim's caches of effective profiles and
                # band integrals start empty for it, as for a new galaxy.
                galsim.ChromaticConvolution._effective_prof_cache.clear()
                galsim.ChromaticObject._multiplier_cache.clear()
                t0 = time.perf_counter()
                images[name] = draw(p).array
                best[name] = min(best[name], time.perf_counter() - t0)
        for name in draws:
            times[name].append(best[name])
        want, got = (images[name] for name in draws)
        worst["max_abs_diff_over_peak"] = max(worst["max_abs_diff_over_peak"], float(
            np.abs(got - want).max() / want.max()))
        worst["max_rel_flux_diff"] = max(worst["max_rel_flux_diff"],
                                         float(abs(got.sum() / want.sum() - 1)))
    return {"psf": f"ChromaticAtmosphere(Kolmogorov FWHM {PSF_FWHM}\", 620 nm, 30 deg)",
            "n": len(parts),
            "ms_per_galaxy": {name: 1e3 * float(np.mean(t)) for name, t in times.items()},
            "not_a_sum_against_the_natural_call": worst}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2-colour")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chromatic-n", type=int, default=5,
                        help="galaxies drawn through the chromatic PSF (0: none)")
    parser.add_argument("--out", default="benchmarks/colour_fft.json")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_conditions(work)
        result = run(args, work)
    result.update(model=args.model, n=args.n, rounds=args.rounds, loadavg=loadavg(),
                  seconds=time.perf_counter() - t0, psf=f"Kolmogorov FWHM {PSF_FWHM}\"",
                  stamp=f"{STAMP}x{STAMP} at {PIXEL_SCALE}\"/pixel", band="LSST_r",
                  command=" ".join(["python benchmarks/bench_colour_fft.py",
                                    *(argv or sys.argv[1:])]))
    print(f"{'case':50s} {'ms/gal':>7s} {'median':>7s} {'ratio':>6s} {'FFTs':>5s} "
          f"{'diff/peak':>10s} {'flux':>9s}")
    for row in result["rows"]:
        print(f"{row['case']:50s} {row['ms_per_galaxy']:7.2f} "
              f"{row['median_ms_per_galaxy']:7.2f} {row['ratio']:6.2f} "
              f"{row['ffts_per_galaxy']:5d} {row.get('max_abs_diff_over_peak', 0):10.2e} "
              f"{row.get('max_rel_flux_diff', 0):9.2e}")
    chromatic = result["chromatic_psf"]
    if chromatic["n"]:
        print(f"\nthrough {chromatic['psf']}, {chromatic['n']} galaxies:")
        for name, ms in chromatic["ms_per_galaxy"].items():
            print(f"  {name:56s} {ms:8.1f} ms")
        worst = chromatic["not_a_sum_against_the_natural_call"]
        print(f"  not a sum against the natural call: diff/peak "
              f"{worst['max_abs_diff_over_peak']:.2e}, flux {worst['max_rel_flux_diff']:.2e}")
    print(f"(sampling the components and SEDs, not in the times above: "
          f"{result['sample_ms_per_galaxy']:.2f} ms per galaxy; {result['components']} "
          f"components)")
    write_json(result, args.out)
    print(f"\nwrote {args.out} in {result['seconds']:.0f} s")
    return result


if __name__ == "__main__":
    main()
