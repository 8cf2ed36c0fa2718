"""The sampling kind: what a family's module is at run time, and the registry of kinds.

A module's family decides how it samples: which signature runs, what extra inputs it
takes, what its outputs are and how they become arrays, GalSim profiles or galaxies band
by band.  A :class:`SamplingKind` owns all of that for one family, so the engine
(:mod:`galsim_deep.engine.batch`), the model, the YAML types and the BTK generator ask the
kind and never the module's keys.  :data:`KINDS` is the registry (a
:class:`~galsim_deep.core.registry.Registry`, as every registry of the package);
:func:`kind_class` chooses a module's kind once, from its metadata:

* the metadata entry ``sampling_kind`` names it (``docs/module_format.rst``);
* a module written before that entry existed is claimed by the first registered kind
  whose :meth:`SamplingKind.claims` says so (``chromatic``: a ``chromatic`` entry;
  ``clusters``: a ``sample_cluster`` signature), else it is ``mono``.

A built-in kind is one line of :data:`KINDS`; a kind from another package is one subclass
and one :func:`register_kind` call (the test suite adds a toy family that way,
``tests/engine/kinds/test_kinds.py``).
"""
import numpy as np

from ...core.catalog import catalog_values
from ...core.errors import InputError
from ...core.module_format import IMAGE_OUTPUT, RANDOM_INPUT, ModuleFormatError
from ...core.registry import Registry
from ..canvas import canvas_factors, rescaled_conditions
from ..random_draws import normal_cdf
from ..shape_prior import module_shape_prior
from ..window import module_window
from ..wings import module_wings

__all__ = ["KINDS", "SamplingKind", "register_kind", "kind_class", "make_kind",
           "CANONICAL_POSE_NORMAL"]

#: The pose normal that asks a pose-free module for its canonical galaxy: 2 pi Phi(-40) is
#: 0 in float32, so the module's own turn is the identity.
CANONICAL_POSE_NORMAL = -40.0

#: The sampling kinds: name (a module's ``sampling_kind``) -> ``"module:class"`` of its
#: :class:`SamplingKind`, in the order :func:`kind_class` asks older modules' kinds to claim
#: them; :func:`register_kind` adds one.
KINDS = Registry("sampling kind", {
    "mono": "galsim_deep.engine.kinds.mono:MonoKind",
    "clusters": "galsim_deep.engine.kinds.mono:ClustersKind",
    "chromatic": "galsim_deep.engine.kinds.chromatic:ChromaticKind",
})


def register_kind(cls):
    """Register a :class:`SamplingKind` subclass under its ``name`` in :data:`KINDS`
    (usable as a class decorator).

    Raises
    ------
    InputError
        For a class without a name, or a name already taken by another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, SamplingKind) and cls.name):
        raise InputError(f"register_kind takes a SamplingKind subclass with a name, got {cls!r}")
    return KINDS.register(cls.name, cls)


def kind_class(metadata):
    """The :class:`SamplingKind` subclass of a module (module docstring)."""
    name = metadata.get("sampling_kind")
    if name is None:
        claimed = [cls for cls in KINDS.values() if cls.claims(metadata)]
        return claimed[0] if claimed else KINDS["mono"]
    if name not in KINDS:
        raise ModuleFormatError(
            f"module {metadata['name']} has sampling_kind {name!r}, which this galsim_deep does "
            f"not know (it knows {sorted(KINDS)}): upgrade galsim_deep, or import the package "
            f"that registers that kind (galsim_deep.engine.kinds.register_kind) first")
    return KINDS[name]


def make_kind(network, metadata, colours=None):
    """The module's sampling kind, made once per model (:func:`kind_class`)."""
    return kind_class(metadata)(network, metadata, colours)


