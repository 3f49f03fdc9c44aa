"""The experiment lab: datasets, models, a training engine, a run store, plots and reports.

Each piece lives in its own module and imports its heavy dependencies (torch, PIL,
scikit-learn, matplotlib) only when used, so ``import lrlab.lab`` stays cheap. Dataset
loaders live in :mod:`lrlab.lab.data` (``load_dataset(name)`` and ``dataset_names()``);
they need the ``lab`` extra, ``pip install 'lrlab[lab]'``, for the image and scikit-learn
datasets.
"""
