"""The equivariant VAE: a Flow-VAE that works in each galaxy's canonical pose.

:class:`EquivariantVAE` holds three networks:

* ``pose``, the :class:`~galsim_deep.training.equivariant_vae.networks.PoseNetwork`: each
  stamp's position angle ``p`` (modulo pi);
* ``vae``, a mono :class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE` (the ResNet
  encoder and decoder, the flux scale): it encodes the stamp and its PSF turned by ``-p``
  (the canonical stamp) into the pose-free code ``z``, and decodes ``z`` into the canonical
  galaxy;
* ``classifier``, the :class:`~galsim_deep.training.equivariant_vae.networks.ClassifierHead`
  from ``z`` (its posterior mean) to the morphology class.

:meth:`EquivariantVAE.autoencode` turns the decoded canonical galaxy back by ``+p``, so
what it returns is the Flow-VAE's ``autoencode`` output in the stamp's own frame: the
Flow-VAE's loss (:func:`~galsim_deep.training.flow_vae.losses.flow_vae_loss`: the PSF
convolution, the Gaussian pixel likelihood with each stamp's noise, free-bits KL and the
priors) applies to it unchanged.
"""
import tensorflow as tf

from galsim_deep.training.flow_vae.autoencoder import FlowVAE

from .networks import ClassifierHead, MomentPose, PoseNetwork
from .rotation import galaxy_centre, psf_centre, rotate

__all__ = ["EquivariantVAE"]


