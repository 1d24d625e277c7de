"""The README's pictures of the dashboard, taken from the demo database so that they stay current.

    python scripts/screenshots.py                 # builds the demo (about 2 minutes), then shoots
    python scripts/screenshots.py --db demo.duckdb # an existing demo database

Serves the database on a free loopback port, opens each page in headless Chromium (Debian's
`chromium`, driven by Playwright, as the browser tests do) and writes docs/screenshots/*.png.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"

# (file, path, viewport, what to wait for): the overview and two pages, wide, and one on a phone.
SHOTS = (
    ("overview.png", "/?interval=all", (1440, 900), "#page:not(:has(.loading))"),
    ("hashprice.png", "/hashprice?interval=all", (1440, 900), "#page:not(:has(.loading))"),
    ("signals.png", "/signals?interval=all", (1440, 900), "[data-chart-id=hash-ribbons]"),
    ("pools-phone.png", "/pools?interval=1m", (390, 844), "#page:not(:has(.loading))"),
)


def serve(db: Path) -> tuple[str, object]:
    import uvicorn

    from minerwatch.web.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            return f"http://127.0.0.1:{port}", server
        time.sleep(0.05)
    raise RuntimeError("the server did not start within 10 s")


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        for name, path, (w, h), ready in SHOTS:
            page = browser.new_page(viewport={"width": w, "height": h})
            page.goto(url + path)
            page.wait_for_selector(ready, timeout=30_000)
            page.wait_for_timeout(300)          # the charts' second layout pass after the fonts
            page.screenshot(path=str(out / name))
            written.append(out / name)
            page.close()
        browser.close()
    return written


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="an existing demo database (default: build one in a temporary folder)")
    ap.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNG files (default: {OUT})")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"error: {CHROMIUM} is needed (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from minerwatch.cli.demo_cmds import build_demo

            db = Path(tmp) / "demo.duckdb"
            print("building the demo database …", file=sys.stderr)
            build_demo(db, log=lambda _msg: None)
        url, server = serve(db)
        try:
            for f in shoot(url, args.out):
                print(f)
        finally:
            server.should_exit = True  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
