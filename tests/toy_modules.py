"""Small modules for the plugin tests, exported with the project's own exporter.

``ToyNetwork`` is an untrained conditional generator (two dense layers with
seeded random weights, a softplus output under a Gaussian window);
``ToyGaussian`` draws an analytic round Gaussian whose flux and size follow
the conditions, so the centring of the whole sampling chain can be measured.
"""
import numpy as np
import tensorflow as tf

from galsim_deep.training.export import export_module

CONDITIONS = [
    {"name": "mag_auto", "unit": "AB mag", "description": "F814W SExtractor MAG_AUTO",
     "min": 20.0, "max": 25.2, "mean": 23.5, "std": 1.0},
    {"name": "flux_radius", "unit": "pixel (0.03 arcsec)",
     "description": "SExtractor FLUX_RADIUS", "min": 1.5, "max": 40.0, "mean": 8.0, "std": 4.0},
    {"name": "zphot", "unit": "", "description": "photometric redshift",
     "min": 0.0, "max": 4.0, "mean": 0.9, "std": 0.5},
]
ZERO_POINT = 25.94


def _signature(conditions, latent_size):
    return [tf.TensorSpec([None], tf.float32, name=c["name"]) for c in conditions] + [
        tf.TensorSpec([None, latent_size], tf.float32, name="random_normal")]


def _by_name(names, inputs):
    return dict(zip(names, inputs))


def metadata(name, stamp_size, latent_size, conditions=CONDITIONS, pixel_scale=0.03):
    """Module metadata for a toy module."""
    return {
        "name": name, "version": "0.0.1", "family": "toy",
        "description": "an untrained toy generator for the galsim_deep tests",
        "pixel_scale": pixel_scale, "stamp_size": stamp_size, "latent_size": latent_size,
        "flux": {"unit": "counts/s (HST/ACS F814W, GalSim COSMOSCatalog convention)",
                 "convention": "cosmos", "collecting_area_cm2": float(np.pi * 120 ** 2 * (1 - 0.33 ** 2)),
                 "exptime_s": 1.0, "zero_point": ZERO_POINT, "magnitude_condition": "mag_auto"},
        "centering": {"convention": "true_center",
                      "description": "galaxy centred on the stamp's geometric centre"},
        "conditions": conditions,
        "provenance": {"dataset": "none", "recipe": "tests/toy_modules.py", "steps": 0},
        "metrics": {}, "citation": "none",
    }


def _grid(stamp_size, pixel_scale):
    c = (stamp_size - 1) / 2.0
    y, x = np.mgrid[:stamp_size, :stamp_size].astype(np.float32)
    return tf.constant((x - c) * pixel_scale), tf.constant((y - c) * pixel_scale)


class ToyNetwork(tf.Module):
    """Untrained conditional generator: dense -> dense -> softplus x Gaussian window."""

    def __init__(self, stamp_size=32, latent_size=5, hidden=16, seed=0, pixel_scale=0.03,
                 conditions=CONDITIONS):
        super().__init__()
        self.names = tuple(c["name"] for c in conditions)
        n_in = len(conditions) + latent_size
        self.mean = tf.constant([c["mean"] for c in conditions], tf.float32)
        self.std = tf.constant([c["std"] for c in conditions], tf.float32)
        self.w1 = tf.Variable(tf.random.stateless_normal([n_in, hidden], [seed, 1]) * 0.5)
        self.w2 = tf.Variable(tf.random.stateless_normal([hidden, stamp_size ** 2], [seed, 2]) * 0.3)
        x, y = _grid(stamp_size, pixel_scale)
        self.window = tf.exp(-(x ** 2 + y ** 2) / (2 * (0.15 ** 2)))
        self.stamp_size = stamp_size
        self.sample = tf.function(self._sample, input_signature=_signature(conditions, latent_size))

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        mag_auto = _by_name(self.names, conds)["mag_auto"]
        c = (tf.stack(conds, axis=1) - self.mean) / self.std
        h = tf.tanh(tf.concat([c, random_normal], axis=1) @ self.w1)
        img = tf.nn.softplus(h @ self.w2 - 2.0)
        img = tf.reshape(img, [-1, self.stamp_size, self.stamp_size]) * self.window
        return {"image": img * 10.0 ** (-0.4 * (mag_auto[:, None, None] - ZERO_POINT)) / 20.0}


class ToyGaussian(tf.Module):
    """Round Gaussian of flux 10**(-0.4 (mag - 25.94)) and sigma ~ flux_radius."""

    def __init__(self, stamp_size=32, latent_size=2, pixel_scale=0.03, conditions=CONDITIONS):
        super().__init__()
        self.names = tuple(c["name"] for c in conditions)
        self.log_scatter = tf.Variable(np.log(0.05), dtype=tf.float32)
        self.x, self.y = _grid(stamp_size, pixel_scale)
        self.pixel_area = pixel_scale ** 2
        self.sample = tf.function(self._sample, input_signature=_signature(conditions, latent_size))

    def _sample(self, *inputs):
        *conds, random_normal = inputs
        named = _by_name(self.names, conds)
        mag_auto, flux_radius = named["mag_auto"], named["flux_radius"]
        # flux_radius (half-light radius) in pixels of 0.03" -> Gaussian sigma in arcsec
        sigma = flux_radius * 0.03 / 1.1774 * tf.exp(tf.exp(self.log_scatter) * random_normal[:, 0])
        sigma = sigma[:, None, None]
        flux = 10.0 ** (-0.4 * (mag_auto - ZERO_POINT))[:, None, None]
        sb = flux / (2 * np.pi * sigma ** 2) * tf.exp(-(self.x ** 2 + self.y ** 2) / (2 * sigma ** 2))
        return {"image": sb * self.pixel_area}


def export_toy(kind, out_dir, stamp_size=32, conditions=CONDITIONS, **kwargs):
    """Export a toy module ('network' or 'gaussian') with the project's exporter."""
    cls = {"network": ToyNetwork, "gaussian": ToyGaussian}[kind]
    model = cls(stamp_size=stamp_size, conditions=conditions, **kwargs)
    latent = model.sample.input_signature[-1].shape[1]
    meta = metadata(f"toy-{kind}", stamp_size, latent, conditions=conditions)
    return export_module(model, out_dir, meta, {"sample": model.sample})


def train_colour_module(out_dir, bands=("F814W", "F606W")):
    """The ``tiny`` recipe made chromatic (two components) on a tiny multi-band mock, trained
    (6 steps, flow 10 steps) and exported: a real chromatic module in seconds."""
    from galsim_deep.data.build import build_dataset
    from galsim_deep.training.families import get_family
    from galsim_deep.training.latent_flow import train_latent_flow
    from galsim_deep.training.recipes import load_recipe
    from galsim_deep.training.runner import run_family

    data = build_dataset("mock-cosmos", 24, out_dir / "c.h5", stamp_size=32, pixel_scale=0.03,
                         seed=1, processes=1, progress=False, bands=list(bands))
    recipe = load_recipe("tiny", [f"dataset.path={data}", f"output_dir={out_dir / 'run'}",
                                  f"dataset.bands={list(bands)}", "vae.components=2",
                                  "flow.conditions=[mag_auto, flux_radius, zphot, mag_f606w]"])
    family = get_family("flow-vae")
    run_family(recipe, family, progress=False)
    train_latent_flow(recipe, progress=False)
    return family.export(recipe, out_dir / "module")
