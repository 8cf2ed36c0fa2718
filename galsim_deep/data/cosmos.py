"""The ``cosmos`` source: real HST/ACS COSMOS galaxies from ``galsim.COSMOSCatalog`` data.

As in Lanusse et al. (2020, section 4.1), each stamp is the galaxy's original
HST image at 0.03 arcsec/pixel with its **original PSF** and its **noise**:

* ``stamp``: the catalog's galaxy image, pasted centred (true centre to true
  centre, rounded down to whole pixels when the parities differ) onto a stamp
  of COSMOS correlated noise of the galaxy's own noise model (noise padding,
  as ``galsim.RealGalaxy(noise_pad_size=...)`` does); cropped to the centre
  when the original image is larger than the stamp.  The pixels are the
  original ones (no interpolation).
* ``psf``: the galaxy's own PSF image (``RealGalaxyCatalog.getPSFImage``),
  an effective PSF at 0.03 arcsec/pixel, drawn on the stamp with its
  centroid on pixel ``(S//2, S//2)`` (the COSMOS PSF images have their peak
  about a pixel off their centre) and normalised to unit sum.
* ``noise_variance`` / ``noise_power``: the catalog's ``NOISE_VARIANCE`` and
  the power spectrum of its correlated-noise model on the stamp grid.
* ``conditions``: ``mag_auto``, ``flux_radius``, ``zphot`` of the parametric
  catalog; ``parametric``: its single-Sersic fit (``sersicfit`` and ``hlr``,
  ``flux`` as ``COSMOSCatalog`` uses them).

Galaxies pass GalSim's ``exclusion_level`` cut (default ``'marginal'``, as in
the paper); a build of ``n`` galaxies takes a random subset (seeded) of them
in catalog order.  The data are the COSMOS training samples that
``galsim_download_cosmos`` fetches (F814W < 25.2: ~87,000 galaxies, 4 GB; or
F814W < 23.5), or any directory in the same format, e.g.
:func:`galsim_deep.data.cosmos_example.build_example_directory`.
"""
from pathlib import Path

import numpy as np

from .format import COSMOS_PIXEL_SCALE
from ..core.errors import InputError, MissingInputError

__all__ = ["CosmosSource", "SAMPLES", "EXCLUSION_LEVELS", "resolve_cosmos_files"]

SAMPLES = ("25.2", "23.5")
EXCLUSION_LEVELS = ("none", "bad_stamp", "bad_fits", "marginal")
_HOW_TO_GET = ("get the COSMOS training sample with `galsim_download_cosmos -s {sample}` "
               "(about 4 GB for 25.2; add `-d DIR` to choose where) and pass its folder as "
               "cosmos_dir (--cosmos-dir DIR/COSMOS_{sample}_training_sample)")


def resolve_cosmos_files(cosmos_dir=None, sample="25.2", file_name=None,
                         exclusion_level="marginal"):
    """Find and check the COSMOS catalog files, with a helpful error when they are missing.

    Parameters
    ----------
    cosmos_dir : str or Path, optional
        Folder of the sample (default: where ``galsim_download_cosmos`` puts it,
        ``<galsim share>/COSMOS_<sample>_training_sample``).
    sample : {'25.2', '23.5'}
        The COSMOS sample.
    file_name : str, optional
        Name of the real-galaxy catalog in ``cosmos_dir`` (default
        ``real_galaxy_catalog_<sample>.fits``).
    exclusion_level : str
        GalSim quality cut; ``'marginal'`` and ``'bad_stamp'`` also need the
        ``_selection.fits`` catalog.

    Returns
    -------
    (pathlib.Path, str)
        The folder and the catalog file name.

    Raises
    ------
    FileNotFoundError
        If the folder or a catalog file is missing; the message says how to get them.
    """
    import galsim

    if sample not in SAMPLES:
        raise InputError(f"unknown COSMOS sample {sample!r}: choose one of {', '.join(SAMPLES)}")
    if exclusion_level not in EXCLUSION_LEVELS:
        raise InputError(f"unknown exclusion_level {exclusion_level!r}: choose one of "
                         f"{', '.join(EXCLUSION_LEVELS)}")
    how = _HOW_TO_GET.format(sample=sample)
    if cosmos_dir is None:
        cosmos_dir = Path(galsim.meta_data.share_dir) / f"COSMOS_{sample}_training_sample"
    cosmos_dir = Path(cosmos_dir)
    if not cosmos_dir.is_dir():
        raise MissingInputError(f"COSMOS directory {cosmos_dir} does not exist: {how}")
    name = file_name or f"real_galaxy_catalog_{sample}.fits"
    needed = [name, name.replace(".fits", "_fits.fits")]
    if exclusion_level in ("marginal", "bad_stamp"):
        needed.append(name.replace(".fits", "_selection.fits"))
    missing = [n for n in needed if not (cosmos_dir / n).is_file()]
    if missing:
        raise MissingInputError(f"COSMOS directory {cosmos_dir} is incomplete, missing "
                                f"{', '.join(missing)}: {how}")
    return cosmos_dir, name


