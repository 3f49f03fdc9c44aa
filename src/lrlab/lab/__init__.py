"""The experiment lab: datasets, models, a training engine, a run store, plots and reports.

Each piece lives in its own module and imports its heavy dependencies (torch, PIL,
scikit-learn, matplotlib) only when used, so ``import lrlab.lab`` stays cheap:

- :mod:`lrlab.lab.data`: ``load_dataset(name)`` and ``dataset_names()``;
- :mod:`lrlab.lab.models`: ``build_model(name, ...)`` and ``model_names()``;
- :mod:`lrlab.lab.config`: ``RunConfig``, every setting of a run;
- :mod:`lrlab.lab.train`: ``Trainer``, the training loop, its metrics and its state;
- :mod:`lrlab.lab.augment`: flip, translate and cutout on the device;
- :mod:`lrlab.lab.checkpoint` and :mod:`lrlab.lab.interrupt`: atomic checkpoints, and
  Ctrl+C/SIGTERM as a request to stop after the current step;
- :mod:`lrlab.lab.store`: the SQLite run store (``open_store``);
- :mod:`lrlab.lab.run`: ``start_run`` and ``resume_run``, one run from start to end;
- :mod:`lrlab.lab.compare`: ``run_comparison``, several schedules × seeds;
- :mod:`lrlab.lab.plots`, :mod:`lrlab.lab.report`, :mod:`lrlab.lab.gradcam`,
  :mod:`lrlab.lab.inspect`: figures, the HTML report and Grad-CAM;
- :mod:`lrlab.lab.progress`, :mod:`lrlab.lab.commands`, :mod:`lrlab.lab.runs_commands`
  and :mod:`lrlab.lab.cli_args`: what the ``lrlab`` command prints, and its lab
  subcommands.

They need the ``lab`` extra, ``pip install 'lrlab[lab]'``.
"""
