"""run_family: a family that supplies only its state, initialisation and step trains, logs,
checkpoints, resumes and scores its run like the shipped ones."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from galsim_deep.training.families import ModelFamily  # noqa: E402
from galsim_deep.training.optim import make_optimizer  # noqa: E402
from galsim_deep.training.recipes import load_recipe  # noqa: E402
from galsim_deep.training.runner import FamilyTrainer, TrainState, run_family  # noqa: E402

pytestmark = pytest.mark.usefixtures("restore_op_determinism")


class MeanFlux(tf.Module):
    """A one-number 'model': the mean total flux of the training stamps."""

    def __init__(self):
        super().__init__()
        self.level = tf.Variable(0.0)


class MeanFluxTrainer(FamilyTrainer):
    section = "vae"
    initialized = 0

    def create_state(self, recipe):
        model = MeanFlux()
        optimizer = make_optimizer({"name": "adam", "learning_rate": 0.5,
                                    "warmup_steps": None})
        optimizer.build([model.level])
        return TrainState(model, optimizer.iterations, {"optimizer": optimizer})

    def initialize(self, recipe, state, data, loop):
        MeanFluxTrainer.initialized += 1
        state.model.level.assign(1.0)

    def make_step(self, recipe, state, data, strategy):
        model, optimizer = state.model, state.optimizers["optimizer"]

        @tf.function
        def step(batch):
            flux = tf.reduce_sum(batch["stamp"], axis=[1, 2])
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(flux - model.level))
            optimizer.apply_gradients([(tape.gradient(loss, model.level), model.level)])
            return {"loss": loss, "level": model.level + 0.0}

        return step

    def log_fields(self, recipe, state):
        return {"start_level": float(state.model.level.numpy())}

    def finish(self, recipe, state, loop, log):
        log["metrics"]["final_level"] = float(state.model.level.numpy())
        return log


class MeanFluxFamily(ModelFamily):
    name = "mean-flux"
    section = "vae"

    def trainer(self):
        return MeanFluxTrainer()


def _recipe(dataset, out):
    return load_recipe("tiny", [f"dataset.path={dataset}", f"output_dir={out}",
                                "vae.steps=6", "vae.checkpoint_every=3", "vae.summary_every=1",
                                "vae.batch_size=4"])


def test_a_family_of_state_initialisation_and_step_trains_and_resumes(mock_dataset_path,
                                                                       tmp_path):
    family = MeanFluxFamily()
    MeanFluxTrainer.initialized = 0
    straight = run_family(_recipe(mock_dataset_path, tmp_path / "a"), family, progress=False)
    assert MeanFluxTrainer.initialized == 1
    assert straight["steps"] == 6 and straight["start_level"] == 1.0
    # Adam at 0.5 per step moves the level from 1.0 towards the stamps' flux (> 1).
    levels = [row["level"] for row in straight["history"]]
    assert len(levels) == 6 and np.all(np.diff(levels) > 0)
    assert straight["metrics"]["final_level"] == pytest.approx(levels[-1])
    # Checkpoints and the recipe snapshot in the family's checkpoint folder.
    folder = family.checkpoint_dir(_recipe(mock_dataset_path, tmp_path / "a"))
    assert (folder / "recipe.yaml").is_file() and (folder / "checkpoint").is_file()

    # Interrupted at step 3 and resumed: the same data stream, the same final level, and
    # no second initialisation.
    recipe = _recipe(mock_dataset_path, tmp_path / "b")
    assert run_family(recipe, family, progress=False, stop_at=3)["steps"] == 3
    resumed = run_family(recipe, family, progress=False)
    assert MeanFluxTrainer.initialized == 2
    assert resumed["metrics"]["final_level"] == straight["metrics"]["final_level"]
