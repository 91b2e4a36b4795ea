"""What a drill file says (`drills/*.yaml`; docs/drills.md explains each field).

A drill states what it proves, the steady state that must hold before, during and after its
faults, the load it puts on the pipelines, the faults (at a time offset or when a condition
holds), and the invariants the auditor checks once the load has drained. The models forbid
unknown fields, so a misspelt key is an error naming it, not a silent default.
"""

from __future__ import annotations

import signal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from forgeline.stack.components import APPS, INFRA, SERVICES

PARTS = (*INFRA, *APPS, *SERVICES)
PIPELINES = ("echo", "images", "carts", "content", "pull_requests")
INVARIANTS = {
    "every_request_terminal": "every accepted request reached a terminal state within the recovery budget",
    "credits_conserved": "per tenant: balance change = ledger = price x generated + cache price x cached jobs; the rest refunded",
    "one_png_per_succeeded_job": "one PNG object per succeeded job, none for failed or cancelled ones",
    "one_email_per_cart": "at most one email per cart at the SMTP sink, every cart accounted for",
    "one_decision_per_item": "exactly one final decision event per content item on moderation.decided, or one open review",
    "one_review_per_head_sha": "exactly one review per head SHA at the GitHub stand-in",
    "dead_letters_accounted": "every dead letter counted, with its error",
    "gateway_5xx_in_fault_window": "gateway 5xx only inside the fault window, within the error budget",
    "one_effect_per_echo": "one row in the append-only echo log per accepted echo",
    "cancelled_jobs_compensated": "each job the drill cancelled ended cancelled (refunded, no object) or, if stored, succeeded",
}
SIGNALS = ("SIGKILL", "SIGTERM", "SIGSTOP", "SIGCONT", "SIGINT")


def _part(name: str) -> str:
    if name not in PARTS:
        raise ValueError(f"unknown part {name!r}; choose from {list(PARTS)}")
    return name


