"""`/v1/drills`: the drill catalogue, runs started and followed from the console (admin keys).
The files and the runner's process are handled in services/gateway/drills.py.
No `from __future__ import annotations` here: FastAPI reads these annotations at runtime.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field

from services.common.settings import Settings
from services.gateway import drills
from services.gateway.auth import ADMIN_ROLES, ADMINS_ONLY, role_check
from services.gateway.drills import DrillSummary, RunSummary
from services.gateway.errors import AUTHED, LOCATION, responses
from services.gateway.tenants import Tenant

Operator = Annotated[Tenant, Depends(role_check(ADMIN_ROLES, "drills strike the whole platform: this needs an admin key"))]
ON_A_CLUSTER = (
    "drills run here only on the local stack (`forgeline up`); on Kubernetes apply the drill's Chaos Mesh "
    "workflow instead (`kubectl apply -f k8s/chaos/<drill>.yaml`)"
)
RunId = Annotated[str, Path(pattern=drills.RUN_ID.pattern, max_length=120, description="`<UTC time>-<drill>`.")]


class DrillCatalogue(BaseModel):
    """The drills and their latest runs."""

    runs_here: bool = Field(description="Whether drills can be started from here (the local stack).")
    why_not: str | None = Field(description="What to do instead, when they cannot.")
    drills: list[DrillSummary]
    runs: list[RunSummary] = Field(description="The latest runs, newest first.")


class RunStarted(BaseModel):
    """A drill run that was started."""

    run_id: str
    drill: str


def drill_routes(settings: Settings) -> APIRouter:
    """The drill catalogue and its runs (admin keys)."""
    router = APIRouter(prefix="/v1/drills", tags=["drills"], responses=AUTHED | responses(403))
    home = settings.gateway.drills_home

    @router.get("", response_model=DrillCatalogue, responses=responses(422), openapi_extra=ADMINS_ONLY)
    async def list_drills(
        operator: Operator, limit: Annotated[int, Query(ge=1, le=50, description="How many runs, newest first.")] = 10
    ) -> DrillCatalogue:
        """Every drill (what it proves, its load, faults and invariants) and the latest runs."""
        if home is None:
            return DrillCatalogue(runs_here=False, why_not=ON_A_CLUSTER, drills=[], runs=[])
        return DrillCatalogue(runs_here=True, why_not=None, drills=drills.catalogue(home), runs=drills.runs(home, limit))

    @router.post(
        "/{name}/runs",
        status_code=202,
        response_model=RunStarted,
        responses=LOCATION | responses(404, 409, 422),
        openapi_extra=ADMINS_ONLY,
    )
    async def start_drill(
        operator: Operator,
        response: Response,
        name: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80, description="A drill's name.")],
    ) -> RunStarted:
        """Start a drill on the local stack: its load, its faults when their triggers hold, its
        rollbacks and invariants, as `forgeline drill run` does. One drill at a time (409 while
        another runs); follow it at the `Location`."""
        if home is None:
            raise HTTPException(409, ON_A_CLUSTER)
        known = {d.name for d in drills.catalogue(home)}
        if name not in known:
            raise HTTPException(404, f"no drill {name!r}; GET /v1/drills lists them")
        busy = drills.running(home)
        if busy is not None:
            raise HTTPException(409, f"drill run {busy} is still running; start another when it has ended")
        run_id = await drills.start_run(home, name, settings.gateway.drills_env_unset)
        response.headers["Location"] = f"/v1/drills/runs/{run_id}"
        return RunStarted(run_id=run_id, drill=name)

    @router.get("/runs/{run_id}", responses=responses(404, 422), openapi_extra=ADMINS_ONLY)
    async def get_drill_run(operator: Operator, run_id: RunId) -> dict[str, Any]:
        """A run's journal as it stands (rewritten every second while it runs): status and reason,
        steady-state readings before, during and after, each fault with when it struck and what
        was in flight, the rollbacks, the invariants' verdicts, the load's counts and the
        timeline (requests, intake lag, fault windows). The shape is `forgeline drill run`'s
        journal (docs/drills.md)."""
        found = drills.journal(home, run_id) if home is not None else None
        if found is None:
            raise HTTPException(404, f"no drill run {run_id!r}")
        return found

    return router
