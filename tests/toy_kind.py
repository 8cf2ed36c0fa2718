"""A toy family added as one new sampling kind, in this one file.

The family's network draws each galaxy as two parts (a compact core and an extended
envelope) from its own signature, ``sample_parts``; its modules say
``sampling_kind: toy-parts``.  :class:`PartsKind` is all the runtime needs to know about
it: it runs ``sample_parts``, keeps the parts, and makes each galaxy a ``galsim.Sum`` of
the two parts' profiles, rotated alike.  The API, the YAML type and the BTK generator
sample it with no other change (``tests/engine/kinds/test_kinds.py``, ``tests/api/test_btk.py``).
"""
import numpy as np

from galsim_deep.engine.kinds import SamplingKind, register_kind

NAME = "toy-parts"


@register_kind
class PartsKind(SamplingKind):
    """Two parts per galaxy from ``sample_parts``; the galaxy is their sum."""

    name = NAME
    signature = "sample_parts"

    def outputs(self, out):
        return {"stamps": out["parts"].sum(axis=1), "parts": out["parts"]}

    def galaxies(self, batch, rows=None, factors=None, rngs=None, noise_pad_size=0, noise=None,
                 calculate_maxk=False, **options):
        import galsim

        if noise_pad_size:
            raise ValueError("the toy parts kind has no noise padding")
        return [galsim.Add([batch.profile(a, angle, calculate_maxk, options) for a in arrays])
                for arrays, angle in batch.rendered("parts", rows, factors)]

    def band_galaxies(self, batch, rows):
        return self.galaxies(batch, rows)


def export_parts_module(out_dir, stamp_size=24):
    """Export the toy family's module (untrained: seeded random weights) with the project's
    exporter, with its portable copy of ``sample_parts`` (ONNX Runtime samples it); its
    metadata names the kind."""
    import tensorflow as tf

    from galsim_deep.training.export import export_module
    from tests.toy_modules import CONDITIONS, ToyNetwork, metadata

    class PartsNetwork(ToyNetwork):
        def __init__(self):
            super().__init__(stamp_size=stamp_size, latent_size=4, seed=3)
            spec = self.sample.input_signature
            self.sample_parts = tf.function(self._parts, input_signature=spec)
            self.sample = tf.function(lambda *a: {"image": tf.reduce_sum(
                self._parts(*a)["parts"], axis=1)}, input_signature=spec)

        def _parts(self, *inputs):
            image = self._sample(*inputs)["image"]
            r2 = tf.reduce_sum(tf.stack(np.meshgrid(*[np.arange(stamp_size) - (stamp_size - 1)
                                                      / 2] * 2), 0) ** 2, 0)
            core = tf.cast(tf.exp(-r2 / 8.0), tf.float32)
            return {"parts": tf.stack([image * core, image * (1.0 - core)], axis=1)}

    network = PartsNetwork()
    meta = metadata("toy-parts", stamp_size, 4, conditions=CONDITIONS)
    meta["sampling_kind"] = NAME
    return export_module(network, out_dir, meta, {"sample": network.sample,
                                                  "sample_parts": network.sample_parts},
                         portable=True)
