"""Approving a staged review, and holding an export to what was approved.

An approval is an audit entry (event ``review.approved``) in the hash-chained, signed log whose
detail binds the clip's SHA-256, the purpose, the consent grant, the decisions' hash, the staged
output's SHA-256, the engine (consentclip and ffmpeg versions and every setting), the reviewer
and the time; the detail is also signed on its own with the clinic key, so it verifies even when
quoted outside the log.

At export, ``review_for_export`` finds the newest approval of the clip for the purpose and
``ExportReview.check`` compares every binding with the present: if the clip, the consent, the
decisions, the engine or the staged file changed, export names what changed and refuses. What
was seen is what ships: ``publish`` copies the approved staged file, byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from consentclip.consent.audit import os_user
from consentclip.consent.clinic import ReviewPolicy
from consentclip.consent.records import ConsentRecord, Purpose
from consentclip.consent.registry import ClipLink, Registry
from consentclip.detect.regions import Box, Region, RegionKind
from consentclip.errors import ConsentRefused, MediaError, UsageError
from consentclip.hashing import sha256_file
from consentclip.home import Home
from consentclip.review import staging
from consentclip.review.decisions import Decisions
from consentclip.review.risk import risk_frames
from consentclip.settings import EngineResult, EngineSettings

if TYPE_CHECKING:
    from consentclip.export import EngineOptions  # export imports this module (a cycle)

EVENT = "review.approved"
APPROVAL_FORMAT = "consentclip-review-approval/1"
USER_ENV = "CONSENTCLIP_USER"
MAX_NAME = 120


def signing_message(body: dict[str, Any]) -> bytes:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return b"consentclip-review-approval:" + text.encode()


def consent_fingerprint(record: ConsentRecord, purpose: Purpose) -> dict[str, Any]:
    """The part of a consent an approval rests on: who, which status, and the purpose's grant.
    A withdrawal of another purpose does not undo this review; a change to this grant does."""
    grant = record.grant_for(purpose)
    return {
        "consent_id": record.id,
        "status": record.status.value,
        "grant": None
        if grant is None
        else {
            "identifiable": grant.identifiable,
            "voice": grant.voice,
            "expires": grant.expires.isoformat(),
            "withdrawn": grant.withdrawn,
        },
    }


def exporter_identity() -> str:
    """Who is exporting: ``$CONSENTCLIP_USER`` when set (a shared workstation), else the login."""
    return os.environ.get(USER_ENV, "").strip() or os_user()


@dataclass(frozen=True)
class Approval:
    seq: int
    os_user: str
    body: dict[str, Any]
    signature: str

    @property
    def reviewer(self) -> str:
        return str(self.body.get("reviewer", ""))

    def summary(self) -> dict[str, Any]:
        b = self.body
        return {
            "reviewer": b.get("reviewer"),
            "approved_at": b.get("approved_at"),
            "audit_seq": self.seq,
            "decisions_sha256": b.get("decisions_sha256"),
            "staged_sha256": b.get("staged", {}).get("sha256"),
            "engine_sha256": b.get("engine_sha256"),
            "risk_frames": b.get("risk_frames", []),
        }


def approvals(registry: Registry, consent_id: str) -> list[Approval]:
    found = []
    for entry in registry.audit_entries(consent_id):
        if entry.event != EVENT:
            continue
        detail = dict(entry.detail)
        signature = str(detail.pop("signature", ""))
        found.append(Approval(entry.seq, entry.os_user, detail, signature))
    return found


def latest_approval(
    registry: Registry, consent_id: str, clip_number: int, purpose: Purpose
) -> Approval | None:
    matching = [
        a
        for a in approvals(registry, consent_id)
        if a.body.get("clip_number") == clip_number and a.body.get("purpose") == purpose.value
    ]
    return matching[-1] if matching else None


def verifies(registry: Registry, approval: Approval) -> bool:
    return registry.key.verify(signing_message(approval.body), approval.signature)


# --- approving ---------------------------------------------------------------------------


def qa_frames(frames: Sequence[int], count: int = 9) -> list[int]:
    """Up to ``count`` distinct risk frames for the QA sheet, spread over all of them."""
    unique = sorted(set(frames))
    if len(unique) <= count:
        return unique
    step = (len(unique) - 1) / (count - 1)
    return sorted({unique[round(i * step)] for i in range(count)})


def approve(
    home: Home,
    session: staging.Session,
    reviewer: str,
    *,
    decisions: Decisions | None = None,
    progress: staging.RenderProgress | None = None,
) -> Approval:
    """Record the reviewer's approval of what is staged.

    With ``decisions`` (from the terminal), they replace the saved ones first. When the staged
    file does not match the decisions or the present engine, it is rendered again before the
    approval, so the approval always names a file made from exactly these decisions.
    """
    name = " ".join(reviewer.split())
    if not name:
        raise UsageError("the reviewer's name is required to approve")
    if len(name) > MAX_NAME:
        raise UsageError(f"the reviewer's name is longer than {MAX_NAME} characters")
    if decisions is not None:
        session.save_decisions(decisions)
    current = session.decisions()
    if not staging.render_is_current(home, session, current):
        staging.render(home, session, current, progress)
        current = session.decisions()  # a stale switched-off track may have been switched on
    record = session.render_record()
    if record is None:
        raise MediaError("nothing is staged to approve; render it first")
    staged_sha = sha256_file(session.staged_path)
    if record["output"]["sha256"] != staged_sha:
        raise MediaError("the staged file changed after it was rendered; render it again")
    with Registry.open(home) as registry:
        plan = staging.gate_for_review(
            registry, session.clip, session.purpose, current, session.options
        )
        consent = registry.get(plan.consent_id)
        regions = json.loads(session.regions_path.read_text(encoding="utf-8"))["regions"]
        body = {
            "format": APPROVAL_FORMAT,
            "consent_id": plan.consent_id,
            "clip_number": plan.clip_number,
            "purpose": session.purpose.value,
            "clip_sha256": plan.input_sha256,
            "media_kind": session.media_kind,
            "consent": consent_fingerprint(consent, session.purpose),
            "decisions_sha256": current.sha256(),
            "decisions": current.to_dict(),
            "staged": {"name": session.staged_path.name, "sha256": staged_sha},
            "engine": record["engine"],
            "engine_sha256": record["engine_sha256"],
            "risk_frames": qa_frames([r.frame for r in risk_frames(regions)]),
            "reviewer": name,
            "approved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        signature = registry.key.sign(signing_message(body))
        entry = registry.append_audit(
            EVENT, consent_id=plan.consent_id, detail={**body, "signature": signature}
        )
    return Approval(entry.seq, entry.os_user, body, signature)


# --- export ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovedStaging:
    """What export publishes instead of running the engine."""

    session: staging.Session
    approval: Approval

    @property
    def staged_sha256(self) -> str:
        return str(self.approval.body["staged"]["sha256"])

    def publish(self, dst: Path) -> EngineResult:
        """Copy the approved staged file to ``dst`` and check the copy's hash."""
        record = self.session.render_record() or {}
        try:
            shutil.copyfile(self.session.staged_path, dst)
        except OSError as exc:
            raise MediaError(f"cannot copy the approved staged file: {exc.strerror}") from exc
        if sha256_file(dst) != self.staged_sha256:
            raise MediaError("the approved staged file changed while it was being published")
        return staging.result_from_dict(record["result"], dst)

    def regions(self) -> dict[int, list[Region]]:
        """The redacted regions per frame, for the QA sheet."""
        data = json.loads(self.session.regions_path.read_text(encoding="utf-8"))
        out: dict[int, list[Region]] = {}
        for index, rows in enumerate(data["regions"]):
            kept = [
                Region(Box(*row[2:6]), RegionKind(row[0]), row[6], row[1], row[7])
                for row in rows
                if not row[8] and row[0] in {k.value for k in RegionKind}
            ]
            if kept:
                out[index] = kept
        return out

    def manifest_entry(self) -> dict[str, Any]:
        return {**self.approval.summary(), "approved_by_os_user": self.approval.os_user}


