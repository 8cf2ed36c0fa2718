"""The prior decomposition table (formerly ``galsim-deep validation priors``,
``research/priors/prior_table.py``)."""
import json

import numpy as np
import pytest

from galsim_deep.core.errors import InputError
from research.priors.prior_table import LiveModule, _file_name


# The research tree's code is the lab's, not the product's: `make test-all` runs its tests.
pytestmark = pytest.mark.extended


def test_fitted_codes_keep_finished_batches_and_a_rerun_fits_only_the_rest(tmp_path):
    """An interrupted fit of the evaluation file's codes loses at most its batch in progress."""
    data = np.arange(7 * 4, dtype=np.float32).reshape(7, 2, 2)
    read = []

    class Stamps:  # counts the batches read, and interrupts the third
        def __getitem__(self, rows):
            read.append(rows.start)
            if len(read) == 3 and not kept:
                raise KeyboardInterrupt
            return data[rows]

    class Galaxies:
        index = np.arange(7)
        stamps, psfs, truth = Stamps(), data, data

    class Model:
        @staticmethod
        def encode(stamp, psf):
            return [stamp[:, 0, :] * 2.0]

    live = LiveModule.__new__(LiveModule)
    live.model, live.recipe = Model(), {"flow": {}}
    kept = []
    with pytest.raises(KeyboardInterrupt):
        live.fitted_codes(Galaxies, "encoder", 0, 0.1, batch_size=3, keep_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0000000.npy", "0000003.npy"]
    kept.append(True)
    read.clear()
    codes = live.fitted_codes(Galaxies, "encoder", 0, 0.1, batch_size=3, keep_dir=tmp_path)
    assert read == [6]  # only the last batch (one galaxy) was read and encoded
    assert np.array_equal(codes, data[:, 0, :] * 2.0)


def test_row_file_names():
    assert _file_name("map") == "map"
    assert _file_name("flow:runs/prior-a") == "flow-prior-a"
    assert _file_name("flow:runs/prior-a/elbo_prior") == "flow-prior-a-elbo_prior"


@pytest.mark.slow
@pytest.mark.extended  # campaign code (issue 96); make test-all runs it
def test_the_table_scores_each_row_once(tiny_flow_vae_recipe, tiny_flow_vae_module_path,
                                        eval_path, tmp_path, restore_op_determinism):
    pytest.importorskip("tensorflow")
    from research.priors.prior_table import (LiveModule, load_rows, score_row,
                                                     write_prior_table)
    from galsim_deep.diagnostics.sample_scores import EvaluationGalaxies, reference_scores

    galaxies = EvaluationGalaxies.load(eval_path)
    options = {"views": ["hst-cosmos"], "epochs": 2, "n_shear": 4, "shear_max_mag": 99.0}
    first = reference_scores(galaxies, tmp_path / "reference", shear_psfs=[], **options)
    assert set(first["views"]) == {"hst-cosmos"} and first["shear"] == {}
    live = LiveModule(tiny_flow_vae_module_path, tiny_flow_vae_recipe["source"])
    run = f"flow:{tiny_flow_vae_recipe['output_dir']}"
    for name in ("truth", "truth-stamps", "sersic", "encoder", "map", "module", run):
        row = score_row(name, live, galaxies, tmp_path / "reference", tmp_path, map_steps=2,
                        **options)
        test = row["views"]["hst-cosmos"]["generated"]
        assert 0 <= test["accuracy"] <= 1 and len(test["bins"]) == 4
        assert set(row["shapes"]) == {"g", "size", "flux", "g_wasserstein"}
    rows = {r["name"]: r for r in load_rows(tmp_path)}
    assert list(rows)[:6] == ["truth", "truth-stamps", "sersic", "encoder", "map", "module"]
    # The truths against themselves: no shape difference at all.
    for name in ("truth", "truth-stamps"):
        assert rows[name]["shapes"]["g"]["ratio"] == 0.0
    # MAP codes start from the encoder's means and are other codes.
    codes = {k: np.load(tmp_path / "rows" / f"{k}-codes.npz")["codes"] for k in ("encoder", "map")}
    assert codes["map"].shape == codes["encoder"].shape
    assert not np.array_equal(codes["map"], codes["encoder"])
    # A row already written is read back, not scored again; another view is added to it
    # from its kept codes, and the rest of the row stays.
    again = score_row("encoder", None, galaxies, tmp_path / "reference", tmp_path, **options)
    assert again == rows["encoder"]
    # The reference grows by the view asked for, keeping what it holds.
    kept = (tmp_path / "reference" / "hst-cosmos-truth.npz").stat().st_mtime_ns
    both = reference_scores(galaxies, tmp_path / "reference", shear_psfs=["gaussian-0.1"],
                            **dict(options, views=["hst-cosmos", "hst-noiseless"]))
    assert both["views"]["hst-cosmos"] == first["views"]["hst-cosmos"]
    assert (tmp_path / "reference" / "hst-cosmos-truth.npz").stat().st_mtime_ns == kept
    wider = score_row("encoder", live, galaxies, tmp_path / "reference", tmp_path,
                      **dict(options, views=["hst-cosmos", "hst-noiseless"]))
    assert set(wider["views"]) == {"hst-cosmos", "hst-noiseless"}
    assert wider["views"]["hst-cosmos"] == rows["encoder"]["views"]["hst-cosmos"]
    assert wider["shapes"] == rows["encoder"]["shapes"]
    # a reference measured through another definition of a view's PSF is refused
    path = tmp_path / "reference" / "reference.json"
    text = path.read_text()
    changed = json.loads(text)
    changed["shear_definitions"]["gaussian-0.1"]["psf"]["fwhm"] = 0.16
    path.write_text(json.dumps(changed))
    with pytest.raises(InputError, match="through gaussian-0.1 as defined before"):
        reference_scores(galaxies, tmp_path / "reference", shear_psfs=["gaussian-0.1"],
                         **options)
    path.write_text(text)
    sheared = score_row("module", live, galaxies, tmp_path / "reference", tmp_path,
                        shear_psfs=["gaussian-0.1"], **options)
    assert set(sheared["shear"]) == {"gaussian-0.1"}
    assert len(sheared["shear"]["gaussian-0.1"]["difference"]["dm"]) == 2
    write_prior_table(tmp_path, command="galsim-deep validation priors ...")
    assert (tmp_path / "priors.png").is_file()
    text = (tmp_path / "priors.md").read_text()
    assert "galsim-deep validation priors ..." in text and "Sérsic rows" in text
    rst = (tmp_path / "priors.inc").read_text()
    assert rst.count(".. list-table::") == 2 and "mean \\|g\\|, all" in rst
    assert len(json.loads((tmp_path / "priors.json").read_text())["rows"]) == 7
    with pytest.raises(InputError, match="unknown row"):
        score_row("prior", live, galaxies, tmp_path / "reference", tmp_path)
    with pytest.raises(InputError, match="holds no latent flow"):
        score_row(f"flow:{tmp_path / 'none'}", live, galaxies, tmp_path / "reference",
                  tmp_path)
