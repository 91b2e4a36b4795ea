"""The web console in a real Chromium (Debian's, driven by Playwright) through the real stack:
sign in, an image submitted and seen arriving, a moderation decision streaming in, a reviewer
claiming and deciding, an email, a review, the System view's parts, lag and a dead letter
replayed, a drill run and followed to its verdict, bad input shown next to its field, another tenant seeing none of it, and
no Content-Security-Policy violation or serious accessibility finding. Screenshots of each view
(laptop and phone width) are written to build/screenshots/console/ for people to look at."""

import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from forgeline.drills.catalogue import DRILLS_DIR
from forgeline.load.requests import cart_catalogue
from forgeline.stack import Stack
from forgeline.standins.github import StandInClient
from forgeline.standins.review_samples import fake_sha, planted_pull, pull_request_payload, send_webhook
from forgeline.tools.seed import seed_shop
from services.common.events import EchoRequested
from services.common.topics import CONSUMER_GROUPS
from services.gateway.tenants import create_tenant
from tests.integration.conftest import new_tenant, wait_for
from tests.integration.test_email import mails_for
from tests.integration.test_kafka_paths import publish, rows_for
from tests.integration.test_moderation import UNSURE, pick_by_outcome

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[4]
SHOTS = ROOT / "build" / "screenshots" / "console"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SLOW = 90_000  # ms: an image goes through Kafka, the saga and Ray Serve on 2 busy cores


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: `make host-tools` installs Debian's chromium package"
    async with async_playwright() as playwright:
        # As root (CI) Chromium's sandbox cannot start; the pages are the console's own.
        launched = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
async def keys(db: asyncpg.Pool) -> dict[str, Any]:
    owner, owner_key = await new_tenant(db, credits=50)
    _, other_key = await new_tenant(db, credits=50)
    _, reviewer_key = await create_tenant(db, f"rev-{uuid.uuid4().hex[:8]}", 0, role="reviewer")
    _, admin_key = await create_tenant(db, f"adm-{uuid.uuid4().hex[:8]}", 0, role="admin")
    return {"owner": owner_key, "owner_name": owner.name, "other": other_key, "reviewer": reviewer_key, "admin": admin_key}


class Watched:
    """A signed-in page and what its browser complained about."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.complaints: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.complaints.append(f"page error: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx answer as an error; those are refusals the page shows the user.
        if re.match(r"Failed to load resource: the server responded with a status of 4\d\d", message.text):
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            self.complaints.append(message.text)


async def signed_in(browser: Browser, gateway_url: str, key: str, viewport: dict[str, int] = LAPTOP) -> Watched:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    watched = Watched(await context.new_page())
    page = watched.page
    await page.goto(f"{gateway_url}/console")
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#who")).to_be_visible()
    await expect(page.locator("#live")).to_have_text("live")
    assert key not in page.url
    return watched


async def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical findings (evaluated through DevTools, so the page's CSP,
    which forbids inline scripts, stays as it is)."""
    await page.evaluate(AXE.read_text())
    violations: list[dict[str, Any]] = await page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']}: {v['help']}" for v in violations if v["impact"] in ("serious", "critical")]


async def fits_a_phone(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width}px)"


async def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def looks_right(page: Page, view: str, *watched: Watched) -> None:
    """The view at laptop width (screenshot, no serious axe finding), then at phone width
    (screenshot, no sideways scroll); no page of the test complained; the pages close."""
    await shoot(page, f"{view}-laptop")
    assert await accessibility_problems(page) == []
    await page.set_viewport_size(PHONE)
    await shoot(page, f"{view}-phone")
    await fits_a_phone(page)
    assert [w.complaints for w in watched] == [[] for _ in watched]
    for each in watched:
        await each.page.context.close()


async def test_sign_in_refuses_an_unknown_key_and_the_page_holds_no_data(browser: Browser, gateway_url: str) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        response = await page.goto(f"{gateway_url}/console")
        assert response is not None and response.status == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        await page.get_by_label("API key").fill("fl_not-a-key")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#key-error")).to_have_text("That key is not known to this gateway.")
        await expect(page.locator("#images")).to_be_hidden()
        await shoot(page, "sign-in-refused")
        assert await accessibility_problems(page) == []
    finally:
        await context.close()


