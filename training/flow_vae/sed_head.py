"""A chromatic decoder's SED head: each component's weights over the SED templates.

:func:`sed_logits_layer` is the dense layer of the logits (read from the code
alone, 1.1.x's head, or the last layer of :class:`SEDHead`); :class:`SEDHead`
reads the redshift, and optionally the catalog colours, beside the code.
"""
import tensorflow as tf
import tf_keras

__all__ = ["SEDHead", "sed_logits_layer"]


def sed_logits_layer(units, seed, name):
    """The dense layer of a chromatic decoder's SED-template logits.  Its initial logits
    are not zero: Adafactor scales a weight's steps by its size, so weights that start at
    zero barely move (the template weights then stay uniform)."""
    return tf_keras.layers.Dense(
        units, name=name, kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed),
        bias_initializer=tf_keras.initializers.RandomNormal(stddev=0.5, seed=seed + 1))


class SEDHead(tf_keras.layers.Layer):
    """Each component's SED-template weights from the latent code *and the redshift* (and,
    optionally, the catalog's colours).

    A colour is a property of the galaxy, but the template weights that give
    it depend on where the templates' features fall at the galaxy's redshift
    (the 4000 A break crosses F606W near z = 0.5): a head that reads ``z``
    alone can only give each code one set of weights at every redshift.  This
    head reads ``[z, log(1 + redshift)]`` through one hidden layer, so the
    weights can change with the redshift at fixed code.

    With ``n_colours > 0`` it also reads the galaxy's catalog colours
    (``mag_band - mag_auto``, AB mag, clipped to +-:attr:`COLOUR_CLIP`), as the
    latent flow reads its catalog conditions: which templates give that
    colour at that redshift, and how it splits between the components (the
    colour gradient), are what the head learns from the pixels.

    Parameters
    ----------
    n_components, n_templates : int
        ``K`` components, ``T`` templates.
    hidden : int, optional
        Width of the hidden layer (default 64).
    activation : str
        The hidden layer's activation.
    seed : int
    n_colours : int, optional
        ``C``, catalog colours read beside the code (default 0).
    """

    #: Largest ``|colour|`` (AB mag) the head reads: a catalog's sentinel (99, -99) reads as
    #: an extreme colour, not as a value far outside the training.
    COLOUR_CLIP = 5.0

    def __init__(self, n_components, n_templates, hidden=64, activation="elu", seed=0,
                 n_colours=0, **kwargs):
        super().__init__(**kwargs)
        self.n_components, self.n_templates = int(n_components), int(n_templates)
        self.n_colours = int(n_colours)
        self.hidden = tf_keras.layers.Dense(
            hidden, activation=activation, name="hidden",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed))
        self.logits = sed_logits_layer(self.n_components * self.n_templates, seed + 1,
                                        name="logits")

    def call(self, z, redshift, colours=None):
        """float32 ``[B, K, T]`` template weights (each component's sum to 1) for codes
        ``z`` ``[B, L]`` at redshifts ``redshift`` ``[B]`` (and, with ``n_colours``, of
        catalog colours ``colours`` ``[B, C]``, AB mag)."""
        redshift = tf.convert_to_tensor(redshift, tf.float32)
        # log(1 + z), written so: ONNX has no Log1p (the module's portable copy).
        inputs = [z, tf.math.log(1.0 + tf.maximum(redshift, 0.0))[:, None]]
        if self.n_colours:
            if colours is None:
                raise ValueError("this SED head reads the catalog colours: pass colours")
            clip = self.COLOUR_CLIP
            inputs.append(tf.clip_by_value(tf.reshape(tf.convert_to_tensor(colours, tf.float32),
                                                      [-1, self.n_colours]), -clip, clip))
        x = tf.concat(inputs, axis=-1)
        logits = tf.reshape(self.logits(self.hidden(x)),
                            [-1, self.n_components, self.n_templates])
        return tf.nn.softmax(logits, axis=-1)
