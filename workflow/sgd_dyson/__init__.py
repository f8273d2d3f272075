"""Stochastic gradient descent as Dyson Brownian motion.

The science behind the workflow: models trained by SGD (`teacher_student`),
their random streams (`seeding`, `sampling`), weight spectra (`spectra`), the
random-matrix formulas (`distributions`), statistics and fits (`statistics`,
`fits`), the sweep and its configuration (`config`), the Parquet tables that
stages hand over (`tables`) and the figures (`plotting`).
"""

__version__ = "0.3.0"
