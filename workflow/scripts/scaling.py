"""Rule scaling: every point's fits against sqrt(α/|B| × amplitude), the fitted lines, and the
power laws ⟨S⟩ = c α^p |B|^(−q) that tell the scaling rules apart."""

import logging

import pandas as pd

from sgd_dyson.logs import log_to
from sgd_dyson.report.tables import fits_display, numbers_display, table_page
from sgd_dyson.stages.scaling import (
    density_fits_table,
    residual_table,
    scaling_exponents,
    scaling_fits,
    scaling_table,
)
from sgd_dyson.tables import atomic_path, provenance, read_table, write_table

log_to(snakemake.log[0])
params = snakemake.params
inputs = snakemake.input
fits = pd.concat([read_table(path, "fit") for path in inputs.fits], ignore_index=True)
densities = pd.concat(
    [read_table(path, "density_fit") for path in inputs.density_fits], ignore_index=True
)
sweep = read_table(inputs.sweep, "sweep")
theory = [read_table(path, "theory") for path in inputs.theory]
scaling = scaling_table(
    sweep, fits, **params.settings, theory=pd.concat(theory, ignore_index=True) if theory else None
)
for row in scaling[scaling["status"] != "ok"].drop_duplicates("point").itertuples():
    if row.status == "non_stationary":
        logging.warning(
            "point %s: not stationary (the halves check failed from step %d): left out of the "
            "scaling fits",
            row.point,
            row.burn_in,
        )
        continue
    logging.warning(
        "point %s: %d of %d replicas diverged (%s): left out of the scaling fits",
        row.point,
        row.diverged_replicas,
        row.replicas + row.diverged_replicas,
        row.status,
    )
write_table(scaling, snakemake.output.scaling, "scaling", provenance(params.settings))
residuals = residual_table(scaling)
# A plain table for the report; the numbers live in scaling.parquet.
with atomic_path(snakemake.output.residuals) as temporary:
    residuals.to_csv(temporary, index=False, float_format="%.6g")
write_table(
    density_fits_table(sweep, densities),
    snakemake.output.density_fits,
    "density_fits",
    provenance(params.settings),
)
lines = scaling_fits(scaling)
write_table(lines, snakemake.output.scaling_fit, "scaling_fit", provenance(params.settings))
exponents = scaling_exponents(scaling)
for fit in exponents.itertuples():
    logging.info(
        "cluster %d (ε %s, σ_W %s, %d points): p = %.3f ± %.3f, q = %.3f ± %.3f, χ²/dof %.2f",
        fit.cluster,
        fit.noise,
        fit.init_width,
        fit.n_points,
        fit.lr_exponent,
        fit.lr_exponent_err,
        fit.batch_exponent,
        fit.batch_exponent_err,
        fit.chi2_dof,
    )
write_table(
    exponents,
    snakemake.output.scaling_exponents,
    "scaling_exponents",
    provenance(params.settings),
)
experiment = sweep["experiment"].iloc[0]
fitted_lines, point_fits = fits_display(scaling, lines)
pages = {
    "fits_table": table_page(
        f"{experiment}: fits",
        {
            "lines through the origin against the scale": fitted_lines,
            "every point and cluster": point_fits,
        },
    ),
    "residuals_table": table_page(
        f"{experiment}: residuals against the theory",
        {"⟨S⟩ and centres against the theory": numbers_display(residuals)},
        note="" if scaling["mean_spacing_theory"].notna().any() else "This model has no theory.",
    ),
}
for name, page in pages.items():
    with atomic_path(snakemake.output[name]) as temporary:
        temporary.write_text(page, encoding="utf-8")