Part = Annotated[str, AfterValidator(_part)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpProbe(Strict):
    """GET a gateway path; the status must match, and the JSON value at `json_path` (dots and
    list indexes: `parts.0.healthy`) equal `equals` when given."""

    path: str = Field(pattern=r"^/")
    status: int = Field(200, ge=100, le=599)
    json_path: str | None = None
    equals: str | int | float | bool | None = None


class Bounds(Strict):
    """What a number must be: `equals`, or within `min`/`max`."""

    equals: float | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> Bounds:
        if self.equals is None and self.min is None and self.max is None:
            raise ValueError("give equals, min or max")
        return self


class MetricProbe(Bounds):
    """A Prometheus sample from one part's /metrics: `name{labels}` (summed over other labels)."""

    part: Part
    name: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
    labels: dict[str, str] = {}


class SqlProbe(Bounds):
    """One number from Postgres (the first column of the first row)."""

    query: str = Field(min_length=1)


class LagProbe(Bounds):
    """Consumer lag of a group on a topic, summed over the topic's partitions."""

    group: str
    topic: str


SAGA = "ImageJobWorkflow"  # the platform's one workflow type


class TemporalProbe(Bounds):
    """How many workflows of a type are in a status."""

    workflow_type: str = SAGA
    status: Literal["running", "completed", "failed", "cancelled", "terminated", "timed_out"]


class Probe(Strict):
    """One check with its tolerance; exactly one kind."""

    name: str = Field(min_length=1)
    http: HttpProbe | None = None
    metric: MetricProbe | None = None
    sql: SqlProbe | None = None
    lag: LagProbe | None = None
    temporal: TemporalProbe | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Probe:
        kinds = [k for k in ("http", "metric", "sql", "lag", "temporal") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a probe has exactly one of http, metric, sql, lag, temporal (got {kinds or 'none'})")
        return self


class SteadyState(Strict):
    """Checked before the method, every `interval_s` during it, and after the load drained."""

    interval_s: float = Field(2.0, gt=0)
    probes: list[Probe] = Field(min_length=1)


class PipelineLoad(Strict):
    rate_per_s: float = Field(gt=0, le=500)


class Workload(Strict):
    """Load from a seed (the same seed, the same requests), for `duration_s`."""

    duration_s: float = Field(gt=0, le=3600)
    seed: int = 0
    pipelines: dict[str, PipelineLoad] = Field(min_length=1)

    @field_validator("pipelines")
    @classmethod
    def _known(cls, value: dict[str, PipelineLoad]) -> dict[str, PipelineLoad]:
        unknown = sorted(set(value) - set(PIPELINES))
        if unknown:
            raise ValueError(f"unknown pipeline(s) {unknown}; choose from {list(PIPELINES)}")
        return value


class Kill(Strict):
    """Signal a part's whole process tree; `restart_after_s` starts it again (a rollback too)."""

    part: Part
    signal: str = "SIGKILL"
    restart_after_s: float | None = Field(None, ge=0)

    @field_validator("signal")
    @classmethod
    def _signal(cls, value: str) -> str:
        if value not in SIGNALS or not hasattr(signal, value):
            raise ValueError(f"unknown signal {value!r}; choose from {list(SIGNALS)}")
        return value


class Freeze(Strict):
    """SIGSTOP a part for `seconds`, then SIGCONT (a hung process, not a dead one)."""

    part: Part
    seconds: float = Field(gt=0, le=600)


class Restart(Strict):
    """Stop a part gracefully, keep it down `down_s`, and start it again. A Serve application
    (`*-serve`) is deleted from the Ray head and deployed again; the Ray head takes its
    applications with it and deploys them again after it."""

    part: Part
    down_s: float = Field(0, ge=0, le=600)


class Flag(Strict):
    """Fault-flag rules (`docs/operations.md`, "Faults on purpose") for `seconds`, or until the end.
    With `restart`, a `crash` rule is expected to end that part's process: once it has (within
    `seconds`, default 120), the rules are cleared and the part is started again."""

    rules: list[str] = Field(min_length=1)
    seconds: float | None = Field(None, gt=0)
    restart: Part | None = None


class Partition(Strict):
    """Cut the services off a backing part's port (iptables REJECT or DROP) for `seconds`."""

    part: Part
    mode: Literal["reject", "drop"] = "reject"
    seconds: float = Field(gt=0, le=600)


class Standin(Strict):
    """Make a stand-in misbehave: the GitHub stand-in answers `status` to the next `count` calls;
    403 is GitHub's secondary rate limit, with `Retry-After: retry_after_s`."""

    github_status: int = Field(ge=400, le=599)
    count: int = Field(ge=1)
    retry_after_s: int = Field(1, ge=0, le=600)


class Poison(Strict):
    """Publish `count` undecodable records to `topic` (they must reach its DLQ with a reason)."""

    topic: str
    count: int = Field(ge=1, le=10_000)


class DlqReplay(Strict):
    """What an operator does once the cause is fixed: `forgeline dlq replay TOPIC`. The dead
    letters of `topic` go back through its retry topic, and must then reach an outcome."""

    topic: str


class CancelImages(Strict):
    """Cancel up to `count` image jobs that are inside generate."""

    count: int = Field(1, ge=1)


class Trigger(Strict):
    """When a fault strikes: `at_s` after the load starts, or as soon as `when` holds (checked
    every second, for at most `within_s`)."""

    at_s: float | None = Field(None, ge=0)
    when: Probe | None = None
    within_s: float = Field(60.0, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Trigger:
        if (self.at_s is None) == (self.when is None):
            raise ValueError("a fault strikes either at_s or when, not both or neither")
        return self


class Fault(Strict):
    """One action of the method; exactly one kind."""

    name: str = Field(min_length=1)
    trigger: Trigger
    kill: Kill | None = None
    freeze: Freeze | None = None
    restart: Restart | None = None
    flag: Flag | None = None
    partition: Partition | None = None
    standin: Standin | None = None
    poison: Poison | None = None
    cancel_images: CancelImages | None = None
    dlq_replay: DlqReplay | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Fault:
        kinds = [k for k in FAULT_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a fault has exactly one of {list(FAULT_KINDS)} (got {kinds or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in FAULT_KINDS if getattr(self, k) is not None)

    @property
    def disrupts(self) -> bool:
        """It acts on running work (a process or a connection), so it must find some in flight;
        flags, stand-in answers and poison set up what later work meets."""
        return self.kind in ("kill", "freeze", "restart", "partition", "cancel_images") or bool(self.flag and self.flag.restart)


FAULT_KINDS = ("kill", "freeze", "restart", "flag", "partition", "standin", "poison", "cancel_images", "dlq_replay")


class Drill(Strict):
    """One drill file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    proves: str = Field(min_length=10)
    tags: list[str] = []
    smoke: bool = False  # part of `make test`'s subset
    steady_state: SteadyState
    workload: Workload
    method: list[Fault] = Field(min_length=1)
    invariants: list[str] = Field(min_length=1)
    recovery_budget_s: float = Field(120.0, gt=0)
    error_budget: int = Field(0, ge=0)  # gateway 5xx allowed inside the fault window

    @field_validator("invariants")
    @classmethod
    def _known_invariants(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(INVARIANTS))
        if unknown:
            raise ValueError(f"unknown invariant(s) {unknown}; choose from {sorted(INVARIANTS)}")
        return value
