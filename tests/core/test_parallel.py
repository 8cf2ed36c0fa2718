"""Process thread settings (galsim_deep.core.parallel): TensorFlow's, once it has started,
and a worker's GalSim threads."""
import galsim
import numpy as np
import pytest

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core import parallel


@pytest.fixture(scope="module")
def model(tiny_module_path):
    return GenerativeGalaxyModel(str(tiny_module_path))


def _cat(n, seed=0):
    rng = np.random.default_rng(seed)
    return {"mag_auto": rng.uniform(20.5, 24.0, n), "flux_radius": rng.uniform(2.0, 12.0, n),
            "zphot": rng.uniform(0.2, 2.0, n)}


def test_thread_settings(model):
    model.sample(_cat(1), rng=0)  # TensorFlow has run in this process now
    assert parallel.tensorflow_started()
    assert parallel.set_tensorflow_threads(1) is False  # too late: reported, not raised
    with pytest.raises(ValueError, match="thread counts"):
        parallel.set_tensorflow_threads(0)
    assert parallel.cpu_count() >= 1
    before = galsim.get_omp_threads()
    try:
        assert parallel.configure_worker(parallel.cpu_count() * 4) == 1
        assert galsim.get_omp_threads() == 1
    finally:
        galsim.set_omp_threads(before)
