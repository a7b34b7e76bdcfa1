"""A decision's printable view as a PDF, made by WeasyPrint (HTML and CSS to PDF, no browser).

WeasyPrint draws text with the system's Pango and fonts (Debian: libpango-1.0-0, and a CJK font such
as fonts-wqy-microhei for the Chinese texts); it is imported when a PDF is asked for, so that a host
without Pango still serves everything else and says why there is no PDF. It fetches nothing: the
page's stylesheet is read from this package and every other URL is refused."""
from __future__ import annotations

from pathlib import Path

STYLESHEET = Path(__file__).resolve().parent / "static" / "console.css"


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it draws with are missing on this host."""


def render(html: str) -> bytes:
    """The PDF of a page rendered by the console (its <title> becomes the PDF's title)."""
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango's shared libraries are missing
        raise PdfUnavailable(f"PDF export needs WeasyPrint and Pango: {error}") from None

    class LocalOnly(weasyprint.URLFetcher):
        def fetch(self, url, headers=None):
            raise ValueError(f"the console's PDF loads nothing from outside ({url})")

    document = weasyprint.HTML(string=html, url_fetcher=LocalOnly())
    return document.write_pdf(stylesheets=[weasyprint.CSS(filename=str(STYLESHEET))])
