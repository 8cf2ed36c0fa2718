"""Helpers of the tests of the latent tools in ONNX Runtime (the portable copy): observed
stamps of a dataset, a process without TensorFlow, and the runners it loaded."""
import numpy as np


def observed(dataset):
    """Every stamp, PSF and condition row of a dataset (stamps as ``encode`` wants them)."""
    from galsim_deep.data.reader import StampDataset

    with StampDataset(dataset) as data:
        arrays = data.read(np.arange(data.n_examples), ["stamp", "psf", "conditions"])
        names = data.condition_names
    catalog = {name: arrays["conditions"][:, i] for i, name in enumerate(names)}
    return arrays["stamp"].astype(np.float32), arrays["psf"].astype(np.float32), catalog


def without_tensorflow(monkeypatch):
    """As in a fresh process where TensorFlow is not installed: no runner loaded yet, and
    TensorFlowSignature refuses (naming the extra) where a signature has no portable copy."""
    from galsim_deep.engine import network, runtimes

    monkeypatch.setattr(network, "_LOADED", {})
    monkeypatch.setattr(runtimes, "_installed", lambda package: package != "tensorflow")


def loaded_runtimes():
    """The (runtime, signature) of every runner loaded since :func:`without_tensorflow`."""
    from galsim_deep.engine import network

    return {key[1:] for key in network._LOADED if isinstance(key, tuple)}
