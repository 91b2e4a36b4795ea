"""The `forgeline` command: run the platform locally and operate it."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from forgeline.bench.output import emit
from forgeline.containers import BACKING_IMAGE, BACKING_READY, SERVICE_IMAGE, THIN_IMAGE
from forgeline.demos.narrate import console_url
from forgeline.stack import Stack, StackError
from services.common.settings import Settings, get_settings

app = typer.Typer(
    help="Forgeline: an event-driven GenAI platform. `forgeline up` runs it all on this machine.",
    no_args_is_help=True,
    add_completion=False,
)
tenants_app = typer.Typer(help="Manage tenants and their API keys.", no_args_is_help=True)
demo_app = typer.Typer(help="Run the end-to-end demos against the running stack.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks that print JSON (ratios against a baseline run in the same process).", no_args_is_help=True
)
app.add_typer(tenants_app, name="tenants")
app.add_typer(demo_app, name="demo")
dlq_app = typer.Typer(help="Inspect and replay dead-letter topics.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
models_app = typer.Typer(help="Make or inspect the local models the pipelines load.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(models_app, name="models")
review_app = typer.Typer(help="Code review: what the review agents found and what authors fixed.", no_args_is_help=True)
app.add_typer(review_app, name="review")
eval_app = typer.Typer(help="Measure pipeline quality on labelled data.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
drill_app = typer.Typer(
    help="Drills: put the platform under load and faults, then audit its invariants (docs/drills.md).",
    no_args_is_help=True,
)
app.add_typer(drill_app, name="drill")
containers_app = typer.Typer(
    help="The Helm chart as containers on one machine (podman; docs/kubernetes.md).", no_args_is_help=True
)
app.add_typer(containers_app, name="containers")
console = Console(stderr=True, soft_wrap=True)


def use_stack_env() -> Settings:
    """Point this process at the running stack (stack.json), without overriding variables set by hand.
    With no stack.json (in a pod: `kubectl exec ... forgeline tenants create`) the environment
    is all there is, and no Stack is built: its parts need server packages the image leaves out."""
    settings = get_settings()
    if (settings.state_dir / "stack.json").exists():
        for key, value in Stack(settings).endpoints_env().items():
            os.environ.setdefault(key, value)
        get_settings.cache_clear()
        settings = get_settings()
    return settings


def _stack() -> Stack:
    return Stack(get_settings(), progress=lambda msg: console.print(f"  {msg}"))


@app.command()
def up(
    only: Annotated[
        list[str] | None, typer.Option(help="Start only these parts (repeatable), e.g. --only kafka --only postgres")
    ] = None,
) -> None:
    """Start the embedded stack and every service, wait until healthy, print the endpoints.

    Writes .forgeline/stack.json. Running it again while up is harmless: healthy parts are kept.
    """
    stack = _stack()
    console.print(f"Starting Forgeline in {stack.home} (logs in {stack.home / 'logs'})")
    try:
        state = stack.up(tuple(only) if only else None)
    except StackError as error:
        console.print(f"[red]forgeline up failed:[/red] {error}")
        console.print("Stop what did start with `forgeline down`.")
        raise typer.Exit(1) from error
    _print_table(state)
    demo = state.get("demo_tenant", {})
    console.print(f"Up in {state.get('started_in_s')}s. Demo tenant '{demo.get('name')}' API key: {demo.get('api_key')}")
    console.print(f"Console: {console_url(state)} (sign in with that key; `forgeline console` opens it)")
    console.print(f"Operator key (System, Drills, Code review): {state.get('ops_tenant', {}).get('api_key')}")
    console.print("Next: `forgeline demo all`, `forgeline status`, `forgeline logs gateway`, `forgeline down`.")


@app.command("console")
def open_console(
    browser: Annotated[bool, typer.Option(help="Also open it in this machine's web browser")] = True,
) -> None:
    """Print the web console's URL and the demo tenant's key to sign in with, and open it.

    The console (served by the gateway at /console) shows image jobs arriving, moderation
    decisions as they are made, each cart's email, and, for reviewer and admin keys, the review
    queue; for admin keys (the local operator's), the code reviews, the drills and the
    system's health, lag and dead letters. The key is pasted into its sign-in form, never put
    in the URL.
    Needs `forgeline up`.
    """
    import webbrowser

    import httpx

    state = _stack().load_state()
    url = console_url(state)
    try:
        answered = url is not None and httpx.get(url, timeout=3).status_code == 200
    except httpx.HTTPError:
        answered = False
    if url is None or not answered:
        console.print("The gateway is not answering: run `forgeline up` first (`forgeline status` shows what runs).")
        raise typer.Exit(1)
    console.print(f"Console: {url}")
    console.print(f"Sign in with the demo tenant's key: {state.get('demo_tenant', {}).get('api_key')}")
    operator = state.get("ops_tenant", {}).get("api_key")
    console.print(f"or, for the System, Drills and Code review views, the operator's: {operator}")
    if browser:
        webbrowser.open(url)


@app.command()
def backing() -> None:
    """Run the backing servers in the foreground until SIGTERM: Kafka (Tansu), Postgres, Redis,
    S3, Temporal, Ray with the Serve applications, the SMTP sink and the GitHub stand-in.

    The main process of the backing container of `forgeline containers up`. It creates the
    database and buckets; migrations and topics are the chart's prepare Job's. Set
    FORGELINE_BIND_HOST=0.0.0.0 and FORGELINE_ADVERTISED_HOST to the container's name.
    """
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    stack = _stack()
    try:
        state = stack.up(Stack.INFRA + Stack.APPS, prepare=False)
    except StackError as error:
        console.print(f"[red]the backing servers did not start:[/red] {error}")
        stack.down()
        raise typer.Exit(1) from error
    console.print(f"{BACKING_READY} in {state.get('started_in_s')}s: {', '.join(sorted(state['components']))}")
    stop.wait()
    console.print(f"Stopped: {', '.join(stack.down())}.")


@app.command()
def down() -> None:
    """Stop everything `forgeline up` started (and nothing else)."""
    stopped = _stack().down()
    console.print(f"Stopped: {', '.join(stopped) or 'nothing was running'}.")


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print stack.json with fresh health.")] = False) -> None:
    """Show each part's endpoint, PID and health (checked now)."""
    stack = _stack()
    if not stack.state_file.exists():
        console.print(f"No stack recorded in {stack.home}. Start one with `forgeline up`.")
        raise typer.Exit(1)
    # The table says which part is down; aiokafka's own "Unable connect" line would only repeat it.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    state = asyncio.run(stack.status())
    if as_json:
        print(json.dumps(state, indent=2, sort_keys=True))
    else:
        _print_table(state)
    if not all(c["healthy"] for c in state["components"].values()):
        raise typer.Exit(1)


@app.command()
def logs(
    name: Annotated[str, typer.Argument(help="A part or service name: kafka, s3, postgres, gateway, ...")],
    lines: Annotated[int, typer.Option("-n", help="How many lines")] = 40,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing new lines")] = False,
) -> None:
    """Print the tail of one part's log."""
    stack = _stack()
    if name not in stack.components:
        console.print(f"Unknown part {name!r}; choose one of: {', '.join(stack.components)}")
        raise typer.Exit(2)
    print(stack.tail(name, lines))
    path = stack.log_path(name)
    if follow and path.exists():
        with path.open() as f:
            f.seek(0, os.SEEK_END)
            while True:
                line = f.readline()
                if line:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    time.sleep(0.3)


def _print_table(state: dict[str, object]) -> None:
    table = Table(title="Forgeline stack")
    for col in ("part", "endpoint", "pid", "healthy", "log"):
        table.add_column(col)
    components = state.get("components", {})
    assert isinstance(components, dict)
    for name, rec in components.items():
        pid = "external" if rec.get("external") else str(rec.get("pid") or "-")
        table.add_row(name, rec["endpoint"], pid, "yes" if rec.get("healthy") else "[red]no[/red]", rec.get("log") or "")
    Console().print(table)


@tenants_app.command("create")
def tenants_create(
    name: Annotated[str, typer.Option(help="Unique tenant name")],
    credits: Annotated[int, typer.Option(help="Starting credit balance", min=0)] = 0,
    role: Annotated[str, typer.Option(help="tenant, reviewer or admin")] = "tenant",
) -> None:
    """Create a tenant and print its API key (shown once; only its hash is stored)."""
    import asyncpg

    from services.gateway.tenants import create_tenant

    settings = use_stack_env()
    if role not in ("tenant", "reviewer", "admin"):
        console.print("--role must be tenant, reviewer or admin")
        raise typer.Exit(2)

    async def run() -> str:
        conn = await asyncpg.connect(settings.endpoints.database_url)
        try:
            _, key = await create_tenant(conn, name, credits, role)  # type: ignore[arg-type]
            return key
        except asyncpg.UniqueViolationError as error:
            console.print(f"A tenant named {name!r} already exists; pick another name.")
            raise typer.Exit(1) from error
        finally:
            await conn.close()

    if not settings.endpoints.database_url:
        console.print("No database: start the stack with `forgeline up` or set DATABASE_URL.")
        raise typer.Exit(1)
    key = asyncio.run(run())
    console.print(f"Created tenant {name!r} with {credits} credits. API key (store it now, it is not shown again):")
    print(key)


@app.command()
def seed(
    users: Annotated[int, typer.Option(help="How many shoppers", min=10)] = 300,
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed: the same seed makes the same shop")] = 7,
) -> None:
    """Fill the demo shop (tenant `shop-demo`): users in cohorts, items, purchases, promotions,
    ~30 email templates. Writes .forgeline/seed.json (tenant key, user ids with cohort and
    address, SKUs) so any client can craft valid `cart.abandoned` events."""
    import asyncpg

    from forgeline.tools.seed import seed as write_seed

    settings = use_stack_env()
    if not settings.endpoints.database_url:
        console.print("No database: start the stack with `forgeline up` or set DATABASE_URL.")
        raise typer.Exit(1)

    async def run() -> dict[str, object]:
        conn = await asyncpg.connect(settings.endpoints.database_url)
        try:
            return await write_seed(conn, settings.state_dir / "seed.json", seed_value, users)
        finally:
            await conn.close()

    summary = asyncio.run(run())
    console.print(f"Seeded {summary['counts']} for tenant shop-demo; details in {settings.state_dir / 'seed.json'}.")


@app.command()
def prepare(
    check: Annotated[
        bool, typer.Option("--check", help="Change nothing: wait until migrations are applied and topics exist.")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to keep retrying while Postgres or Kafka are not reachable.")] = 300.0,
) -> None:
    """Apply database migrations and create Kafka topics at DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS.

    The Helm chart runs this as a hook Job before services start (and `--check` in their init
    containers); `forgeline up` does the same for the local stack by itself.
    """
    from forgeline.stack.prepare import NotPreparedError, prepare_platform

    try:
        done = asyncio.run(prepare_platform(get_settings(), check, wait, lambda msg: console.print(f"  {msg}")))
    except NotPreparedError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    verb = "pending" if check else "applied"
    console.print(f"migrations {verb}: {len(done['migrations'])}; topics created: {len(done['topics'])}")


@app.command()
def trace(ident: Annotated[str, typer.Argument(help="A trace id, job id, echo id or event id")]) -> None:
    """Print the end-to-end span tree for an id, from the JSONL traces of every service."""
    from forgeline.tools.trace import find_traces, load_spans, render_tree

    settings = use_stack_env()
    spans = load_spans(settings.state_dir / "traces")
    found = find_traces(spans, ident)
    if not found:
        console.print(f"No spans mention {ident!r} in {settings.state_dir / 'traces'} (spans are flushed every ~0.5s).")
        raise typer.Exit(1)
    print("\n".join(render_tree(spans, found)))


@demo_app.command("all")
def demo_all() -> None:
    """Run every demo that exists so far."""
    from forgeline.demos.all import run_all

    settings = use_stack_env()
    ok = asyncio.run(run_all(settings, Stack(settings).load_state(), print))
    raise typer.Exit(0 if ok else 1)


@demo_app.command("spine")
def demo_spine() -> None:
    """HTTP -> Kafka -> echo service -> Postgres -> Kafka -> SSE, narrated."""
    from forgeline.demos.spine import spine

    settings = use_stack_env()
    ok = asyncio.run(spine(settings, Stack(settings).load_state(), print))
    raise typer.Exit(0 if ok else 1)


@demo_app.command("image")
def demo_image() -> None:
    """Image jobs: several prompts followed live, a cache hit, a compensated failure, balances."""
    from forgeline.demos.image import image

    settings = use_stack_env()
    ok = asyncio.run(image(settings, Stack(settings).load_state(), print))
    raise typer.Exit(0 if ok else 1)


@dlq_app.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Argument(help="The source topic, e.g. email.outbound (its .dlq is read)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be replayed")] = False,
) -> None:
    """Send every dead letter of TOPIC not replayed before back through TOPIC.retry, to the
    consumer group that gave up on it, with a fresh retry budget. Fix the cause first (e.g.
    bring SMTP back): what fails again lands in the DLQ again."""
    from services.common.dlq import ReplayBusyError, replay_dead_letters
    from services.common.topics import spec_for

    settings = use_stack_env()
    try:
        spec = spec_for(topic)
    except KeyError as error:
        console.print(str(error))
        raise typer.Exit(2) from error
    if not spec.consumed:
        console.print(f"{topic} has no DLQ: nothing consumes it through the retry policy.")
        raise typer.Exit(2)
    try:
        letters = asyncio.run(replay_dead_letters(settings, spec, dry_run=dry_run))
    except ReplayBusyError as error:
        console.print(str(error))
        raise typer.Exit(1) from error
    for letter in letters:
        console.print(
            f"  {spec.dlq}[{letter.partition}]@{letter.offset} key={letter.key} group={letter.group}: {letter.error[:120]}"
        )
    verb = "would replay" if dry_run else "replayed"
    console.print(f"{verb} {len(letters)} dead letter(s) of {topic}.")


