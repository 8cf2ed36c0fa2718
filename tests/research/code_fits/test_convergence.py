"""The convergence table: codes refined along one fit, scored at each step count."""
import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from research.code_fits import convergence  # noqa: E402
from research.code_fits.convergence import convergence_table  # noqa: E402
from tests.checks import research_command  # noqa: E402

main = research_command(convergence)


# The research tree's code is the lab's, not the product's: `make test-all` runs its tests.
pytestmark = pytest.mark.extended


@pytest.mark.slow
def test_the_posterior_never_worsens_and_the_cli_writes_the_table(tiny_flow_vae_recipe,
                                                                  tmp_path, capsys):
    """Each step count keeps the best code met so far: the mean negative log posterior
    cannot rise along the rows, and 20 steps lower it; every bin's galaxies add up to the
    measured ones; the CLI writes the same table and refuses bad --steps."""
    table = convergence_table(tiny_flow_vae_recipe, n=6, steps=(20, 0, 5), split="train",
                              batch_size=4, progress=False)
    assert [r["steps"] for r in table["rows"]] == [0, 5, 20] and table["n"] == 6
    nlp = [r["neg_log_posterior"][0] for r in table["rows"]]
    assert nlp[2] <= nlp[1] <= nlp[0] and nlp[2] < nlp[0]
    gains = [r["gain"][0] for r in table["rows"]]
    assert gains[0] == 0 and gains[2] == pytest.approx(nlp[2] - nlp[0], rel=1e-4)
    for row in table["rows"]:
        g = row["g_bias"]
        assert sum(g[b]["n"] for b in table["bins"]) == g["all"]["n"] > 0
    sets = ["--set", f"dataset.path={tiny_flow_vae_recipe['dataset']['path']}",
            "--set", f"output_dir={tiny_flow_vae_recipe['output_dir']}"]
    out = tmp_path / "conv"
    assert main(["tiny", *sets, "--out", str(out), "--n", "6",
                 "--steps", "0,5,20", "--split", "train", "--quiet"]) == 0
    written = json.loads((out / "convergence.json").read_text())
    assert written["rows"][2]["neg_log_posterior"] == pytest.approx(
        table["rows"][2]["neg_log_posterior"], rel=1e-4)
    assert "(encoder means)" in (out / "convergence.md").read_text()
    assert "MAP steps" in capsys.readouterr().out
    assert main(["tiny", *sets, "--out", str(out),
                 "--steps", "0,ten"]) == 1
    assert "comma-separated integers" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n must be a positive integer"):
        convergence_table(tiny_flow_vae_recipe, n=0, progress=False)
    assert np.isfinite(nlp).all()
