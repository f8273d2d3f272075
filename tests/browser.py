"""Render an HTML page in headless Chromium (Debian's ``chromium``) and return its DOM.

The Snakemake report is a JavaScript application: the page's HTML holds only
the data, and the visible content exists only once the scripts have run.
`rendered_dom` therefore returns the DOM after rendering, with the script
elements removed, so that a test finds only what a reader would see.
"""

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

RENDER_SECONDS = 20
"""Virtual time the page gets to run its scripts before the DOM is taken."""


def unavailable_reason() -> str | None:
    """Why no page can be rendered here, or None."""
    if shutil.which("chromium") is None:
        return "Chromium is not installed (Debian: apt-get install chromium)"
    return None


def rendered_dom(
    page: Path, script: str | None = None, window: tuple[int, int] = (1400, 900)
) -> tuple[str, str]:
    """``(DOM without scripts, browser log)`` of ``page`` rendered in headless Chromium.

    ``script`` (JavaScript) runs once the report's application object ``app``
    exists, e.g. to open a section (``app.showCategory('paper')``). The page
    is rendered from a copy, with a fresh browser profile each time.
    """
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        text = page.read_text(encoding="utf-8")
        if script is not None:
            waiting = (
                "<script>(function run() { if (typeof app === 'undefined' || !app) "
                f"return setTimeout(run, 50); {script} }})();</script>"
            )
            end = text.rindex("</body>")
            text = text[:end] + waiting + text[end:]
        copy = folder / page.name
        copy.write_text(text, encoding="utf-8")
        command = [
            "chromium",
            "--headless",
            "--no-sandbox",  # required as root, as in a CI container
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={folder / 'profile'}",
            f"--virtual-time-budget={RENDER_SECONDS * 1000}",
            f"--window-size={window[0]},{window[1]}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            copy.as_uri(),
        ]
        # The browser has been seen to hang once in many starts: bound it.
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return re.sub(r"(?is)<script\b.*?</script>", "", result.stdout), result.stderr


def console_errors(log: str) -> list[str]:
    """The uncaught JavaScript errors in a browser log."""
    return [line for line in log.splitlines() if "CONSOLE" in line and "Uncaught" in line]