class CosmosSource:
    """Builder source ``cosmos`` (see the module docstring).

    Parameters
    ----------
    stamp_size : int
        pixels.
    pixel_scale : float
        Must equal the catalog's pixel scale (0.03 arcsec/pixel): the stamps
        are the original pixels.
    seed : int
        Seed of the galaxy subset, the split and the padding noise.
    cosmos_dir, sample, file_name, exclusion_level
        See :func:`resolve_cosmos_files`.
    max_flux_radius : float, optional
        Also drop galaxies with ``flux_radius`` above this (pixels of 0.03 arcsec).
    """

    name = "cosmos"
    fields = ("stamp", "psf", "noise_variance", "noise_power", "parametric", "ident", "psf_id")

    def __init__(self, stamp_size, pixel_scale, seed, cosmos_dir=None, sample="25.2",
                 file_name=None, exclusion_level="marginal", max_flux_radius=None):
        if abs(pixel_scale - COSMOS_PIXEL_SCALE) > 1e-9:
            raise InputError(f"the cosmos source keeps the original HST pixels of "
                             f"{COSMOS_PIXEL_SCALE} arcsec: use pixel_scale={COSMOS_PIXEL_SCALE} "
                             f"(--pixel-scale {COSMOS_PIXEL_SCALE}), got {pixel_scale}")
        self.stamp_size = int(stamp_size)
        self.pixel_scale = float(pixel_scale)
        self.seed = int(seed)
        self.cosmos_dir, self.file_name = resolve_cosmos_files(cosmos_dir, sample, file_name,
                                                               exclusion_level)
        self.cosmos_dir = self.cosmos_dir.resolve()
        self.sample = sample
        self.exclusion_level = exclusion_level
        self.max_flux_radius = None if max_flux_radius is None else float(max_flux_radius)
        self.orig_indices = None
        self.n_available = None
        self._ready = False

    def __getstate__(self):
        # Worker processes get the settings and the chosen galaxies, not open catalogs.
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        state["_ready"] = False
        return state

    def options(self):
        """The settings that define the build (stored in the resume manifest)."""
        return {"cosmos_dir": str(self.cosmos_dir), "file_name": self.file_name,
                "sample": self.sample, "exclusion_level": self.exclusion_level,
                "max_flux_radius": self.max_flux_radius}

    def _catalog(self):
        import galsim

        try:
            return galsim.COSMOSCatalog(file_name=self.file_name, dir=str(self.cosmos_dir),
                                        exclusion_level=self.exclusion_level)
        except OSError as err:
            raise MissingInputError(
                f"cannot read the COSMOS catalogs in {self.cosmos_dir} ({err}): the files are "
                f"missing or corrupt; {_HOW_TO_GET.format(sample=self.sample)}") from err

    def plan(self, n):
        """Choose the galaxies of a build of ``n`` (None: all that pass the cuts).

        Returns
        -------
        int
            The number of examples.
        """
        cat = self._catalog()
        orig = np.asarray(cat.orig_index)
        if self.max_flux_radius is not None:
            fr = np.asarray(cat.param_cat["flux_radius"])[orig]
            orig = orig[fr <= self.max_flux_radius]
        self.n_available = len(orig)
        if n is None:
            n = len(orig)
        if n > len(orig):
            raise InputError(f"only {len(orig)} COSMOS galaxies in {self.cosmos_dir} pass "
                             f"exclusion_level={self.exclusion_level!r}"
                             + ("" if self.max_flux_radius is None else
                                f" and flux_radius <= {self.max_flux_radius}")
                             + f": ask for n <= {len(orig)}")
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xC05]))
        chosen = np.sort(rng.choice(len(orig), size=n, replace=False)) if n < len(orig) \
            else np.arange(len(orig))
        self.orig_indices = orig[chosen]
        self._check_files(cat.real_cat, self.orig_indices)
        return int(n)

    def _check_files(self, real_cat, indices):
        names = {real_cat.gal_file_name[i] for i in indices}
        names |= {real_cat.psf_file_name[i] for i in indices}
        if real_cat.noise_file_name is not None:
            names |= {real_cat.noise_file_name[i] for i in indices}
        missing = sorted(Path(n).name for n in names if not Path(n.strip()).is_file())
        if missing:
            shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
            raise MissingInputError(
                f"COSMOS directory {self.cosmos_dir} is incomplete: {len(missing)} image files "
                f"named in {self.file_name} are missing ({shown}); "
                + _HOW_TO_GET.format(sample=self.sample))

    def setup(self):
        """Open the catalogs (once per process)."""
        if self._ready:
            return
        import galsim
        from astropy.io import fits

        if self.orig_indices is None:
            raise RuntimeError("CosmosSource.plan(n) must run before make()")
        self._real = galsim.RealGalaxyCatalog(self.file_name, dir=str(self.cosmos_dir))
        with fits.open(self.cosmos_dir / self.file_name.replace(".fits", "_fits.fits")) as h:
            self._param = np.array(h[1].data, copy=True)
        self._noise = {}
        self._ready = True

    def _unit_noise(self, orig):
        """Unit-variance noise model of galaxy ``orig`` and its power spectrum (cached per file)."""
        from .noise import noise_power

        key = None if self._real.noise_file_name is None else self._real.noise_file_name[orig]
        if key not in self._noise:
            cn = self._real.getNoise(orig).withVariance(1.0)
            self._noise[key] = (cn, noise_power(cn, self.stamp_size, self.pixel_scale))
        return self._noise[key]

    def make(self, index):
        """Example ``index`` of the build: a dict of per-example arrays."""
        import galsim

        from .noise import draw_noise
        from .psf import centre_psf, draw_psf_image

        self.setup()
        orig = int(self.orig_indices[index])
        s = self.stamp_size
        scale = float(self._real.pixel_scale[orig])
        if abs(scale - self.pixel_scale) > 1e-9:
            raise InputError(f"COSMOS galaxy {orig} has pixel scale {scale}, not "
                             f"{self.pixel_scale}: this catalog cannot be used at that scale")
        gal = self._real.getGalImage(orig).array
        psf_image = self._real.getPSFImage(orig)
        variance = float(self._real.variance[orig])
        cn, unit_power = self._unit_noise(orig)
        state = np.random.SeedSequence([self.seed, int(index)]).generate_state(1)[0]
        stamp = np.sqrt(variance) * draw_noise(cn, s, scale, int(state) or 1)
        _paste_centred(stamp, gal)
        psf = centre_psf(galsim.InterpolatedImage(psf_image, flux=1.0), scale)
        rec = self._param[orig]
        n = float(np.clip(rec["sersicfit"][2], 0.3, 6.2))
        parametric = np.array([rec["flux"][0], rec["hlr"][0], n, rec["sersicfit"][3],
                               rec["sersicfit"][7]], dtype=np.float64)
        return {
            "stamp": stamp,
            "psf": draw_psf_image(psf, s, scale)[0],
            "noise_variance": variance,
            "noise_power": variance * unit_power,
            "conditions": np.array([rec["mag_auto"], rec["flux_radius"], rec["zphot"]],
                                   dtype=np.float64),
            "parametric": parametric,
            "ident": int(self._real.ident[orig]),
            "psf_id": int(self._real.psf_hdu[orig]),
        }

    def attrs(self):
        """Root attributes describing the source."""
        return {
            "selection": {
                "sample": self.sample,
                "catalog": str(self.cosmos_dir / self.file_name),
                "exclusion_level": self.exclusion_level,
                "max_flux_radius_pixels_0.03": self.max_flux_radius,
                "n_available": self.n_available,
                "rule": "random subset (seeded) of the galaxies passing GalSim's "
                        "exclusion_level cut, in catalog order",
            },
            "psf_description": "each galaxy's original HST/ACS F814W PSF image from the COSMOS "
                               "catalog (RealGalaxyCatalog.getPSFImage), effective PSF at 0.03 "
                               "arcsec/pixel; psf_id = catalog PSF_HDU",
            "noise_description": "the galaxy's original noise inside its HST stamp; outside it, "
                                 "padding with its catalog correlated-noise model "
                                 "(NOISE_FILENAME, NOISE_VARIANCE)",
            "seed_scheme": "subset and split from the seed; padding noise of example i from "
                           "numpy SeedSequence([seed, i])",
        }


def _paste_centred(dst, src):
    """Copy ``src`` into the centre of ``dst`` (true centres aligned, rounded down); crop if larger."""
    for axis in (0, 1):
        if src.shape[axis] > dst.shape[axis]:
            start = (src.shape[axis] - dst.shape[axis]) // 2
            src = np.take(src, np.arange(start, start + dst.shape[axis]), axis=axis)
    y0 = (dst.shape[0] - src.shape[0]) // 2
    x0 = (dst.shape[1] - src.shape[1]) // 2
    dst[y0:y0 + src.shape[0], x0:x0 + src.shape[1]] = src
    return dst
