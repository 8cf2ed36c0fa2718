"""Random 90-degree rotations and flips, applied consistently to every field of a stamp.

A stamp of the dataset is invariant in law under the eight symmetries of the
square (the dihedral group D4: rotations by k x 90 degrees, optionally after a
left-right flip), provided each field is transformed about its own centre:

* ``stamp`` and ``truth`` have the galaxy at the stamp's *true* centre
  ``((S-1)/2, (S-1)/2)``: they are rotated/flipped about it (plain
  ``numpy.rot90`` / ``numpy.flip`` of the array);
* ``psf`` is centred on *pixel* ``(S//2, S//2)``: it is moved to ``(0, 0)``
  (``ifftshift``), transformed about the origin (periodically), and moved back,
  so its centre stays on pixel ``(S//2, S//2)`` and FFT convolution
  ``stamp = truth * psf`` still holds after the transform;
* ``noise_power`` (``rfft2`` layout) is expanded to the full plane with the
  Hermitian symmetry ``P(-k) = P(k)``, transformed about ``k = 0`` like the PSF,
  and cut back to ``[S, S//2 + 1]``: it is exactly the power spectrum of the
  transformed noise.

The band fields of a multi-band dataset (``stamp_bands``, ``psf_bands``,
``noise_power_bands``, ``truth_bands``: one image per band) are transformed
like the field of the same name without ``_bands``, every band alike.
Scalars (``noise_variance``, ``conditions``, labels ...) are unchanged.
The transform of example ``k`` is: flip left-right if ``flip``, then rotate
by ``rotation`` x 90 degrees counter-clockwise (``numpy.rot90`` convention on
axes (row, column)).  :func:`augment_numpy` is the reference implementation;
:func:`augment_tf` does the same on batches of TensorFlow tensors.
"""
import numpy as np

__all__ = ["augment_numpy", "augment_tf", "full_power", "IMAGE_FIELDS", "CENTRED_FIELDS"]

#: Fields transformed about the stamp's true centre.
CENTRED_FIELDS = ("stamp", "truth")
#: Every image-like field the augmentation transforms.
IMAGE_FIELDS = ("stamp", "truth", "psf", "noise_power")


def full_power(power, stamp_size):
    """Expand an ``rfft2``-layout power spectrum ``[..., S, S//2+1]`` to the full ``[..., S, S]``."""
    s = stamp_size
    h = s // 2 + 1
    neg_rows = np.roll(np.flip(power, axis=-2), 1, axis=-2)          # P[(-i) mod S, :]
    cols = np.arange(s - h, 0, -1)                                   # S - j for j = H..S-1
    return np.concatenate([power, neg_rows[..., cols]], axis=-1)


def _d4_centre_np(x, rotation, flip):
    if flip:
        x = np.flip(x, axis=-1)
    return np.rot90(x, k=rotation, axes=(-2, -1))


def _d4_origin_np(x, rotation, flip):
    if flip:
        x = np.roll(np.flip(x, axis=-1), 1, axis=-1)
    for _ in range(rotation % 4):
        x = np.roll(np.rot90(x, axes=(-2, -1)), 1, axis=-2)
    return x


def augment_numpy(example, rotation, flip):
    """Apply one D4 transform to a dict of arrays of one example (reference implementation).

    Parameters
    ----------
    example : dict of numpy.ndarray
        Fields of one example (``stamp``, ``truth`` ``[S, S]``; ``psf`` ``[S, S]``;
        ``noise_power`` ``[S, S//2+1]``; anything else is copied unchanged).
    rotation : int
        Number of 90-degree counter-clockwise rotations (0-3).
    flip : bool
        Flip left-right before rotating.

    Returns
    -------
    dict of numpy.ndarray
    """
    out = {}
    for band_key, value in example.items():
        key = band_key.removesuffix("_bands")
        if key in CENTRED_FIELDS:
            out[band_key] = np.ascontiguousarray(_d4_centre_np(value, rotation, flip))
        elif key == "psf":
            c = value.shape[-1] // 2
            y = np.roll(value, (-c, -c), axis=(-2, -1))
            out[band_key] = np.ascontiguousarray(np.roll(_d4_origin_np(y, rotation, flip),
                                                         (c, c), axis=(-2, -1)))
        elif key == "noise_power":
            s = value.shape[-2]
            full = _d4_origin_np(full_power(value, s), rotation, flip)
            out[band_key] = np.ascontiguousarray(full[..., : s // 2 + 1])
        else:
            out[band_key] = value
    return out


# -- TensorFlow, batched -----------------------------------------------------------------------
def _rot_tf(x):
    """numpy.rot90(x, axes=(1, 2)) of a batch [B, S, S]."""
    import tensorflow as tf

    return tf.reverse(tf.transpose(x, [0, 2, 1]), axis=[1])


def _select_d4(x, rotation, flip, origin):
    import tensorflow as tf

    b = tf.shape(x)[0]

    def mask(m):
        return tf.reshape(m, tf.concat([[b], tf.ones([tf.rank(x) - 1], tf.int32)], 0))

    flipped = tf.reverse(x, axis=[2])
    if origin:
        flipped = tf.roll(flipped, 1, axis=2)
    y = tf.where(mask(flip), flipped, x)
    out = y
    for r in (1, 2, 3):
        y = _rot_tf(y)
        if origin:
            y = tf.roll(y, 1, axis=1)
        out = tf.where(mask(tf.equal(rotation, r)), y, out)
    return out


def augment_tf(batch, rotation, flip):
    """Apply per-example D4 transforms to a batch of TensorFlow tensors.

    Parameters
    ----------
    batch : dict of tf.Tensor
        Batched fields (``[B, S, S]`` images, ``[B, S, S//2+1]`` noise power;
        band fields ``[B, nb, S, S]`` and ``[B, nb, S, S//2+1]``).
    rotation : tf.Tensor
        int32 ``[B]``, rotations by 90 degrees (0-3).
    flip : tf.Tensor
        bool ``[B]``, flip left-right first.

    Returns
    -------
    dict of tf.Tensor
        Same keys; :func:`augment_numpy` applied to each example.
    """
    import tensorflow as tf

    out = dict(batch)
    for band_key, value in batch.items():
        key = band_key.removesuffix("_bands")
        if key not in IMAGE_FIELDS:
            continue
        bands = band_key != key
        if bands:   # [B, nb, S, W] -> [B * nb, S, W]: every band of an example alike
            shape = tf.shape(value)
            value = tf.reshape(value, tf.concat([[-1], shape[2:]], 0))
            rot, flp = (tf.repeat(x, shape[1]) for x in (rotation, flip))
        else:
            rot, flp = rotation, flip
        out[band_key] = _transform_tf(key, value, rot, flp)
        if bands:
            out[band_key] = tf.reshape(out[band_key], shape)
    return out


def _transform_tf(key, x, rotation, flip):
    import tensorflow as tf

    if key in CENTRED_FIELDS:
        return _select_d4(x, rotation, flip, origin=False)
    if key == "psf":
        c = tf.shape(x)[-1] // 2
        y = tf.roll(x, [-c, -c], axis=[1, 2])
        return tf.roll(_select_d4(y, rotation, flip, origin=True), [c, c], axis=[1, 2])
    s, h = tf.shape(x)[1], tf.shape(x)[2]
    neg_rows = tf.roll(tf.reverse(x, axis=[1]), 1, axis=1)
    cols = tf.range(s - h, 0, -1)
    full = tf.concat([x, tf.gather(neg_rows, cols, axis=2)], axis=2)
    return _select_d4(full, rotation, flip, origin=True)[:, :, :h]