@demo_app.command("email")
def demo_email() -> None:
    """Marketing email: seed the shop, five carts followed stage by stage, the mail that arrived."""
    from forgeline.demos.email import email

    settings = use_stack_env()
    ok = asyncio.run(email(settings, Stack(settings).load_state(), print))
    raise typer.Exit(0 if ok else 1)


@demo_app.command("moderation")
def demo_moderation() -> None:
    """Moderation: a mixed stream live through the tiers, one human review, one appeal, the tier mix."""
    from forgeline.demos.moderation import moderation

    settings = use_stack_env()
    ok = asyncio.run(moderation(settings, Stack(settings).load_state(), print))
    raise typer.Exit(0 if ok else 1)


@demo_app.command("codereview")
def demo_codereview() -> None:
    """Code review: a signed pull_request webhook for a sample PR (local GitHub stand-in), the
    five agents working side by side, and the posted review as GitHub renders it."""
    from forgeline.demos.codereview import codereview

    settings = use_stack_env()
    ok = asyncio.run(codereview(settings, Stack(settings).load_state(), print))
    raise typer.Exit(0 if ok else 1)


@review_app.command("stats")
def review_stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False,
) -> None:
    """Acceptance rate per rule: findings posted in reviews, and how many a later push
    addressed (the push changed the line the finding was on). Rules nobody acts on are noise:
    tune or drop them. The same counts are Prometheus metrics on the services'
    /metrics (forgeline_review_findings_posted_total, ..._addressed_total)."""
    import asyncpg

    from services.codereview.store import rule_stats

    settings = use_stack_env()
    if not settings.endpoints.database_url:
        console.print("DATABASE_URL is not set: run `forgeline up` first (or point DATABASE_URL at the platform's Postgres).")
        raise typer.Exit(1)

    async def run() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(settings.endpoints.database_url)
        try:
            return await rule_stats(conn)
        finally:
            await conn.close()

    rows = asyncio.run(run())
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("No review has posted findings yet (try `forgeline demo codereview`).")
        return
    table = Table("rule", "posted", "addressed", "acceptance")
    for row in rows:
        table.add_row(row["rule"], str(row["posted"]), str(row["addressed"]), f"{row['acceptance_rate']:.0%}")
    Console().print(table)


