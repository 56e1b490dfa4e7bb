"""The consent state rules, in one place (docs/domain.md §1.3).

Which state a record is in, which of its grants are in force, and what may change from which
state. Pure functions over records: the date is an argument, so a rule is the same today, in a
test and in 2034. ``today()`` is the one place that reads the date from the registry's clock.

The registry asks these before it writes, the gate before it allows an export, the CLI before
it prints a state; none of them repeats a rule.
"""

from __future__ import annotations

from datetime import date
from enum import Enum

from consentclip.consent import audit
from consentclip.consent.records import (
    AGE_OF_MAJORITY,
    ConsentRecord,
    Grant,
    Purpose,
    State,
    Status,
    age_on,
)
from consentclip.errors import ConsentRefused, UsageError


class GrantState(str, Enum):
    """One grant on one day: in force, withdrawn, or past its last day of use."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


def today() -> date:
    """The day every rule is judged on: the local calendar day (as on the signed form) of the
    registry's one clock, which the tests replace (``audit.clock``)."""
    return audit.clock().astimezone().date()


# --- states -------------------------------------------------------------------------------
def grant_expired(grant: Grant, on: date) -> bool:
    # The expiry date is the last day of use.
    return on > grant.expires


def grant_state(grant: Grant, on: date) -> GrantState:
    if grant.withdrawn:
        return GrantState.WITHDRAWN
    if grant_expired(grant, on):
        return GrantState.EXPIRED
    return GrantState.ACTIVE


def came_of_age(record: ConsentRecord, on: date) -> bool:
    """True when a parent/guardian signed for a minor who has turned 18 since."""
    if not record.signer.role.signs_for_minor or record.birth_date is None:
        return False
    return age_on(record.birth_date, on) >= AGE_OF_MAJORITY


def state_of(record: ConsentRecord, on: date) -> State:
    if record.status is Status.VOIDED:
        return State.VOIDED
    if record.status is Status.SUPERSEDED:
        return State.SUPERSEDED
    if record.status is Status.DRAFT:
        return State.DRAFT
    withdrawn = sum(1 for g in record.grants if g.withdrawn)
    if withdrawn == len(record.grants):
        return State.WITHDRAWN
    if came_of_age(record, on):
        return State.RECONSENT_REQUIRED
    if withdrawn:
        return State.PARTIALLY_WITHDRAWN
    return State.SIGNED


def status_rule(record: ConsentRecord) -> str | None:
    """The gate rule a record's status alone breaks (``not_signed``, ``voided``,
    ``superseded``), or None for a signed record. Linking and exporting both start here."""
    if record.status is Status.DRAFT:
        return "not_signed"
    if record.status is Status.VOIDED:
        return "voided"
    if record.status is Status.SUPERSEDED:
        return "superseded"
    return None


# --- what may change from which state -------------------------------------------------------
def require_signable(record: ConsentRecord, on: date) -> None:
    """Only a draft is signed, and only once."""
    if record.status is not Status.DRAFT:
        raise UsageError(
            f"consent {record.id} is already {state_of(record, on).value}; a signed consent is "
            "never signed again",
            option="supersedes",
        )


def withdrawal_targets(record: ConsentRecord, purpose: Purpose | None) -> tuple[Purpose, ...]:
    """The grants a withdrawal takes away: ``purpose`` alone, or every grant still held."""
    cid = record.id
    if record.status is Status.DRAFT:
        raise UsageError(f"consent {cid} was never signed; there is nothing to withdraw")
    if record.status in (Status.VOIDED, Status.SUPERSEDED):
        raise UsageError(f"consent {cid} is {record.status.value}; it grants nothing")
    if purpose is None:
        targets = tuple(g.purpose for g in record.grants if not g.withdrawn)
        if not targets:
            raise UsageError(f"every grant of consent {cid} is already withdrawn")
        return targets
    grant = record.grant_for(purpose)
    if grant is None:
        held = ", ".join(g.purpose.value for g in record.grants)
        raise UsageError(f"consent {cid} has no grant for {purpose.value}; grants: {held}")
    if grant.withdrawn:
        when = grant.withdrawn_at.date().isoformat() if grant.withdrawn_at else "?"
        raise UsageError(
            f"the {purpose.value} grant of consent {cid} was already withdrawn on {when}"
        )
    return (purpose,)


def require_voidable(record: ConsentRecord) -> None:
    if record.status is Status.VOIDED:
        raise UsageError(f"consent {record.id} is already voided")


def require_supersedable(old: ConsentRecord, patient_ref: str) -> None:
    """A new consent may replace a current record of the same patient."""
    if old.patient_ref != patient_ref:
        raise UsageError(
            f"consent {old.id} belongs to another patient; it cannot be superseded by this one"
        )
    if old.status in (Status.SUPERSEDED, Status.VOIDED):
        raise UsageError(f"consent {old.id} is already {old.status.value}")


def require_linkable(record: ConsentRecord, on: date) -> None:
    """Clips are linked only to a signed record that still grants something."""
    cid = record.id
    rule = status_rule(record)
    if rule == "not_signed":
        raise ConsentRefused(
            f"consent {cid} is not signed yet; sign it before linking clips", rule=rule
        )
    if rule == "voided":
        raise ConsentRefused(f"consent {cid} was voided; clips cannot be linked to it", rule=rule)
    if rule == "superseded":
        raise ConsentRefused(
            f"consent {cid} was superseded by {record.superseded_by}; link to that one", rule=rule
        )
    if state_of(record, on) is State.WITHDRAWN:
        raise ConsentRefused(
            f"consent {cid} was withdrawn; clips cannot be linked to it", rule="withdrawn"
        )


def relinkable(current: ConsentRecord) -> bool:
    """A clip linked to a superseded or voided consent may move to another; otherwise a clip
    belongs to one consent."""
    return current.status in (Status.SUPERSEDED, Status.VOIDED)
