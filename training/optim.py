"""Optimizers and learning-rate schedules of the training recipes.

Lanusse et al. (2020) train the VAE with Adafactor and the latent flow with
Adam, both at a base learning rate of 0.001 with a square-root decay.  The
schedule here is::

    lr(step) = base * min(1, sqrt(warmup_steps / step))

constant for the first ``warmup_steps`` steps, then decaying as
``1 / sqrt(step)``.  Adafactor scales each update by the RMS of the weight it
changes, so its learning rate is a *relative* step size.

The optimizers are ``tf_keras`` (Keras 2) ones, the Keras that TensorFlow
Probability 0.25 uses for its layers; checkpoints hold their slots.
"""
import tensorflow as tf
import tf_keras
from galsim_deep.core.errors import InputError

__all__ = ["SqrtDecay", "make_optimizer"]


class SqrtDecay(tf_keras.optimizers.schedules.LearningRateSchedule):
    """``lr(step) = base * min(1, sqrt(warmup_steps / step))``, optionally cooled down to zero.

    With ``cooldown_steps`` > 0 the rate is also multiplied by
    ``min(1, (total_steps - k) / cooldown_steps)`` at update ``k`` (0-based): it falls
    linearly to zero over the run's last ``cooldown_steps`` steps (a run trained at a high rate and annealed at its
    end, as warmup-stable-decay schedules do).

    Parameters
    ----------
    base : float
        Learning rate during the warm-up.
    warmup_steps : int
        Steps at constant ``base`` before the ``1/sqrt(step)`` decay (>= 1).
    cooldown_steps : int, optional
        Steps of the linear cool-down before ``total_steps`` (default 0: none).
    total_steps : int, optional
        The run's last step (needed with ``cooldown_steps``).
    """

    def __init__(self, base, warmup_steps, cooldown_steps=0, total_steps=None):
        if base <= 0:
            raise InputError(f"learning_rate must be > 0, got {base}")
        if warmup_steps < 1:
            raise InputError(f"warmup_steps must be >= 1, got {warmup_steps}")
        if cooldown_steps < 0 or (cooldown_steps and not total_steps):
            raise InputError(f"cooldown_steps must be >= 0 and needs the run's total steps, "
                             f"got cooldown_steps={cooldown_steps}, total_steps={total_steps}")
        self.base = float(base)
        self.warmup_steps = int(warmup_steps)
        self.cooldown_steps = int(cooldown_steps)
        self.total_steps = None if total_steps is None else int(total_steps)

    def __call__(self, step):
        step = tf.maximum(tf.cast(step, tf.float32) + 1.0, 1.0)
        rate = self.base * tf.minimum(1.0, tf.sqrt(self.warmup_steps / step))
        if self.cooldown_steps:
            left = (float(self.total_steps) + 1.0 - step) / float(self.cooldown_steps)
            rate = rate * tf.clip_by_value(left, 0.0, 1.0)
        return rate

    def get_config(self):
        return {"base": self.base, "warmup_steps": self.warmup_steps,
                "cooldown_steps": self.cooldown_steps, "total_steps": self.total_steps}


def make_optimizer(config, total_steps=None):
    """Build the optimizer a recipe's ``optimizer`` section describes.

    Parameters
    ----------
    config : dict
        ``{"name": "adafactor" | "adam", "learning_rate": float,
        "warmup_steps": int or None}``, and for Adam optionally ``beta_1``
        and ``beta_2`` (default 0.9 and 0.999; the GANs of the MPCC family
        use ``beta_1 = 0``).  ``warmup_steps: None`` gives a constant
        learning rate.  ``global_clipnorm`` (optional, default None: no
        clipping) rescales each step's gradients to at most that global norm:
        a few codes tens of standard deviations out (the brightest galaxies'
        in a VAE's latent space) otherwise give a latent flow steps that make
        it diverge.  ``cooldown_steps`` (optional, default 0) anneals the rate
        linearly to zero over the last steps before ``total_steps``
        (:class:`SqrtDecay`).
    total_steps : int, optional
        The run's last step (with ``cooldown_steps``).

    Returns
    -------
    tf_keras.optimizers.Optimizer
        With a :class:`SqrtDecay` (or constant) learning rate.  Not
        XLA-compiled, so runs are bit-for-bit reproducible on CPU.
    """
    if config.get("warmup_steps") is None:
        schedule = float(config["learning_rate"])
    else:
        schedule = SqrtDecay(config["learning_rate"], config["warmup_steps"],
                             config.get("cooldown_steps", 0), total_steps)
    name = config["name"]
    clip = config.get("global_clipnorm")
    clip = None if clip is None else float(clip)
    if name == "adafactor":
        return tf_keras.optimizers.Adafactor(learning_rate=schedule, global_clipnorm=clip,
                                             jit_compile=False)
    if name == "adam":
        return tf_keras.optimizers.Adam(learning_rate=schedule,
                                        beta_1=float(config.get("beta_1", 0.9)),
                                        beta_2=float(config.get("beta_2", 0.999)),
                                        global_clipnorm=clip, jit_compile=False)
    raise InputError(f"unknown optimizer {name!r}; use 'adafactor' or 'adam'")