async def test_an_image_arrives_live_and_bad_input_is_shown_at_its_field(
    browser: Browser, gateway_url: str, keys: dict[str, Any]
) -> None:
    owner = await signed_in(browser, gateway_url, keys["owner"])
    other = await signed_in(browser, gateway_url, keys["other"])
    page = owner.page
    before = int(await page.locator("#credits").inner_text())

    await page.get_by_label("Prompt").fill("a lighthouse at dusk, seen from the console")
    await page.get_by_label("Steps").fill("9999")
    await page.get_by_role("button", name="Generate").click()
    await expect(page.locator('[data-error-for="steps"]')).to_contain_text("must be at most")
    await expect(page.get_by_label("Steps")).to_have_attribute("aria-invalid", "true")
    await shoot(page, "images-bad-input")

    await page.get_by_label("Steps").fill("4")
    await page.get_by_role("button", name="Generate").click()
    card = page.locator(".job").filter(has_text="seen from the console")
    await expect(card.locator(".badge.succeeded")).to_be_visible(timeout=SLOW)
    picture = card.locator("img")
    await expect(picture).to_be_visible()
    # The PNG came from S3 (a presigned URL the CSP allows) and decoded.
    assert await picture.evaluate("img => img.complete && img.naturalWidth") == 128
    await expect(page.locator("#credits")).not_to_have_text(str(before))
    assert int(await page.locator("#credits").inner_text()) < before
    await shoot(page, "images-laptop")
    assert await accessibility_problems(page) == []

    await page.set_viewport_size(PHONE)
    await shoot(page, "images-phone")
    await fits_a_phone(page)

    # The other tenant was connected all along and saw none of it.
    await expect(other.page.locator("#jobs-empty")).to_be_visible()
    assert await other.page.locator(".job").count() == 0
    assert owner.complaints == [] and other.complaints == []
    await page.context.close()
    await other.page.context.close()


async def test_a_decision_streams_in_and_a_reviewer_decides_from_the_queue(
    browser: Browser, stack: Stack, gateway_url: str, keys: dict[str, Any], env: dict[str, str]
) -> None:
    if "moderation-rules" not in stack.load_state()["components"]:
        pytest.skip("moderation is off: no training data (../shared/data/moderation/labeled_data.csv is absent)")
    owner = await signed_in(browser, gateway_url, keys["owner"])
    other = await signed_in(browser, gateway_url, keys["other"])
    page = owner.page
    await page.get_by_role("button", name="Moderation").click()
    await other.page.get_by_role("button", name="Moderation").click()

    await page.get_by_label("Text").fill("What a lovely day at the beach with my family")
    await page.get_by_role("button", name="Submit for moderation").click()
    clean = page.locator("#decisions tr").filter(has_text="lovely day at the beach")
    await expect(clean.locator(".badge.approve")).to_be_visible(timeout=SLOW)
    await expect(clean).to_contain_text("rules")

    unsure = await pick_by_outcome(env, "uncertain", UNSURE)
    await page.get_by_label("Text").fill(unsure)
    await page.get_by_role("button", name="Submit for moderation").click()
    waiting = page.locator("#decisions tr").filter(has_text=unsure)
    await expect(waiting.locator(".badge.review")).to_be_visible(timeout=SLOW)
    content_id = await waiting.get_attribute("data-content")
    await shoot(page, "moderation-laptop")
    assert await accessibility_problems(page) == []

    reviewer = await signed_in(browser, gateway_url, keys["reviewer"])
    review = reviewer.page
    await review.get_by_role("button", name="Moderation").click()
    entry = review.locator(f'[data-queue="{content_id}"]')
    await expect(entry).to_contain_text(unsure)
    await entry.get_by_role("button", name="Claim").click()
    await entry.get_by_label("Reason for the decision").fill("derogates a protected group")
    await shoot(review, "review-queue")
    await entry.get_by_role("button", name="Reject").click()
    await expect(entry).to_have_count(0)
    # The reviewer's decision reached the owner's page live, and it is what the API records.
    await expect(waiting.locator(".badge.reject")).to_be_visible(timeout=SLOW)
    async with httpx.AsyncClient(base_url=gateway_url, headers={"Authorization": f"Bearer {keys['owner']}"}) as api:
        recorded = (await api.get(f"/v1/content/{content_id}")).json()
    assert (recorded["decision"], recorded["tier"]) == ("reject", "human")

    await page.set_viewport_size(PHONE)
    await shoot(page, "moderation-phone")
    await fits_a_phone(page)
    assert await other.page.locator("#decisions tbody tr").count() == 0
    assert owner.complaints == [] and other.complaints == [] and reviewer.complaints == []
    for watched in (owner, other, reviewer):
        await watched.page.context.close()


