"""The demo's skyCatalogs gallery: cosmoDC2 galaxies of the CI sample drawn both ways, and
the demo leaving it out where skyCatalogs is not installed."""
import numpy as np
import pytest

from galsim_deep.tools.demo import skycatalogs as demo_sky


def test_the_gallery_draws_galaxies_inside_the_training_range_both_ways(tmp_path):
    pytest.importorskip("skycatalogs")
    from galsim_deep import GenerativeGalaxyModel

    config = demo_sky.available()
    if config is None:
        pytest.skip("this skyCatalogs ships no CI sample")
    model = GenerativeGalaxyModel("hub:flow-vae-mock-cosmos-25.2")
    picked = demo_sky.pick_galaxies(model, config, n=3, pool=60,
                                    skycatalog_root=str(config.parents[1]))
    from galsim_deep.api.skycatalogs import condition_table

    table = condition_table(picked, model=model)
    assert len(picked) == 3 and model.in_range(table).all()
    assert np.all(np.diff(table["mag_auto"]) > 0)   # brightest first, spread in magnitude
    out = demo_sky.draw_skycatalog_gallery(tmp_path / "sky.png", model=model, n=2, pool=60)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_demo_leaves_the_gallery_out_without_skycatalogs(tmp_path, monkeypatch):
    from galsim_deep.core.errors import InputError
    from galsim_deep.tools.demo import _skycatalogs_part

    paths = {}
    monkeypatch.setattr(demo_sky, "available", lambda: None)
    assert "not installed" in _skycatalogs_part("auto", None, 1, tmp_path, paths)
    assert _skycatalogs_part(None, None, 1, tmp_path, paths) == "not asked for"
    assert paths == {}
    with pytest.raises(InputError, match="'auto' or None"):
        _skycatalogs_part("yes", None, 1, tmp_path, paths)
