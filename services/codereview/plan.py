"""The orchestrator's plan for one pull request: skip it, or which agents run on which files,
within which budget. Plain logic over the PR's changed files."""

from __future__ import annotations

from collections import Counter
from pathlib import PurePosixPath

from pydantic import BaseModel, ConfigDict

from services.codereview.github import PullFile
from services.common.events import ReviewAgent as Agent
from services.common.topics import REVIEW_AGENTS

ALL_AGENTS: tuple[Agent, ...] = REVIEW_AGENTS
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc"})
LOCKFILES = frozenset(
    {"poetry.lock", "uv.lock", "Pipfile.lock", "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "Cargo.lock", "go.sum",
     "requirements.lock", "Gemfile.lock", "composer.lock"}
)  # fmt: skip
LANGUAGES = {".py": "python", ".js": "javascript", ".ts": "typescript", ".go": "go", ".rs": "rust", ".java": "java",
             ".rb": "ruby", ".sh": "shell", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}  # fmt: skip


class ReviewPlan(BaseModel):
    """What the orchestrator decided for one head SHA."""

    model_config = ConfigDict(frozen=True)

    skipped: str | None  # why no agent runs (a short comment is posted instead)
    agents: list[Agent]
    files: list[str]  # the files agents look at (removed files excluded)
    languages: dict[str, int]
    changed_lines: int
    budget_tokens: int
    deadline_s: float


def is_doc(path: str) -> bool:
    """Documentation: by suffix, or anywhere under a docs/ folder."""
    p = PurePosixPath(path)
    return p.suffix.lower() in DOC_SUFFIXES or "docs" in p.parts[:-1]


def is_lockfile(path: str) -> bool:
    """A dependency lock file (generated)."""
    return PurePosixPath(path).name in LOCKFILES


def plan_review(
    files: list[PullFile],
    *,
    draft: bool,
    min_changed_lines: int,
    tokens_per_line: int,
    max_tokens: int,
    deadline_s: float,
) -> ReviewPlan:
    """Skip drafts, docs- or lockfile-only and tiny PRs; otherwise pick agents by what changed."""
    changed = sum(f.additions + f.deletions for f in files)
    live = [f for f in files if f.status != "removed"]
    languages = Counter(LANGUAGES.get(PurePosixPath(f.filename).suffix.lower(), "other") for f in live)
    skip: str | None = None
    if draft:
        skip = "draft pull request: it is reviewed when marked ready for review"
    elif not live:
        skip = "the pull request only removes files"
    elif all(is_doc(f.filename) or is_lockfile(f.filename) for f in live):
        skip = "documentation or lock files only: nothing for the code agents"
    elif changed < min_changed_lines:
        skip = f"{changed} changed line(s), below the review threshold of {min_changed_lines}"
    agents: list[Agent] = []
    if skip is None:
        code = [f for f in live if not is_doc(f.filename) and not is_lockfile(f.filename)]
        python_changed = any(f.filename.endswith(".py") for f in code)
        # Language-neutral checks (secrets, size, generated files) run on every PR.
        agents = ["quality", "security"]
        if python_changed:
            agents += ["performance", "tests", "docs"]
    return ReviewPlan(
        skipped=skip,
        agents=agents,
        files=[f.filename for f in live],
        languages=dict(languages),
        changed_lines=changed,
        budget_tokens=min(max_tokens, 2000 + tokens_per_line * changed) if skip is None else 0,
        deadline_s=deadline_s,
    )
