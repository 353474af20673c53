"""Screenshots of the portal's main pages for the docs (`make screenshots`).

Sets up the portal with the demo data in a throwaway SQLite database, serves it on its own port
(SHOTS_PORT, default 8877), logs in as the demo roles with Playwright and Debian's Chromium
(/usr/bin/chromium), and saves each page at desktop (1280 px) and phone (390 px) width in
English, Spanish and French to docs/img/<page>-<language>-<width>.png (PNGs kept small: a
palette of 256 colours). The README's dashboard image is the English desktop one.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "kiva-demo-2026"
LANGUAGES = ("en", "es", "fr")
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
MAX_BYTES = 300_000


def main():
    port = int(os.environ.get("SHOTS_PORT", "8877"))
    url = f"http://127.0.0.1:{port}/"
    work = Path(tempfile.mkdtemp(prefix="portal-shots-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "KIVA_SANDBOX_URL": f"{url}kiva-sandbox/",
        "CELERY_BROKER_URL": "",
        "DJANGO_ALLOW_ASYNC_UNSAFE": "true",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    server = None
    try:
        # Our own manage.py with fixed arguments: no untrusted input.
        subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True)  # noqa: S603
        subprocess.run([*manage, "load_demo", "--url", url], env=env, check=True)  # noqa: S603
        server = subprocess.Popen(  # noqa: S603
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(url)
        os.environ.update(env)
        pages = _pages()
        saved = _shoot(url, pages)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        shutil.rmtree(work, ignore_errors=True)
    shutil.copyfile(OUT / "dashboard-en-desktop.png", OUT / "dashboard.png")
    print(f"{len(saved)} screenshots in {OUT.relative_to(ROOT)}/")


def _wait(url, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "accounts/login/", timeout=2)  # noqa: S310 - ours
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"The portal did not answer at {url}")


def _pages():
    """(name, user, path) of each page, read from the demo data."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kivaportal.settings")
    import django

    django.setup()
    from kivaportal.lending.models import Loan
    from kivaportal.partners.models import Partner
    from kivaportal.repayments.models import RepaymentReport

    partner = Partner.objects.get(kiva_partner_id="9001")
    submitted = Loan.objects.filter(partner=partner, state="submitted").order_by("pk").first()
    draft = Loan.objects.filter(partner=partner, state="draft").exclude(description="").first()
    report = RepaymentReport.objects.filter(partner=partner, state="sent").order_by("month")
    p = partner.pk
    return [
        ("dashboard", "rosa.reviewer", f"p/{p}/"),
        ("queue", "rosa.reviewer", f"p/{p}/loans/"),
        ("loan", "rosa.reviewer", f"p/{p}/loans/{submitted.pk}/"),
        ("report", "rosa.reviewer", f"p/{p}/reports/{report.last().pk}/"),
        ("admin-loan", "ana.preparer", f"admin/lending/loan/{draft.pk}/change/"),
        ("team", "pablo.admin", f"p/{p}/team/"),
    ]


def _shoot(url, pages):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        for width_name, (width, height) in VIEWPORTS.items():
            for language in LANGUAGES:
                sessions = {}
                for name, user, path in pages:
                    if user not in sessions:
                        sessions[user] = _login(browser, url, user, language, width, height)
                    page = sessions[user]
                    page.goto(url + path)
                    page.wait_for_load_state("networkidle")
                    target = OUT / f"{name}-{language}-{width_name}.png"
                    page.screenshot(path=str(target))
                    _shrink(Image, target)
                    saved.append(target)
                for page in sessions.values():
                    page.context.close()
        browser.close()
    return saved


def _login(browser, url, user, language, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=language)
    context.add_cookies([{"name": "django_language", "value": language, "url": url}])
    page = context.new_page()
    page.goto(url + "accounts/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def _shrink(image_module, path):
    """A palette of 256 colours: a tenth of the size, no visible loss on these pages."""
    with image_module.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=image_module.Quantize.MEDIANCUT)
        small.save(path, optimize=True)
    if path.stat().st_size > MAX_BYTES:
        raise SystemExit(f"{path.name} is {path.stat().st_size} bytes, more than {MAX_BYTES}")


if __name__ == "__main__":
    main()
