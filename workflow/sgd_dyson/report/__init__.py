"""The HTML report's own pages, as strings (Snakemake renders and bundles them).

`front_page` (the module) writes the landing page, which answers the study's
question at a glance; `tables` turns the tables of the scaling stage into
small standalone HTML pages, which the report shows as tables (it offers other
text files only as downloads). What the report names a model comes from the
model (`sgd_dyson.models.Model.title`, `Labels`), passed in by the rule.
"""

from .tables import fits_display, numbers_display, table_page, with_error

__all__ = ["fits_display", "numbers_display", "table_page", "with_error"]
