"""Process thread settings (galsim_deep.core.parallel): TensorFlow's, once it has started,
and a worker's GalSim threads."""
import galsim
import pytest

from galsim_deep import GenerativeGalaxyModel
from galsim_deep.core import parallel
from tests.checks import catalog_rows


@pytest.fixture(scope="module")
def model(tiny_module_path):
    return GenerativeGalaxyModel(str(tiny_module_path))


def test_thread_settings(model):
    model.sample(catalog_rows(1), rng=0)  # TensorFlow has run in this process now
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
