"""What the browser tests share: Debian's Chromium, and loading a dashboard page until it is drawn."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
DRAWN = "#page:not(:has(.loading))"


def load(browser: object, url: str) -> tuple[object, list[str]]:
    """A new page at `url`, once drawn, and the console errors it logs from then on."""
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector(DRAWN, timeout=15_000)
    return page, errors


def load_sized(browser: object, url: str, width: int, height: int = 800, scheme: str = "light") -> object:
    """A new page of `width` × `height` in colour `scheme` at `url`, once drawn."""
    # bypass_csp: the pages allow only their own scripts; axe-core is injected by the test.
    page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=scheme,  # type: ignore[attr-defined]
                            bypass_csp=True)
    page.goto(url)
    page.wait_for_selector(DRAWN, timeout=15_000)
    return page


def chart_points(page: object) -> dict[str, int]:
    """Non-empty values drawn per chart id."""
    return {c.get_attribute("data-chart-id"): int(c.get_attribute("data-points") or 0)
            for c in page.query_selector_all("figure.chart")}  # type: ignore[attr-defined]
