"""Browser tests: Debian's Chromium driven by Playwright, a fake camera playing a test photo.

The server is pytest-django's `live_server` (http://localhost:PORT, a secure context, so
`getUserMedia` works), with the real Celery worker and the real face model where a test says
so. Screenshots go to test-artifacts/screenshots/, reported at the end of the run.
"""

from pathlib import Path

import pytest

from tests.browser.pages import CHROMIUM, DESKTOP, LOCALES, SCREENSHOTS, camera_for, y4m_from_photo


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath) and not Path(CHROMIUM).exists():
            item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))


def pytest_terminal_summary(terminalreporter):
    if SCREENSHOTS.is_dir() and any(SCREENSHOTS.iterdir()):
        count = len(list(SCREENSHOTS.glob("*.png")))
        terminalreporter.write_line(f"Browser screenshots ({count}): {SCREENSHOTS}")


@pytest.fixture(scope="session", autouse=True)
def fresh_screenshots():
    """Screenshots of this run only."""
    if SCREENSHOTS.is_dir():
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()


@pytest.fixture
def camera_file(tmp_path, request):
    """A camera file that each test rewrites once the challenge is known (same size and rate
    as the placeholder, so Chromium's fake device opens it the same way)."""
    path = tmp_path / "challenge.y4m"
    camera_for(path, [request.getfixturevalue("photos")["a1"]], [])
    return path


@pytest.fixture
def playwright(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls of the test
    # itself are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright, tmp_path, request):
    """Opens Chromium: `browser(camera="a2", language="en", javascript=True)` -> a page."""
    contexts = []

    def _open(camera=None, language="en", javascript=True, viewport=DESKTOP, camera_file=None):
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
        ]
        if camera is not None:
            photo = request.getfixturevalue("photos")[camera]
            video = y4m_from_photo(photo, tmp_path / f"camera-{camera}.y4m")
            args.append(f"--use-file-for-fake-video-capture={video}")
        elif camera_file is not None:
            args.append(f"--use-file-for-fake-video-capture={camera_file.resolve()}")
        profile = tmp_path / f"profile-{len(contexts)}"
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=args,
            locale=LOCALES[language],
            java_script_enabled=javascript,
            viewport=viewport,
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.pages[0] if context.pages else context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        return page

    yield _open
    for context in contexts:
        context.close()