@dataclass(frozen=True)
class ExportReview:
    """The review side of one export decision."""

    required: bool
    approver_must_differ: bool
    approval: Approval | None
    session: staging.Session | None

    @property
    def approved(self) -> bool:
        return self.approval is not None and self.session is not None

    @property
    def approver_is_exporter(self) -> bool:
        if not (self.approver_must_differ and self.approval is not None):
            return False
        me = exporter_identity().casefold()
        if me == self.approval.reviewer.casefold():
            return True
        # Without a named user, the login decides: the same login approved.
        return not os.environ.get(USER_ENV) and me == self.approval.os_user.casefold()

    def options(self, base: EngineOptions) -> EngineOptions:
        """The export's engine options with the approved decisions' regions and keeps."""
        if self.session is None:
            return base
        decisions = self.session.decisions()
        return replace(
            base,
            regions=(*(h.as_manual() for h in decisions.hide), *base.regions),
            keep=(*decisions.keep, *base.keep),
        )

    def check(
        self,
        registry: Registry,
        record: ConsentRecord | None,
        clip_sha256: str,
        settings: EngineSettings,
    ) -> ApprovedStaging | None:
        """Raise ConsentRefused (rule ``review_changed``) naming everything that changed since
        the approval; return what to publish when nothing did."""
        if self.approval is None or self.session is None:
            return None
        body = self.approval.body
        changed: list[str] = []
        if not verifies(registry, self.approval):
            changed.append("the approval's signature does not verify")
        if body.get("clip_sha256") != clip_sha256:
            changed.append("the clip")
        if record is None or body.get("consent") != consent_fingerprint(
            record, Purpose(body["purpose"])
        ):
            changed.append("the consent")
        if self.session.decisions().sha256() != body.get("decisions_sha256"):
            changed.append("the decisions")
        engine = staging.engine_fingerprint(settings)
        if staging.canonical_sha256(engine) != body.get("engine_sha256"):
            changed.append("the engine (" + _engine_diff(body.get("engine", {}), engine) + ")")
        staged = self.session.staged_path
        if not staged.is_file() or sha256_file(staged) != body.get("staged", {}).get("sha256"):
            changed.append("the staged file")
        if changed:
            raise ConsentRefused(
                f"the {body.get('purpose')} review approved by {self.approval.reviewer} no longer "
                f"holds: {_join(changed)} changed since the approval",
                rule="review_changed",
                hint="review it again: consentclip review open CLIP --purpose "
                f"{body.get('purpose')}",
            )
        return ApprovedStaging(self.session, self.approval)


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _engine_diff(then: dict[str, Any], now: dict[str, Any]) -> str:
    parts = [
        f"{name} {then.get(name)} -> {now.get(name)}"
        for name in ("consentclip", "ffmpeg")
        if then.get(name) != now.get(name)
    ]
    old, new = then.get("settings", {}), now.get("settings", {})
    parts += [f"{k}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return ", ".join(parts) or "settings"


def review_for_export(registry: Registry, link: ClipLink, purpose: Purpose) -> ExportReview:
    policy = ReviewPolicy.load(registry.home)
    approval = latest_approval(registry, link.consent_id, link.clip_number, purpose)
    session = (
        staging.find_session(registry.home, link.consent_id, link.clip_number, purpose)
        if approval is not None
        else None
    )
    return ExportReview(
        required=policy.requires(purpose),
        approver_must_differ=policy.approver_must_differ,
        approval=approval,
        session=session,
    )


# --- listing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedReview:
    name: str
    consent_id: str
    clip_number: int
    purpose: str
    media_kind: str
    state: str  # not_rendered | awaiting_review | changes_not_rendered | approved | approval_stale
    reviewer: str | None = None
    approved_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def list_reviews(home: Home) -> list[ListedReview]:
    """What awaits review and what is approved. "approval_stale" means the staged file or the
    decisions no longer match the newest approval (export will refuse until approved again)."""
    listed = []
    with Registry.open(home) as registry:
        for session in staging.list_sessions(home):
            record = session.render_record()
            decisions = session.decisions()
            approval = latest_approval(
                registry, session.consent_id, session.clip_number, session.purpose
            )
            if record is None or not session.staged_path.is_file():
                state = "not_rendered"
            elif approval is not None:
                holds = (
                    verifies(registry, approval)
                    and approval.body["decisions_sha256"] == decisions.sha256()
                    and approval.body["staged"]["sha256"] == sha256_file(session.staged_path)
                )
                state = "approved" if holds else "approval_stale"
            elif record.get("decisions_sha256") != decisions.sha256():
                state = "changes_not_rendered"
            else:
                state = "awaiting_review"
            listed.append(
                ListedReview(
                    session.name,
                    session.consent_id,
                    session.clip_number,
                    session.purpose.value,
                    session.media_kind,
                    state,
                    approval.reviewer if approval else None,
                    approval.body.get("approved_at") if approval else None,
                )
            )
    return listed