class SamplingKind:
    """How one family's modules sample; the base class is the plain (mono) kind.

    A kind is made once per model from its :class:`~galsim_deep.engine.network.Network` and
    metadata.  Subclasses set :attr:`name` and :attr:`signature` and override what differs:
    :meth:`signature_inputs` and :meth:`outputs` (the network call and its outputs), :meth:`galaxies`, :meth:`band_galaxies`
    and :meth:`band_images` (what the outputs become), :meth:`check_options` and
    :meth:`check_conditions` (what callers may ask), :attr:`stamp_shape` (what ``encode`` takes).

    Parameters
    ----------
    network : galsim_deep.engine.network.Network
    metadata : dict
        The module's validated metadata.
    colours : str, optional
        A colour mode; only a kind that draws colour galaxies takes one.

    Attributes
    ----------
    quantities : list of str
        The conditions, in the module's order.
    latent_size : int
        Normals drawn per galaxy.
    stamp_size : int
        Side of the network's stamps, pixels.
    pixel_scale : float
        Their pixel scale, arcsec.
    colours : str or None
        The colour mode (None for a kind without colours).
    chromatic : dict or None
        The module's ``chromatic`` entry where the kind draws colour galaxies.
    window : galsim_deep.engine.window.StampWindow or None
        The module's circular window (its metadata entry ``window``), which :meth:`run`
        applies to every image the signature outputs; None without the entry.
    wings : galsim_deep.engine.wings.StampWings or None
        The module's wings (its metadata entry ``wings``), which the batch's rendering
        continues each stamp with (:meth:`SampledBatch.rendered
        <galsim_deep.engine.batch.SampledBatch.rendered>`); None without the entry.
    pose_normal : int or None
        For a module whose codes hold no pose (metadata ``equivariant.pose_normal``), the
        normal its ``sample`` turns the canonical galaxy by: :meth:`run` asks the network
        for the canonical galaxy and returns that turn as ``pose``, which the batch adds
        to its own rotation, so each galaxy is resampled once.
    canvas : {'fit', 'stamp'}
        How a galaxy larger than the stamp is drawn (:mod:`~galsim_deep.engine.canvas`):
        ``'fit'`` (the default) on a coarser pixel, ``'stamp'`` on the module's own.
    """

    #: The kind's name in :data:`KINDS` (and in a module's ``sampling_kind``).
    name = None
    #: The signature :meth:`run` calls.
    signature = "sample"
    #: Whether the kind's galaxies carry SEDs (drawn through a bandpass; the flux options
    #: and noise padding do not apply; the YAML image needs a ``bandpass``).
    draws_through_bandpass = False

    def __init__(self, network, metadata, colours=None):
        self.network, self.metadata = network, metadata
        self.quantities = [c["name"] for c in metadata["conditions"]]
        self.latent_size = int(metadata["latent_size"])
        self.stamp_size = int(metadata["stamp_size"])
        self.pixel_scale = float(metadata["pixel_scale"])
        self.chromatic = None
        self.window = module_window(metadata)
        self.wings = module_wings(metadata)
        #: The catalog's population of axis ratios a galaxy without a catalog ``q`` takes
        #: (:mod:`~galsim_deep.engine.shape_prior`), or None: its network's own.
        self.shape_prior = module_shape_prior(metadata)
        self.pose_normal = metadata.get("equivariant", {}).get("pose_normal")
        self.colours = self._colour_mode(colours)
        self.canvas = "fit"

    @classmethod
    def claims(cls, metadata):
        """Whether a module without ``sampling_kind`` is of this kind (default: never)."""
        return False

    @classmethod
    def sampling_signatures(cls, metadata):
        """The signatures this kind runs to sample (the first chooses the runtime; the
        portable copy holds them all)."""
        return [cls.signature]

    def _colour_mode(self, colours):
        if colours is not None:
            raise InputError(f"colours={colours!r} needs a chromatic module (metadata entry "
                             f"'chromatic'); {self.metadata['name']} is {self.name}: draw it "
                             f"in one band, or use a chromatic module such as "
                             f"hub:flow-vae-mock-cosmos-25.2-colour")
        return None

    def with_colours(self, colours):
        """This kind in another colour mode, on the same network."""
        other = type(self)(self.network, self.metadata, colours)
        other.shape_prior, other.canvas = self.shape_prior, self.canvas
        return other

    @property
    def stamp_shape(self):
        """The shape of one stamp ``encode`` takes, and its description for errors."""
        s = self.stamp_size
        return (s, s), f"[N, {s}, {s}]"

    # ------------------------------------------------------------ what callers ask
    def check_conditions(self, conditions, range_policy="warn"):
        """The kind's own checks of a catalog's conditions, after the module's range check
        (:meth:`catalog_rows`); the base kind has none."""
        return conditions

    def catalog_rows(self, cat, column_map=None, range_policy="warn"):
        """The one step before the engine: a catalog's checked conditions and its own
        magnitudes.

        Every caller (the API, the YAML type, ``galsim-deep field render``, the BTK
        generator) reads a catalog here, so that a condition outside the training range
        is treated by one rule and a galaxy's flux follows its catalog magnitude even
        where ``range_policy='clip'`` clipped the condition the network sees.  A galaxy
        larger than the stamp is rescaled first (:attr:`canvas`), and the training ranges
        checked on what the network then sees.

        Parameters
        ----------
        cat : Table, structured array, dict or DataFrame
            One row per galaxy.
        column_map : dict, optional
            Condition name -> catalog column.
        range_policy : {'warn', 'clip', 'error'}

        Returns
        -------
        conditions : dict of str -> ndarray [N]
            float32, checked against the training ranges under ``range_policy``
            (:meth:`Network.condition_arrays
            <galsim_deep.engine.network.Network.condition_arrays>`) and by the kind
            (:meth:`check_conditions`).
        magnitudes : ndarray [N] or None
            float64 values of the module's ``flux.magnitude_condition`` as the catalog
            gives them (None for a module without one).
        canvas : ndarray [N]
            Each row's canvas factor ``k`` (:func:`~galsim_deep.engine.canvas.canvas_factors`):
            1 for a row drawn on the module's stamp, else the factor its size condition was
            divided by and its pixel scale is multiplied by.
        """
        values = self.network.read_conditions(cat, column_map)
        canvas = canvas_factors(values, self.metadata, self.canvas)
        conditions = self.network.check_ranges(rescaled_conditions(values, self.metadata, canvas),
                                               range_policy)
        conditions = self.check_conditions(conditions, range_policy)
        return conditions, catalog_values(cat, self.metadata["flux"].get("magnitude_condition"),
                                          column_map), canvas

    def check_options(self, flux=False, bands=None):
        """Raise a clear error for a sampling option this kind does not take (``cluster=`` is
        checked by :meth:`check_clusters`).

        Parameters
        ----------
        flux : bool
            Whether flux options (``flux_scaling``, ``area``, ``exptime``,
            ``zero_point``) are given.
        bands : sequence of str, optional
            Bands asked of :meth:`band_images`.
        """
        if bands is not None:
            raise InputError(f"bands= needs a chromatic module; {self.metadata['name']} is "
                             f"{self.name}: drop bands=, or load a chromatic module")

    def check_clusters(self, cluster, n):
        """A ``cluster=`` argument as int32 ``[n]``; only a mixture-prior kind takes one."""
        raise InputError(f"cluster= needs a mixture-prior (MPCC) module with a "
                         f"'sample_cluster' signature; {self.metadata['name']} is {self.name} "
                         f"with {sorted(self.metadata['signatures'])}")

    # ------------------------------------------------------------ the network
    def signature_inputs(self, conditions, normals, cluster=None):
        """The signature :meth:`run` calls and its float32 inputs: :attr:`signature` with the
        conditions and ``random_normal`` (a ``cluster`` is refused by :meth:`check_clusters`
        unless the kind takes one)."""
        if cluster is not None:
            self.check_clusters(cluster, len(normals))
        arrays = {q: np.asarray(conditions[q], dtype=np.float32) for q in self.quantities}
        arrays[RANDOM_INPUT] = np.asarray(normals, dtype=np.float32)
        return self.signature, arrays

    def outputs(self, out):
        """What :meth:`run` returns of the signature's outputs: ``stamps`` (the ``image``
        output) and the kind's other outputs by name."""
        return {"stamps": out[IMAGE_OUTPUT]}

    def run(self, conditions, normals, first_row=0, cluster=None):
        """Run the network on rows ``first_row ..`` of a catalog, in the engine's fixed
        blocks (:meth:`~galsim_deep.engine.network.Network.run_blocks`).

        Where the module has a ``window`` (:attr:`window`), every image output of the
        signature (an array whose last two axes are the stamp's: ``image``, a colour
        module's ``components``) is windowed and given back its flux, image by image,
        before :meth:`outputs` sees it (:mod:`galsim_deep.engine.window`), so every caller
        and everything made of the outputs (a colour kind's reference band and bands) is
        windowed alike.

        Returns
        -------
        dict
            ``stamps`` [N, S, S]: the unrotated profiles in the module's flux units (a
            colour kind's reference band), and the kind's other outputs by name
            (kept on the batch as :attr:`~galsim_deep.engine.batch.SampledBatch.parts`):
            :meth:`outputs` of the signature :meth:`signature_inputs` names; for a
            module with a pose normal (:attr:`pose_normal`), ``pose`` [N], radians: the
            turn its ``sample`` would give each canonical galaxy.
        """
        pose = None
        if self.pose_normal is not None:
            # The module turns its canonical galaxy by 2 pi Phi(n) with n its pose normal;
            # far below -6 the turn is exactly 0 in float32, and the engine makes it instead.
            pose = 2.0 * np.pi * normal_cdf(normals[:, self.pose_normal])
            normals = np.array(normals, np.float32)
            normals[:, self.pose_normal] = CANONICAL_POSE_NORMAL
        signature, inputs = self.signature_inputs(conditions, normals, cluster)
        out = self.network.run_blocks(signature, inputs, first_row)
        if self.window is not None:
            out = self.window.outputs(out, self.metadata["signatures"][signature]["outputs"])
        out = self.outputs(out)
        if pose is not None:
            out["pose"] = pose
        return out

    # ------------------------------------------------------------ what outputs become
    def galaxies(self, batch, rows=None, factors=None, rngs=None, noise_pad_size=0, noise=None,
                 calculate_maxk=False, **options):
        """GalSim profiles of a batch's rows (:meth:`SampledBatch.galaxies
        <galsim_deep.engine.batch.SampledBatch.galaxies>`): ``galsim.InterpolatedImage``."""
        return batch.profiles(rows, factors, rngs, noise_pad_size, noise, calculate_maxk,
                              **options)

    def band_galaxies(self, batch, rows):
        """What a simulator that draws band by band needs of the given rows (the BTK
        generator): the same profiles as :meth:`galaxies`."""
        return batch.profiles(rows)

    def block_images(self, batch, factors=None):
        """The rows' images ``[N, R, R]`` (rotated, times their flux factors) that a block
        drawing through one PSF draws (:func:`galsim_deep.engine.block.draw_batch`), or
        None where a galaxy is not one image through one PSF: an exact rotation (a
        rotated pixel grid), a catalog shape (a mapped grid) or a colour kind's SEDs."""
        rendered = batch.rendered("stamps", factors=factors)
        if any(frame is not None for _, frame in rendered):
            return None
        if len({arrays.shape for arrays, _ in rendered}) > 1:  # rotated rows beside unrotated
            return None
        return np.stack([arrays[0] for arrays, _ in rendered])

    def band_images(self, batch, bands=None):
        """Unrotated images ``[N, k, S, S]`` that :meth:`SampledBatch.arrays
        <galsim_deep.engine.batch.SampledBatch.arrays>` rotates: the stamp (k = 1), or
        one image per band of a colour kind."""
        return batch.stamps[:, None]