class EquivariantVAE(tf.Module):
    """A VAE with an equivariant transformer layer for rotations (Nishikawa-Toomey, Smith
    & Gal), trained through the PSF and the noise.

    Parameters
    ----------
    stamp_size, latent_size, n_stages, base_depth, max_depth
        The Flow-VAE's (:class:`~galsim_deep.training.flow_vae.autoencoder.FlowVAE`);
        ``latent_size`` is the size of the pose-free code.
    activation, output_activation, upsampling, seed
        The Flow-VAE's too.
    pose : {"network", "moments"}
        The pose's estimator: the learned equivariant transformer
        (:class:`~galsim_deep.training.equivariant_vae.networks.PoseNetwork`) or the
        stamp's weighted second moments
        (:class:`~galsim_deep.training.equivariant_vae.networks.MomentPose`).
    pose_angles, pose_radii, pose_depth, pose_layers, pose_damping
        The pose network's polar grid, width, depth and gradient damping.
    pose_weight_radius : float
        The moments' Gaussian weight, pixels.
    n_classes, classifier_units : int
        The classifier head's classes and hidden width.
    interpolant : {"bilinear", "cubic"}
        Of every rotation and of the polar resampling.
    """

    def __init__(self, stamp_size, latent_size, n_stages, base_depth=16, max_depth=64,
                 activation="elu", output_activation="softplus", upsampling="nearest",
                 seed=0, pose_angles=32, pose_radii=16, pose_depth=16, pose_layers=3,
                 pose_damping=0.01, n_classes=6, classifier_units=64, interpolant="cubic",
                 pose="network", pose_weight_radius=6.0, name="equivariant_vae"):
        super().__init__(name=name)
        self.stamp_size = int(stamp_size)
        self.latent_size = int(latent_size)
        self.interpolant = interpolant
        self.n_bands, self.n_components = 1, 0
        with self.name_scope:
            self.vae = FlowVAE(stamp_size, latent_size, n_stages, base_depth, max_depth,
                               activation, output_activation=output_activation,
                               upsampling=upsampling, seed=seed)
            if pose == "moments":
                self.pose = MomentPose(stamp_size, pose_weight_radius, name="pose")
            else:
                self.pose = PoseNetwork(stamp_size, pose_angles, pose_radii, pose_depth,
                                        pose_layers, activation, pose_damping, interpolant,
                                        seed=seed + 200000, name="pose")
            self.classifier = ClassifierHead(n_classes, classifier_units, activation,
                                             seed=seed + 300000, name="classifier")
        s = self.stamp_size
        self.pose(tf.zeros([1, s, s]))
        self.classifier(tf.zeros([1, self.latent_size]))

    @property
    def flux_scale(self):
        """The network flux unit (the Flow-VAE's variable), flux per pixel."""
        return self.vae.flux_scale

    @property
    def n_classes(self):
        return self.classifier.n_classes

    def pose_of(self, stamp):
        """The pose network's output (``cos``, ``sin``, ``angle`` radians in (-pi/2, pi/2],
        ``strength``) for observed stamps float32 ``[B, S, S]``, flux per pixel."""
        return self.pose(tf.convert_to_tensor(stamp, tf.float32) / self.flux_scale)

    def turn(self, images, cos, sin, centre=None):
        """``images`` ``[B, S, S]`` rotated by the angles of ``cos``, ``sin`` ``[B]`` about
        the galaxy's true centre (or ``centre``), with the model's interpolant."""
        centre = galaxy_centre(self.stamp_size) if centre is None else centre
        return rotate(images, cos, sin, centre, self.interpolant)

    def turn_profile(self, profile, cos, sin):
        """A light profile turned by the pose, kept >= 0 (a cubic interpolant's lobes are
        cut)."""
        return tf.nn.relu(self.turn(profile, cos, sin))

    def canonical(self, stamp, psf, pose=None):
        """The stamps and their PSFs turned by minus their pose (the encoder's inputs),
        and the pose."""
        pose = self.pose_of(stamp) if pose is None else pose
        c, s = pose["cos"], -pose["sin"]
        return (self.turn(stamp, c, s), self.turn(psf, c, s, psf_centre(self.stamp_size)),
                pose)

    def encode(self, stamp, psf):
        """Posterior ``q(z | stamp, psf)`` of the pose-free code.

        Parameters
        ----------
        stamp, psf : tf.Tensor
            float32 ``[B, S, S]``: observed stamps (flux per pixel) and their PSFs (unit
            sum, centred on pixel ``(S//2, S//2)``).

        Returns
        -------
        mean, stddev : tf.Tensor
            float32 ``[B, L]``.
        """
        stamp, psf, _ = self.canonical(stamp, psf)
        return self.vae.encode(stamp, psf)

    def decode(self, z):
        """Canonical (pose 0) unconvolved profiles ``[B, S, S]`` >= 0, flux per pixel."""
        return self.vae.decode(z)

    def decode_posed(self, z, angle):
        """Profiles of codes ``[B, L]`` turned by ``angle`` ``[B]`` (radians, CCW)."""
        angle = tf.convert_to_tensor(angle, tf.float32)
        return self.turn_profile(self.decode(z), tf.cos(angle), tf.sin(angle))

    def classify(self, stamp, psf):
        """Class logits ``[B, n_classes]`` of stamps, from their posterior mean code."""
        mean, _ = self.encode(stamp, psf)
        return self.classifier(mean)

    def autoencode(self, stamp, psf, eps, transverse_fraction=0.0, seed=None,
                   structure_weight=1.0, redshift=None, colours=None):
        """Encode in the canonical pose, decode, and turn back, as in training.

        The arguments and the returned dict are those of
        :meth:`FlowVAE.autoencode
        <galsim_deep.training.flow_vae.autoencoder.FlowVAE.autoencode>` (``redshift`` and
        ``colours`` are for a chromatic model and must be None), with ``profile`` and
        ``structure`` in the stamp's frame, plus the pose's ``angle`` and ``strength``
        ``[B]``.
        """
        if redshift is not None or colours is not None:
            raise ValueError("the equivariant VAE is a mono model: no redshift or colours")
        canonical_stamp, canonical_psf, pose = self.canonical(stamp, psf)
        out = dict(self.vae.autoencode(canonical_stamp, canonical_psf, eps,
                                       transverse_fraction, seed, structure_weight))
        # The decoder has no smooth component: its structure image is the whole profile,
        # turned once.
        out["profile"] = out["structure"] = self.turn_profile(out["profile"], pose["cos"],
                                                              pose["sin"])
        out.update(angle=pose["angle"], strength=pose["strength"])
        return out
