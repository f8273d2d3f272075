"""Route a rule script's logging, warnings and uncaught errors to its log file."""

import logging
import sys


def log_to(path: str) -> None:
    """Send logging (INFO), Python warnings and uncaught exceptions to ``path``."""
    logging.basicConfig(
        filename=path,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    default_hook = sys.excepthook

    def log_and_raise(kind, error, traceback):
        logging.getLogger("sgd_dyson").error(
            "%s: %s", kind.__name__, error, exc_info=(kind, error, traceback)
        )
        default_hook(kind, error, traceback)

    sys.excepthook = log_and_raise