async def test_a_carts_email_appears_as_sent_and_matches_the_smtp_sink(
    browser: Browser, stack: Stack, db: asyncpg.Pool, gateway_url: str, keys: dict[str, Any]
) -> None:
    owner = await signed_in(browser, gateway_url, keys["owner"])
    other = await signed_in(browser, gateway_url, keys["other"])
    page = owner.page
    await page.get_by_role("button", name="Email").click()
    await other.page.get_by_role("button", name="Email").click()
    async with db.acquire() as conn:
        me = await conn.fetchval("SELECT id FROM tenants WHERE name = $1", keys["owner_name"])
        shop = cart_catalogue(await seed_shop(conn, me, 11, users=20))
    cart_id = f"console-{uuid.uuid4().hex[:8]}"
    (sku, price), user_id = shop["skus"][0], shop["users"][0]
    body = {
        "cart_id": cart_id,
        "user_id": user_id,
        "currency": "USD",
        "items": [{"sku": sku, "quantity": 1, "unit_price": str(price)}],
    }
    async with httpx.AsyncClient(base_url=gateway_url, headers={"Authorization": f"Bearer {keys['owner']}"}) as api:
        assert (await api.post("/v1/events/cart-abandoned", json=body)).status_code == 202

    card = page.locator(f'[data-cart="{cart_id}"]')
    await expect(card.locator(".badge.sent")).to_be_visible(timeout=SLOW)
    [mail] = mails_for(stack, cart_id)  # exactly one mail reached the SMTP sink
    await expect(card.locator(".prompt")).to_have_text(str(mail["Subject"]))
    await card.get_by_text("The email as sent").click()
    shown = page.frame_locator(f'[data-cart="{cart_id}"] iframe')
    await expect(shown.locator("body")).not_to_be_empty()
    assert mail["To"] and str(mail["To"]) not in await page.content()  # the address stays off the page
    await expect(other.page.locator("#emails-empty")).to_be_visible()
    assert await other.page.locator(".email").count() == 0
    await looks_right(page, "email", owner, other)


async def test_an_admin_sees_a_pull_requests_review_with_its_inline_comments(
    browser: Browser, stack: Stack, gateway_url: str, keys: dict[str, Any]
) -> None:
    components = stack.load_state()["components"]
    if "codereview-orchestrator" not in components or components["github"].get("external"):
        pytest.skip("code review needs the local GitHub stand-in")
    admin = await signed_in(browser, gateway_url, keys["admin"])
    tenant = await signed_in(browser, gateway_url, keys["owner"])
    await expect(tenant.page.get_by_role("button", name="Code review")).to_be_hidden()  # not the tenant's data
    repo, number = "forgeline/demo-shop", int(uuid.uuid4().int % 900_000) + 100_000  # a repository the stack serves
    head = fake_sha(f"console-{number}")
    async with httpx.AsyncClient(timeout=30) as http:
        github = StandInClient(http, components["github"]["endpoint"])
        await github.add_pull(repo, number, head, planted_pull())
        payload = pull_request_payload(repo, number, head, fake_sha("console-base"), title="Orders: lookups and exports")
        assert (await send_webhook(http, gateway_url, stack.webhook_secret(), payload)).status_code == 202

        page = admin.page
        await page.get_by_role("button", name="Code review").click()
        card = page.locator(f'[data-run="{repo}#{number}@{head[:7]}"]').first
        await expect(card.locator(".badge.posted")).to_be_visible(timeout=SLOW)
        [review] = await github.reviews(repo, number)  # exactly one review reached the GitHub stand-in
        await expect(card).to_contain_text(f"review #{review['id']}")
        await card.get_by_text("inline comment(s)").click()
        shown = card.locator("table.findings tbody tr")
        assert await shown.count() >= len(review["comments"]) > 0  # agents may agree on a line: one comment
        for comment in review["comments"]:
            await expect(card).to_contain_text(f"{comment['path']}:{comment['line']}")
    await looks_right(page, "codereview", admin, tenant)


