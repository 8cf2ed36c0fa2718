"""Diagnostics: live training checkpoints and runs scored with the validation measures.

A top layer beside the command line.  Diagnostics may import both
:mod:`galsim_deep.training` and :mod:`galsim_deep.tools.validation`; only the
command line (:mod:`galsim_deep.cli`) imports them, and nothing in training or
validation imports them (``tests/project/test_architecture.py``, :doc:`/architecture`).
What one campaign measured once lives beside the package, in ``research/`` (not
installed); what is here, users and maintainers run:

* :mod:`~galsim_deep.diagnostics.checkpoint_scores` - quick scores of a
  checkpoint's autoencoder on mock galaxies: learning curves and ablations
  (``galsim-deep validation checkpoint``, the long run's scores), with the scores of
  its smooth and colour heads (:mod:`~galsim_deep.diagnostics.head_scores`);
* :mod:`~galsim_deep.diagnostics.sample_scores` - a checkpoint's or a module's
  *samples* scored on an evaluation file against the truths (survey views, shapes,
  shear, the light far from the centre);
* :mod:`~galsim_deep.diagnostics.long_run` - the long training run in legs, scored as
  it goes (``galsim-deep model train-long``), and its figure
  (:mod:`~galsim_deep.diagnostics.learning_curve`);
* :mod:`~galsim_deep.diagnostics.release_check` - the release gate: modules as users
  get them, the Sérsic rows and the truths' own stamps scored alike in five survey
  views, and the check a new default passes against the previous one (``galsim-deep
  validation release-table``, ``galsim-deep hub release``);
* :mod:`~galsim_deep.diagnostics.student_check` - a distilled student's fidelity
  check against its teacher on the release table (``galsim-deep validation
  student``, ``model distill --judge``).

Nothing is imported here: each submodule loads TensorFlow and the training
code only when it is imported itself.
"""