@models_app.command("tiny-sd")
def models_tiny_sd(
    path: Annotated[
        Path | None, typer.Option(help="Where to write it (default: IMAGEGEN_MODEL_PATH, else .forgeline/models/tiny-sd)")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing pipeline")] = False,
) -> None:
    """Write a tiny randomly initialised StableDiffusionPipeline for CPU runs and CI.

    Its pictures are noise: it exists so batching, storage and the saga run for real without
    a model download. For real images point IMAGEGEN_MODEL_PATH at a Stable Diffusion checkout.
    """
    from services.imagegen.model import write_tiny_sd

    target = path or get_settings().image_model_dir
    if (target / "model_index.json").exists() and not force:
        console.print(f"A pipeline already exists at {target}; pass --force to overwrite it.")
        raise typer.Exit(1)
    started = time.monotonic()
    write_tiny_sd(target)
    console.print(f"Wrote a tiny random diffusers pipeline to {target} in {time.monotonic() - started:.1f}s.")


@models_app.command("classifier")
def models_classifier(
    data: Annotated[
        Path | None, typer.Option(help="Davidson's labeled_data.csv (default: MODERATION_DATA_PATH, ../shared/data/moderation/)")
    ] = None,
    path: Annotated[
        Path | None,
        typer.Option(help="Model directory (default: MODERATION_MODEL_PATH or .forgeline/models/moderation-classifier)"),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Train on this many rows only (quick model; same held-out splits)")] = None,
    precision: Annotated[float | None, typer.Option(help="Validation precision tier 2 must reach to reject on its own")] = None,
    miss_rate: Annotated[float | None, typer.Option(help="Share of hateful validation items tier 2 may approve")] = None,
    retrain: Annotated[bool, typer.Option(help="Train again even when the model cache holds this model")] = False,
    optional: Annotated[
        bool, typer.Option(help="Without training data, say so and succeed (moderation then stays off); `make models` uses it")
    ] = False,
) -> None:
    """Train the tier-2 moderation classifier: MiniLM fine-tuned end to end with a 3-class head.

    Splits the data 60/20/20 (train / validation / held-out test) with a fixed seed, fine-tunes
    MiniLM (packaged weights, no download) on the training split, chooses the reject and approve
    thresholds on the validation split, and writes encoder/, head.npz, validation.npz and
    model.json (thresholds, validation metrics, the test rows `forgeline eval moderation` uses).

    The model is trained once per machine into FORGELINE_MODEL_CACHE_PATH (default
    ~/.cache/forgeline/models), keyed by the data's hash, these options and the recipe, then
    linked into the model directory; `forgeline up` does the same on a fresh .forgeline/. The
    time it took is in model.json (`train_seconds`) and in `forgeline eval moderation`'s report.
    A running stack picks a new model up after `forgeline down && forgeline up`.
    """
    from services.moderation.classifier import install, training_options

    settings = get_settings()
    options = {**training_options(settings), "limit": limit}  # no --limit: all rows
    if precision is not None:
        options["target_precision"] = precision
    if miss_rate is not None:
        options["max_miss_rate"] = miss_rate
    target = path or settings.moderation_model_dir
    source = data.resolve() if data else settings.moderation_training_data
    if optional and not source.exists():
        console.print(f"No training data at {source}: moderation stays off (set MODERATION_DATA_PATH to turn it on).")
        return
    with console.status("fine-tuning MiniLM …") as spinner:
        try:
            card, trained = install(
                source,
                target,
                settings.model_cache_dir,
                **options,
                retrain=retrain,
                progress=lambda what, done, of: spinner.update(f"{what} … {done}/{of}"),
            )
        except FileNotFoundError as error:
            console.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from error
    how = "Trained" if trained else f"Found in {settings.model_cache_dir} (trained"
    console.print(
        f"{how} in {card.train_seconds:.0f}s{'' if trained else ')'}: {card.rows_seen} rows with gradients, every hateful "
        f"row of the {card.train_rows}-row training split and a sample of the others; wrote {target}."
    )
    console.print(f"Thresholds on P(hate): {card.thresholds.model_dump()}")
    console.print(f"Validation: {card.validation_metrics}")


@eval_app.command("moderation")
def eval_moderation(
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
    hatecheck: Annotated[Path | None, typer.Option(help="HateCheck test_suite_cases.csv (default: beside the data)")] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON report here (docs/measurements/...)")] = None,
    save_judge_chats: Annotated[
        Path | None, typer.Option(help="Also write every judge request (the uncertain band) here, to answer on a GPU")
    ] = None,
    judge_answers: Annotated[
        Path | None, typer.Option(help="The judge's answers to those requests (`python -m forgeline.bench.llm --answer`)")
    ] = None,
) -> None:
    """Precision, recall, FPR and FNR of the tiered pipeline on HateCheck and the Davidson held-out split.

    Runs the services' own decision functions in this process: the rules, the classifier in
    MODERATION_MODEL_PATH (train it first with `forgeline models classifier`), and the judge of
    LLM_BACKEND (template by default: its verdicts follow the classifier, and close calls go to
    humans). Reports the whole pipeline, each tier, each HateCheck functionality and the tier
    mix, beside the seed targets, and the trade-off curve: tier 2's thresholds re-chosen on the
    validation split for a grid of error budgets, each with the share left to the judge or
    humans against the automatic false positives and negatives, to pick a budget from
    (MODERATION_REJECT_PRECISION, MODERATION_MAX_MISS_RATE). Also the email toxicity
    guardrail (the same rules and classifier): the seeded templates it refuses, and its
    cut-offs on the validation split (EMAIL_MAX_TOXICITY). A few minutes on 2 cores.

    An LLM judge on a GPU machine without the platform: run once with --save-judge-chats
    FILE, answer FILE there with `python -m forgeline.bench.llm --gpus 1 --chats FILE --answer
    --concurrency 256 --out ANSWERS`, then run again with --judge-answers ANSWERS: the judge's
    verdicts are that engine's, read back by request.
    """
    import httpx

    from forgeline.bench.llm import save_chats
    from forgeline.tools.seed import seeded_drafts
    from services.common.llm import LLMBackend, create_llm
    from services.common.llm_local import Chat
    from services.moderation.evaluate import RecordedJudge, RecordingJudge, evaluate
    from services.moderation.policy import configured_policy
    from services.moderation.rules import RuleBook

    settings = get_settings()
    data = settings.moderation_training_data
    checks = hatecheck or data.parent / "test_suite_cases.csv"

    book = RuleBook(configured_policy(settings.moderation.policy_path))
    mail = settings.email
    guard = (book.for_country(mail.policy_country), mail.max_toxicity, frozenset(mail.refused_signals))
    chats: dict[str, Chat] = {}

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=120) as http:
            judge: LLMBackend = RecordedJudge(judge_answers) if judge_answers else create_llm(settings, http)
            if save_judge_chats is not None:
                judge = RecordingJudge(judge, chats)
            return await evaluate(
                book,
                settings.moderation_model_dir,
                data,
                checks,
                judge,
                min_confidence=settings.moderation.judge_min_confidence,
                attempts=settings.moderation.judge_attempts,
                email=(guard, seeded_drafts()),
                progress=lambda line: console.print(line),
            )

    try:
        report = asyncio.run(run())
    except (FileNotFoundError, ValueError, LookupError) as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    if save_judge_chats is not None:
        save_chats(list(chats.values()), save_judge_chats)
        console.print(f"{len(chats)} judge requests written to {save_judge_chats}")
    if as_json or out:
        emit(report, out)
        return
    for name in ("hatecheck", "davidson_test"):
        part = report[name]
        if isinstance(part, str):
            console.print(f"{name}: {part}")
            continue
        console.print(f"[bold]{name}[/bold] ({part['items']} items)")
        console.print(f"  automatic decisions: {part['automatic']}")
        console.print(f"  with human review:   {part['with_human_review']}")
        console.print(f"  tier mix: {part['tier_mix']}  (targets {report['targets']['tier_mix']}, humans 1-2%)")
    console.print("[bold]trade-off[/bold] (budget precision/misses: band, clean false positives, false negatives)")
    for point in report["tradeoff"]:
        rows = [(name, point[name]) for name in ("davidson_test", "hatecheck") if name in point]
        sets = "  ".join(f"{name} {row['band_share']}/{row['fpr_clean']}/{row['fnr']}" for name, row in rows)
        deployed = "  (deployed)" if point["current"] else ""
        console.print(f"  {point['target_precision']}/{point['max_miss_rate']}: {sets}{deployed}")
    email = report["email_guardrail"]
    console.print(
        f"[bold]email guardrail[/bold] (P(hate or offensive) < {email['max_toxicity']}): "
        f"{email['seeded_templates']['failed']} of {email['seeded_templates']['drafts']} seeded drafts refused"
    )


@bench_app.command("up")
def bench_up(
    runs: Annotated[int, typer.Option(help="Cold starts to make, each in a fresh home")] = 10,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON here (e.g. docs/measurements/up-cpu-2core.json)")] = None,
) -> None:
    """Start the whole platform cold RUNS times (fresh home each time, models built once
    before), wait until every part is healthy, stop it; print JSON: successes, p50/max
    seconds to healthy, Ray retries. Never touches a running stack (own home, free ports)."""
    from forgeline.bench.up import up

    emit(up(get_settings(), runs=runs, progress=console.print), out)


@bench_app.command("spine")
def bench_spine(
    requests: Annotated[int, typer.Option(help="Gateway POSTs to send")] = 5000,
    messages: Annotated[int, typer.Option(help="Messages for the consumer-hop comparison")] = 500,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON to this file (docs/measurements/...)")] = None,
) -> None:
    """Measure the spine and print JSON: cold `up` time and idle RSS, FastStream hop vs raw
    aiokafka (ratio), and the gateway on the parts it uses: capacity (closed loop, 32 connections)
    and p50/p99 at the goal of 1,000 requests/s (open loop), with and without its consumer
    running. Runs its own throw-away stack and deletes it."""
    from forgeline.bench.spine import spine

    emit(spine(get_settings(), requests=requests, messages=messages, progress=console.print), out)


@bench_app.command("imagegen")
def bench_imagegen(
    accept_requests: Annotated[int, typer.Option(help="POST /v1/images for the accept rate and latency")] = 500,
    jobs: Annotated[int, typer.Option(help="Sequential jobs for end-to-end and cached latency")] = 20,
    burst: Annotated[int, typer.Option(help="Jobs submitted at once for the saga rate")] = 200,
    gpus: Annotated[
        float, typer.Option(help="GPUs per model replica. >0 measures the Serve deployment alone, by batch size")
    ] = 0.0,
    batch_sizes: Annotated[str, typer.Option(help="With --gpus: max batch sizes to measure")] = "1,4,8,16",
    sizes: Annotated[str, typer.Option(help="With --gpus: image sides in pixels")] = "256,512",
    out: Annotated[Path | None, typer.Option(help="Also write the JSON to this file (docs/measurements/...)")] = None,
) -> None:
    """Measure image jobs on a throw-away stack: accept p50/p99 and accepted/s, job latency
    p50/p95 (fresh and cached), sagas/s for a burst, and the batched/unbatched throughput
    ratio of the Serve deployment.

    With --gpus 1 (on a GPU machine) it measures instead the Serve deployment alone on CUDA:
    images/s per max batch size and image size, each beside the unbatched path. Progress goes
    to stderr; the result is JSON on stdout."""
    from forgeline.bench.imagegen import imagegen

    if gpus > 0:
        from contextlib import redirect_stdout

        from forgeline.bench.serve import measure

        with redirect_stdout(sys.stderr):  # Ray's shutdown chatter must not mix with the JSON
            result = measure(
                [int(b) for b in batch_sizes.split(",")],
                [int(x) for x in sizes.split(",")],
                steps=20,
                gpus=gpus,
                rounds=6,
                model_path=None,
                unbatched_baseline=True,
            )
    else:
        result = imagegen(get_settings(), accept_requests=accept_requests, jobs=jobs, burst=burst, progress=console.print)
    emit(result, out)


@bench_app.command("email")
def bench_email(
    carts: Annotated[int, typer.Option(help="Abandoned carts to push through")] = 10_000,
    users: Annotated[int, typer.Option(help="Shoppers in the seeded shop")] = 2_000,
    backend: Annotated[
        str, typer.Option(help="LLM backend: template, local (SmolLM2 on CPU: use ~20 carts) or openai")
    ] = "template",
    out: Annotated[Path | None, typer.Option(help="Also write the JSON to this file (docs/measurements/...)")] = None,
) -> None:
    """Measure the email pipeline on a throw-away stack of only its own parts (as its pods
    would run): emails/s end to end (goal with the template backend >= 110/s, i.e. 100k a day
    in 15 minutes), p50/p95 per stage (context, retrieval, generation, guardrails, delivery)
    and the fallback rate. Progress on stderr."""
    from forgeline.bench.email import email

    result = email(get_settings(), carts=carts, users=users, backend=backend, progress=console.print)
    emit(result, out)


@bench_app.command("llm")
def bench_llm(
    concurrency: Annotated[str, typer.Option(help="Comma-separated concurrent requests, one engine point each")] = "1,8",
    requests: Annotated[int, typer.Option(help="Distinct email requests (a point sends at least 2 x its concurrency)")] = 16,
    max_tokens: Annotated[int, typer.Option(help="Token limit per answer (the email composer asks 400)")] = 400,
    gpus: Annotated[float, typer.Option(help="1: the model on the GPU (0: CPU)")] = 0.0,
    random_weights: Annotated[
        bool, typer.Option(help="SmolLM2's shape with random weights (throughput only; the JSON says so)")
    ] = False,
    reference_batch: Annotated[
        int | None, typer.Option(help="The library reference's fixed batch (default: the largest concurrency)")
    ] = None,
    previous: Annotated[bool, typer.Option(help="Also measure the decoding the application had before its engine")] = False,
    rounds: Annotated[int, typer.Option(help="A point sends rounds x its concurrency requests (at least 16)")] = 2,
    ablations: Annotated[
        bool, typer.Option(help="Also the engine at the reference's batch with each scheduling choice undone")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON to this file (docs/measurements/...)")] = None,
) -> None:
    """Measure the LLM application's engine (SmolLM2, continuous batching, schema-bound decoding)
    beside transformers' own unconstrained fast path, in one run on one model: completion
    tokens/s, generations/s, schema-valid share, time to first token and between tokens per
    concurrency, and the ratio to the reference. On CPU a point takes minutes; on a GPU machine
    use --gpus 1 --concurrency 1,32,256,512. Progress on stderr."""
    from forgeline.bench.llm import email_chats, measure

    chats = email_chats(requests, max_tokens)
    sizes = [int(c) for c in concurrency.split(",")]
    result = measure(
        sizes,
        chats,
        gpus,
        random_weights=random_weights,
        reference_batch=reference_batch or max(sizes),
        previous=previous,
        rounds=rounds,
        ablations=ablations,
    )
    emit(result, out)


@bench_app.command("moderation")
def bench_moderation(
    items: Annotated[int, typer.Option(help="Events pushed through Kafka with tier 1 only")] = 2000,
    texts: Annotated[int, typer.Option(help="Texts per tier-2 measurement point")] = 1024,
    batch_sizes: Annotated[str, typer.Option(help="Comma-separated Serve max_batch_size values for tier 2")] = "64",
    gpus: Annotated[float, typer.Option(help="GPUs per tier-2 replica (0: CPU)")] = 0.0,
    stack_items: Annotated[int, typer.Option(help="Held-out tweets sent through the whole pipeline")] = 400,
    stack_rate: Annotated[float, typer.Option(help="POST /v1/content per second for them")] = 4.0,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON to this file (docs/measurements/...)")] = None,
) -> None:
    """Measure moderation: tier 1 items/s on one core (ratio to a naive re.search loop; goal
    >= 20,000/s), tier 1 end to end through Kafka on a throw-away stack (items/s, p95; goal
    < 500 ms), tier 2 texts/s on Ray Serve, batched vs unbatched (on a GPU machine:
    --gpus 1 --batch-sizes 64,256; goal >= 5,000/s on an H100), and the whole pipeline on a
    throw-away stack: held-out Davidson tweets as paced POST /v1/content, the tier that
    settled each (the tier mix beside the seeds' 60/35/5/1-2 %) and the latency from the POST
    to the decision per tier, beside one-text calls to the classifier deployment (its own
    cost). LLM_BACKEND picks the judge (template: close calls go to people). Progress on stderr."""
    from forgeline.bench.moderation import moderation

    sizes = [int(b) for b in batch_sizes.split(",")]
    try:
        result = moderation(
            get_settings(),
            items=items,
            texts=texts,
            batch_sizes=sizes,
            gpus=gpus,
            progress=console.print,
            stack_items=stack_items,
            stack_rate=stack_rate,
        )
    except FileNotFoundError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    emit(result, out)


@bench_app.command("codereview")
def bench_codereview(
    prs: Annotated[int, typer.Option(help="PRs reviewed one at a time for the latency")] = 10,
    burst: Annotated[int, typer.Option(help="PRs opened at once for the throughput")] = 50,
    files: Annotated[int, typer.Option(help="Files per PR")] = 5,
    lines: Annotated[int, typer.Option(help="Changed lines per PR")] = 200,
    out: Annotated[Path | None, typer.Option(help="Also write the JSON to this file (docs/measurements/...)")] = None,
) -> None:
    """Measure code review on a throw-away stack: webhook-to-review latency p50/p95 for a
    5-file, ~200-line PR (goal p95 < 10 s with the static agents), the five agents in parallel
    vs sequentially (ratio, same run), reviews/minute under a burst of 50 PRs, and the
    estimated LLM cost per PR. Progress on stderr."""
    from forgeline.bench.codereview import codereview

    result = codereview(get_settings(), prs=prs, burst=burst, files=files, lines=lines, progress=console.print)
    emit(result, out)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()


@drill_app.command("list")
def drill_list() -> None:
    """The drill catalogue (drills/*.yaml): name, what it proves, its faults, whether it is in
    `make test`'s smoke subset."""
    from forgeline.drills.catalogue import DrillFileError, catalogue

    try:
        drills = catalogue()
    except DrillFileError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    for drill in drills.values():
        faults = ", ".join(f"{f.kind}" for f in drill.method)
        smoke = " (smoke)" if drill.smoke else ""
        console.print(
            f"[bold]{drill.name}[/bold]{smoke}: {drill.proves}\n  faults: {faults}; invariants: {', '.join(drill.invariants)}"
        )


@drill_app.command("check")
def drill_check(files: Annotated[list[Path], typer.Argument(help="Drill files to validate")]) -> None:
    """Validate drill files against the schema without running them; each problem is printed as
    FILE:LINE: FIELD: WHY."""
    from forgeline.drills.catalogue import DrillFileError, load

    failed = False
    for path in files:
        try:
            drill = load(path)
        except (DrillFileError, OSError) as error:
            console.print(f"[red]{error}[/red]", highlight=False)
            failed = True
        else:
            console.print(f"{path}: ok ({drill.name}, {len(drill.method)} faults)")
    if failed:
        raise typer.Exit(1)


@drill_app.command("render")
def drill_render(
    name: Annotated[str, typer.Argument(help="A drill's name, a drill file, or `all`")],
    k8s: Annotated[bool, typer.Option("--k8s", help="Chaos Mesh resources for the chart (the only target so far)")] = False,
    out: Annotated[Path | None, typer.Option(help="Write <drill>.yaml files into this folder instead of printing")] = None,
) -> None:
    """Compile drills into Chaos Mesh resources for the chart's pods: a Workflow with the method
    as PodChaos/NetworkChaos steps, waits for `at_s`, and a StatusCheck per HTTP probe
    (docs/drills.md, "On Kubernetes"). What Chaos Mesh cannot express is listed, not faked."""
    import yaml

    from forgeline.drills.catalogue import DrillFileError, catalogue, find
    from forgeline.drills.chaosmesh import render

    if not k8s:
        console.print("Say which target: --k8s (Chaos Mesh on the chart's cluster).")
        raise typer.Exit(2)
    try:
        drills = list(catalogue().values()) if name == "all" else [find(name)]
    except DrillFileError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from error
    for drill in drills:
        rendered = render(drill)
        if not rendered.strikes:
            console.print(f"{drill.name}: nothing to render (" + "; ".join(rendered.not_rendered) + ")")
            continue
        text = f"# Rendered by `forgeline drill render {drill.name} --k8s` from drills/{drill.name}.yaml: do not edit.\n"
        text += "---\n".join(yaml.safe_dump(r, sort_keys=False) for r in rendered.resources)
        if out is None:
            print(text)
        else:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{drill.name}.yaml").write_text(text)
            console.print(f"{drill.name}: {out / (drill.name + '.yaml')}")
        for missing in rendered.not_rendered:
            console.print(f"  not rendered: {missing}")


@app.command()
def dashboards(
    out: Annotated[Path, typer.Option(help="The folder to write them to")] = Path("charts/forgeline/files/dashboards"),
) -> None:
    """Write the Grafana dashboards (one JSON per pipeline and a platform overview) that the chart
    ships as ConfigMaps for kube-prometheus-stack's Grafana. They are declared in
    forgeline/monitoring/dashboards.py; `make test` fails if the committed files differ."""
    from forgeline.monitoring.dashboards import write_dashboards

    for path in write_dashboards(out):
        console.print(f"{path}")


@app.command()
def openapi(
    out: Annotated[Path | None, typer.Option(help="Write it here (default: print it)")] = None,
) -> None:
    """The gateway's OpenAPI document, as it serves it under this configuration (image bounds,
    policy countries and limits come from the settings), without starting anything.
    `make client` regenerates the typed Python client (clients/python) from it."""
    from services.gateway.openapi import openapi_document

    text = json.dumps(openapi_document(get_settings()), indent=2, sort_keys=True) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
        console.print(f"{out}: the gateway's OpenAPI document")


@containers_app.command("render")
def containers_render(
    values: Annotated[Path | None, typer.Option(help="Values file (default: the chart's values-podman.yaml)")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the files podman takes")] = Path(".forgeline/containers"),
) -> None:
    """Render the chart with the real Helm engine for podman and write what `podman kube play`
    takes: jobs.yaml (the prepare Job's pod, run first), inits.yaml (each Deployment's init
    containers as a pod, run next), services.yaml (ConfigMaps and Deployments) and
    secrets/<name>.json (owner-only, for `podman secret create NAME FILE`). Every kind podman
    cannot play is listed with what stands in for it."""
    from forgeline.containers.manifests import PROFILE, STOOD_IN, as_yaml, for_podman, render

    try:
        manifests = for_podman(render(values or PROFILE))
    except ValueError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from error
    (out / "secrets").mkdir(parents=True, exist_ok=True)
    (out / "jobs.yaml").write_text(as_yaml(manifests.jobs))
    (out / "inits.yaml").write_text(as_yaml(manifests.inits))
    (out / "services.yaml").write_text(as_yaml(manifests.played))
    for name, payload in manifests.secrets.items():
        path = out / "secrets" / f"{name}.json"
        path.touch(mode=0o600)
        path.write_bytes(payload)
    deployments = sum(1 for o in manifests.played if o["kind"] == "Deployment")
    console.print(f"{out}: {len(manifests.jobs)} job pod(s), {deployments} Deployments, {len(manifests.secrets)} secret(s)")
    by_kind: dict[str, int] = {}
    for line in manifests.stood_in:
        kind = line.split("/", 1)[0]
        by_kind[kind] = by_kind.get(kind, 0) + 1
    for kind, count in by_kind.items():
        console.print(f"  {kind} x{count}: {STOOD_IN[kind]}", highlight=False)


@containers_app.command("e2e")
def containers_e2e(
    image: Annotated[str, typer.Option(help="The services' full image (`make images` builds it)")] = SERVICE_IMAGE,
    thin_image: Annotated[str, typer.Option(help="The thin image of the services that load no model")] = THIN_IMAGE,
    backing_image: Annotated[str, typer.Option(help="The backing servers' image (`make images` builds it)")] = BACKING_IMAGE,
    out: Annotated[
        Path | None,
        typer.Option(help="Also write the report (timings, probe events, the faults) here, e.g. docs/measurements/"),
    ] = None,
    logs: Annotated[Path, typer.Option(help="Where every container's log goes when a step fails")] = Path(
        ".forgeline/containers/logs"
    ),
) -> None:
    """Play the whole chart under podman and check it end to end, then remove everything.

    The backing servers in one container; the chart's prepare Job as a pod run to completion;
    every Deployment of the chart with its ConfigMap, Secret, security context and probes (run
    from outside, like a kubelet). Then round trips through the gateway (echo, an image job, a
    moderated item, a cart's email at the SMTP sink, a pull request reviewed at the GitHub
    stand-in); the cluster's own k8s/e2e.sh under a kubectl that stands in for the deployment;
    the saga worker's process killed mid-work; Postgres cut off (services not ready, none
    restarted). Needs root, podman (`make host-tools`) and the three images (`make images`).
    About 5 minutes.
    """
    from forgeline.containers.e2e import run
    from forgeline.containers.platform import DeployError, plan

    platform = plan(image, thin_image, backing_image)
    try:
        result = run(platform, lambda msg: console.print(f"  {msg}", highlight=False), logs)
    except (DeployError, AssertionError) as error:
        console.print(f"[red]containers e2e failed:[/red] {error}", highlight=False)
        raise typer.Exit(1) from error
    emit(result, out)
    console.print(f"containers e2e passed in {result['timings_s']['total']}s")


@drill_app.command("run")
def drill_run(
    name: Annotated[str, typer.Argument(help="A drill's name (`forgeline drill list`), a drill file, or `all`")],
    report: Annotated[Path | None, typer.Option(help="Folder for the journal (one subfolder per drill)")] = None,
    seed: Annotated[int | None, typer.Option(help="Send another seed's requests than the file's")] = None,
    run_id: Annotated[
        str | None, typer.Option(help="Name of the run's folder under the stack's drills/runs (one drill only)", hidden=True)
    ] = None,
) -> None:
    """Run drills against the running stack (`forgeline up` first): steady state, load, faults
    when their triggers hold, rollbacks, then the invariants. Exits 1 unless every drill passed
    (a drill this machine cannot strike is `skipped`, which is not a pass). Each run also keeps
    its journal, live while it runs and its reports at the end, under the stack's drills/runs/
    <time>-<drill>/, which the console's Drills view shows."""
    import os
    from datetime import UTC, datetime

    from forgeline.drills.catalogue import DrillFileError, catalogue, find
    from forgeline.drills.runner import run_drill, write_report
    from services.gateway.drills import RUNNER_PID

    try:
        drills = list(catalogue().values()) if name == "all" else [find(name)]
    except DrillFileError as error:
        console.print(f"[red]{error}[/red]", highlight=False)
        raise typer.Exit(1) from error
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the probes' reconnects while a drill breaks the broker
    # The stack's own view (not use_stack_env's): parts whose endpoint variable is set would
    # count as external, and a drill could not restart them.
    stack = _stack()
    if not stack.load_state().get("components", {}).get("gateway", {}).get("healthy"):
        console.print("The stack is not up: run `forgeline up` first.")
        raise typer.Exit(1)
    if run_id is not None and len(drills) != 1:
        console.print("--run-id names one drill's run: give one drill, not `all`.")
        raise typer.Exit(2)
    statuses = {}
    for drill in drills:
        if seed is not None:
            drill = drill.model_copy(update={"workload": drill.workload.model_copy(update={"seed": seed})})
        folder = stack.drill_runs / (run_id or f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{drill.name}")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / RUNNER_PID).write_text(str(os.getpid()))
        journal = asyncio.run(run_drill(stack, drill, console.print, live=folder / "journal.json"))
        write_report(folder, journal)
        if report is not None:
            console.print(
                f"  journal, JUnit XML, report (Markdown, HTML) and chart in {write_report(report / drill.name, journal)}"
            )
        statuses[drill.name] = journal["status"]
    if any(status != "passed" for status in statuses.values()):
        raise typer.Exit(1)


@app.command("load")
def load_command(
    rates: Annotated[list[str], typer.Argument(help="PIPELINE=REQUESTS_PER_S, e.g. images=1 content=10 echo=50")],
    duration: Annotated[float, typer.Option(help="Seconds of load (headless)", min=1)] = 60.0,
    seed: Annotated[int, typer.Option(help="The same seed sends the same requests")] = 0,
    web: Annotated[bool, typer.Option(help="Open Locust's web UI instead of running headless")] = False,
    web_port: Annotated[int, typer.Option(help="Port of Locust's web UI (on 127.0.0.1)")] = 8089,
) -> None:
    """Put load on the pipelines through the gateway with Locust, the locustfile the drills use
    (forgeline/load/locustfile.py, one user class per pipeline). The API key is taken from
    FORGELINE_API_KEY, or a tenant with ample credits is created for the run (always for carts,
    which name the users and SKUs of a shop seeded for it)."""
    import subprocess

    from forgeline.drills.report import LOCUST_HEAD, locust_rows
    from forgeline.load.requests import USER_CLASSES
    from forgeline.load.run import SENT, LoadPlan, pull_request_secrets, run_locust

    plan_rates: dict[str, float] = {}
    for item in rates:
        name, _, rate = item.partition("=")
        if name not in USER_CLASSES or not rate.replace(".", "", 1).isdigit() or float(rate) <= 0:
            console.print(f"{item!r}: write PIPELINE=RATE with a pipeline of {', '.join(USER_CLASSES)} and a rate above 0")
            raise typer.Exit(2)
        plan_rates[name] = float(rate)
    settings = use_stack_env()
    stack = _stack()
    gateway = stack.load_state().get("components", {}).get("gateway", {})
    if not gateway.get("healthy"):
        console.print("The stack is not up: run `forgeline up` first.")
        raise typer.Exit(1)
    if "carts" in plan_rates or not os.environ.get("FORGELINE_API_KEY"):
        key, shop = asyncio.run(_load_tenant(settings, with_shop="carts" in plan_rates))
    else:
        key, shop = os.environ["FORGELINE_API_KEY"], None
    github = stack.endpoints_env()
    plan = LoadPlan(plan_rates, duration, seed, shop, run=time.strftime("%Y%m%d%H%M%S"), github_url=github["GITHUB_API_URL"])
    secrets = pull_request_secrets(stack.webhook_secret(), github["GITHUB_TOKEN"])
    out = stack.home / "load"
    if web:
        console.print(f"Locust's web UI: http://127.0.0.1:{web_port} (Ctrl-C stops it)")
        env = plan.env(key, None, time.monotonic(), secrets)
        subprocess.run(plan.argv(gateway["endpoint"], out, web_port), env=env, check=False)
        return
    console.print(f"Locust, headless, {duration:g}s: " + ", ".join(f"{n} {r:g}/s" for n, r in plan_rates.items()))
    record = asyncio.run(run_locust(gateway["endpoint"], key, plan, time.monotonic(), out, secrets))
    table = Table(*LOCUST_HEAD)
    for row in locust_rows({"load": {"locust": record.stats}}):
        table.add_row(*row)
    console.print(table)
    console.print(f"Every request and answer: {out / SENT}; Locust's CSV stats: {out}/locust_*.csv")


async def _load_tenant(settings: Settings, with_shop: bool) -> tuple[str, dict[str, Any] | None]:
    """A tenant for the load (ample credits) and, for carts, its shop: carts name its users and SKUs."""
    import asyncpg

    from forgeline.load.requests import cart_catalogue
    from forgeline.tools.seed import seed_shop
    from services.gateway.tenants import create_tenant

    conn = await asyncpg.connect(settings.endpoints.database_url)
    try:
        tenant, key = await create_tenant(conn, f"load-{int(time.time())}", 1_000_000)
        if not with_shop:
            return key, None
        return key, cart_catalogue(await seed_shop(conn, tenant.id, users=200))
    finally:
        await conn.close()