async def test_an_admin_sees_every_part_and_replays_a_dead_letter_from_the_system_view(
    browser: Browser, stack: Stack, gateway_url: str, keys: dict[str, Any], db: asyncpg.Pool, faults: Path
) -> None:
    admin = await signed_in(browser, gateway_url, keys["admin"])
    tenant = await signed_in(browser, gateway_url, keys["owner"])
    await expect(tenant.page.get_by_role("button", name="System")).to_be_hidden()  # the platform is not a tenant's
    page = admin.page
    await page.get_by_role("button", name="System").click()
    parts = stack.readiness_urls()
    await expect(page.locator("#system-read")).to_contain_text(f"{len(parts)} of {len(parts)} parts ready", timeout=SLOW)
    for name in parts:
        await expect(page.locator(f'[data-part="{name}"] .badge')).to_have_text("ready")
    for group in CONSUMER_GROUPS:
        for spec in group.topics:
            await expect(page.locator(f'#lag [data-group="{group.name}"][data-topic="{spec.name}"]')).to_be_visible()

    # A dead letter: an echo whose handler fails every attempt, for a tenant that exists.
    owner = await db.fetchval("SELECT id FROM tenants WHERE name = $1", keys["owner_name"])
    marker = f"console-dead-{uuid.uuid4().hex[:8]}"
    faults.write_text(f"echo.handle: fail 100% match={marker}\n")
    event = EchoRequested(tenant_id=owner, message=marker)
    await publish(stack.endpoints_env()["KAFKA_BOOTSTRAP_SERVERS"], [event], key=f"k-{marker}".encode())
    async with httpx.AsyncClient(base_url=gateway_url, headers={"Authorization": f"Bearer {keys['admin']}"}) as http:

        async def dead() -> bool:
            letters = (await http.get("/v1/system/dead-letters/echo.requested")).json()
            return any(letter["key"] == f"k-{marker}" for letter in letters)

        await wait_for(dead)
    row = page.locator('#dead [data-dead="echo.requested"]')
    await row.get_by_role("button", name="Show").click(timeout=SLOW)  # shown once the page reads the count again
    await expect(page.locator("#letters")).to_contain_text(f"k-{marker}")
    await expect(page.locator("#letters")).to_contain_text("InjectedFaultError")
    await shoot(page, "system-laptop")
    assert await accessibility_problems(page) == []

    faults.write_text("")  # the cause is fixed: replay
    await row.get_by_role("button", name="Replay").click()
    await expect(page.locator("#letters-title")).to_contain_text("Replayed from echo.requested.dlq")
    await wait_for(lambda: rows_for(db, [event]))  # the replayed echo's row, where its effect lands
    await expect(row.locator('[data-label="Waiting"]')).to_have_text("0", timeout=SLOW)
    await page.set_viewport_size(PHONE)
    await shoot(page, "system-phone")
    await fits_a_phone(page)
    assert admin.complaints == [] and tenant.complaints == []
    for watched in (admin, tenant):
        await watched.page.context.close()


async def test_an_admin_runs_a_drill_and_watches_its_journal_to_the_verdict(
    browser: Browser, stack: Stack, gateway_url: str, keys: dict[str, Any]
) -> None:
    drill = "echo-crashed-between-effect-and-commit"  # the shortest: 15 s of echoes, one crash
    admin = await signed_in(browser, gateway_url, keys["admin"])
    tenant = await signed_in(browser, gateway_url, keys["owner"])
    await expect(tenant.page.get_by_role("button", name="Drills")).to_be_hidden()
    page = admin.page
    await page.get_by_role("button", name="Drills").click()
    await expect(page.locator("#drill-list tbody tr")).to_have_count(len(list(DRILLS_DIR.glob("*.yaml"))))
    await page.locator(f'#drill-list [data-drill="{drill}"]').get_by_role("button", name="Run").click()
    await expect(page.locator("#drill-run-title")).to_contain_text(drill)
    run_id = await page.locator("#drill-run").get_attribute("data-run")
    assert run_id is not None
    async with httpx.AsyncClient(base_url=gateway_url, headers={"Authorization": f"Bearer {keys['admin']}"}) as http:
        again = await http.post(f"/v1/drills/{drill}/runs")
        assert again.status_code == 409 and run_id in again.json()["message"]  # one drill at a time
    # The journal is live: the intake lag, read every 2 s, is drawn while the 15 s load still runs.
    await expect(page.locator("#drill-timeline polyline")).to_have_count(1, timeout=SLOW)
    assert await page.locator("#drill-run-status .badge").text_content() == "running"
    await expect(page.locator("#drill-run-status .badge")).to_have_text("passed", timeout=4 * SLOW)
    await expect(page.locator("#drill-faults")).to_contain_text("struck")
    await expect(page.locator("#drill-load")).to_contain_text("requests sent, accepted")
    await expect(page.locator("#drill-invariants")).to_contain_text("one_effect_per_echo")
    assert await page.locator("#drill-timeline rect.bar-ok").count() > 0  # the load, second by second
    assert await page.locator("#drill-timeline rect.fault-window").count() == 1
    folder = stack.drill_runs / run_id
    assert (folder / "report.html").exists() and (folder / "junit.xml").exists()
    await looks_right(page, "drills", admin, tenant)
