"""The registry: state transitions, tamper detection, schema versions, clip links, health."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from consentclip import scanread
from consentclip.consent import actions, schema
from consentclip.consent.records import ConsentRecord, Purpose, State, Status
from consentclip.consent.registry import Registry, home_checks
from consentclip.errors import ConsentRefused, HomeError, NotFoundError, RollbackError, UsageError
from consentclip.home import Home

from .dbtools import DatabaseRefused, db_dump, tamper

SHA = "ab" * 32


def sign(home: Home, record: ConsentRecord, png: Path) -> ConsentRecord:
    return scanread.sign_electronically(
        home=home, consent_id=record.id, signature_image=png, signed_by=record.signer.name
    ).record


# --- state transitions --------------------------------------------------------------------
def test_draft_signed_partially_withdrawn_withdrawn(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    draft = new_consent("teaching:identifiable", "journal:voice")
    assert draft.state is State.DRAFT and draft.version == 1
    signed = sign(ready_home, draft, signature_png)
    assert signed.state is State.SIGNED and signed.version == 2
    assert signed.signature is not None and signed.signature.method == "electronic"

    first = actions.revoke(home=ready_home, consent_id=draft.id, purpose="journal", reason="no")
    assert first.record.state is State.PARTIALLY_WITHDRAWN and first.withdrawn == (Purpose.JOURNAL,)
    rest = actions.revoke(home=ready_home, consent_id=draft.id, purpose=None, reason="all")
    assert rest.record.state is State.WITHDRAWN and rest.withdrawn == (Purpose.TEACHING,)

    with Registry.open(ready_home) as reg:
        # Withdrawal is a new signed version; the original versions stay.
        versions = reg._conn.execute(
            "SELECT version FROM record_versions WHERE consent_id = ?", (draft.id,)
        ).fetchall()
        assert [v[0] for v in versions] == [1, 2, 3, 4]
        events = [e.event for e in reg.audit_entries(draft.id)]
        assert events == ["create", "sign", "revoke", "revoke"]
        assert reg.verify().ok and reg.verify_audit().ok


def test_void_and_supersede(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    old = sign(ready_home, new_consent("teaching"), signature_png)
    newer = new_consent("teaching:identifiable", supersedes=old.id)
    with Registry.open(ready_home) as reg:
        assert reg.get(old.id).state is State.SIGNED  # superseded only once the new one is signed
    sign(ready_home, newer, signature_png)
    with Registry.open(ready_home) as reg:
        retired = reg.get(old.id)
        assert retired.state is State.SUPERSEDED and retired.superseded_by == newer.id
        voided = reg.void(newer.id, reason="wrong patient")
        assert voided.state is State.VOIDED and voided.void_reason == "wrong patient"
        assert reg.verify().ok


def test_minor_who_came_of_age_needs_reconsent(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    today = date.today()
    birth = date(today.year - 17, today.month, 1) - timedelta(days=1)
    rec = new_consent(
        signer_role="guardian", signer_name="Mum", signer_authority="mother", birth_date=birth
    )
    rec = sign(ready_home, rec, signature_png)
    assert rec.state is State.SIGNED
    assert rec.state_on(date(birth.year + 18, birth.month, birth.day)) is State.RECONSENT_REQUIRED


def test_list_filters_by_state_and_patient(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    a = new_consent()
    b = sign(ready_home, new_consent(patient_ref="P-9"), signature_png)
    with Registry.open(ready_home) as reg:
        assert [r.id for r in reg.list(state=State.DRAFT)] == [a.id]
        assert [r.id for r in reg.list(patient_ref="P-9")] == [b.id]
        assert len(reg.list()) == 2


# --- bad input changes nothing --------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"grants": ("tiktok",)}, "unknown purpose"),
        ({"expires": date.today() - timedelta(days=1)}, "in the past"),
        (
            {"signer_role": "guardian", "signer_name": "Mum", "signer_authority": "mother"},
            "birth-date",
        ),
        ({"grants": ("teaching", "teaching:identifiable")}, "granted twice"),
        ({"birth_date": date.today() - timedelta(days=365 * 10)}, "is a minor"),
        ({"signer_role": "legal_representative", "signer_name": "X"}, "authority"),
        ({"template": "nope"}, "no consent template"),
        ({"language": "fr"}, "languages: en, es, ru"),
        ({"interpreter": "Ana"}, "NAME:LANGUAGE"),
    ],
)
def test_bad_new_consent_is_refused_and_changes_nothing(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], fields: dict, message: str
) -> None:
    before = db_dump(ready_home)
    with pytest.raises((UsageError, NotFoundError), match=message):
        new_consent(**fields)
    assert db_dump(ready_home) == before


def test_revoking_twice_and_unknown_ids_are_refused(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    rec = sign(ready_home, new_consent("teaching", "journal"), signature_png)
    actions.revoke(home=ready_home, consent_id=rec.id, purpose="teaching", reason="no")
    before = db_dump(ready_home)
    with pytest.raises(UsageError, match="already withdrawn"):
        actions.revoke(home=ready_home, consent_id=rec.id, purpose="teaching", reason="again")
    with pytest.raises(UsageError, match="no grant for conference"):
        actions.revoke(home=ready_home, consent_id=rec.id, purpose="conference", reason="x")
    with pytest.raises(NotFoundError, match="no consent with id C-2222"):
        actions.revoke(home=ready_home, consent_id="C-2222", purpose=None, reason="x")
    assert db_dump(ready_home) == before


def test_signing_twice_is_refused(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    rec = sign(ready_home, new_consent(), signature_png)
    docs = sorted(ready_home.documents_dir.iterdir())
    before = db_dump(ready_home)
    with pytest.raises(UsageError, match="already signed"):
        sign(ready_home, rec, signature_png)
    assert db_dump(ready_home) == before
    assert sorted(ready_home.documents_dir.iterdir()) == docs


# --- tampering with the SQLite file --------------------------------------------------------
@pytest.fixture
def signed(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> ConsentRecord:
    rec = sign(ready_home, new_consent("teaching", "journal:identifiable"), signature_png)
    actions.revoke(home=ready_home, consent_id=rec.id, purpose="journal", reason="changed mind")
    with Registry.open(ready_home) as reg:
        assert reg.verify().ok and reg.verify_audit().ok
        return reg.get(rec.id)


def problems_after(home: Home, *sql: str) -> list[str]:
    tamper(home, *sql)
    with Registry.open(home) as reg:
        return reg.verify().problems


def test_changed_grant_is_named(ready_home: Home, signed: ConsentRecord) -> None:
    problems = problems_after(
        ready_home, "UPDATE grants SET identifiable = 1 WHERE purpose = 'teaching'"
    )
    assert any("grant teaching identifiable changed (False -> True)" in p for p in problems)


def test_moved_expiry_is_named(ready_home: Home, signed: ConsentRecord) -> None:
    problems = problems_after(ready_home, "UPDATE grants SET expires = '2099-01-01'")
    assert any("grant teaching expires changed" in p and "2099-01-01" in p for p in problems)


def test_deleted_withdrawal_is_named(ready_home: Home, signed: ConsentRecord) -> None:
    problems = problems_after(
        ready_home, "UPDATE grants SET withdrawn_at = NULL, withdrawal_reason = NULL"
    )
    assert any("grant journal withdrawn_at changed" in p for p in problems)


def test_added_grant_is_named(ready_home: Home, signed: ConsentRecord) -> None:
    problems = problems_after(
        ready_home,
        f"INSERT INTO grants VALUES ('{signed.id}', 'social_media', 1, 1, '2099-01-01', NULL,"
        " NULL)",
    )
    assert any("grant social_media was added" in p for p in problems)


def test_rollback_to_an_older_signed_version_is_caught(
    ready_home: Home, signed: ConsentRecord
) -> None:
    # Restore version 2 (before the withdrawal) with its genuine signature, and delete version 3.
    with Registry.open(ready_home) as reg:
        v2 = reg._conn.execute(
            "SELECT signature FROM record_versions WHERE consent_id = ? AND version = 2",
            (signed.id,),
        ).fetchone()[0]
    problems = problems_after(
        ready_home,
        "DROP TRIGGER versions_no_delete",
        f"DELETE FROM record_versions WHERE version = 3 AND consent_id = '{signed.id}'",
        "UPDATE grants SET withdrawn_at = NULL, withdrawal_reason = NULL",
        f"UPDATE consents SET version = 2, record_signature = '{v2}'",
    )
    assert any("audit log last recorded version 3" in p for p in problems)


def test_deleted_record_is_caught(ready_home: Home, signed: ConsentRecord) -> None:
    problems = problems_after(ready_home, "DELETE FROM grants", "DELETE FROM consents")
    assert problems == [
        f"{signed.id}: the record was deleted from the registry (the audit log still has it)"
    ]


def test_forged_record_version_signature_is_caught(ready_home: Home, signed: ConsentRecord) -> None:
    problems = problems_after(ready_home, "UPDATE consents SET record_signature = '00'")
    assert any("record signature does not verify" in p for p in problems)


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        (("UPDATE audit SET os_user = 'eve' WHERE seq = 2",), "audit entry 2 (create) was edited"),
        (("DELETE FROM audit WHERE seq = 3",), "audit entry 3 is missing"),
        (("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)",), "entries were removed"),
        (
            (
                "UPDATE audit SET seq = 100 WHERE seq = 2",
                "UPDATE audit SET seq = 2 WHERE seq = 3",
                "UPDATE audit SET seq = 3 WHERE seq = 100",
            ),
            "was edited",
        ),
        (("UPDATE audit_head SET signature = '00'",), "head signature does not verify"),
    ],
)
def test_audit_tampering_is_caught(
    ready_home: Home, signed: ConsentRecord, sql: tuple[str, ...], fragment: str
) -> None:
    tamper(ready_home, "DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete", *sql)
    if fragment == "entries were removed":
        # Cutting the newest entry off is a rollback: the anchor outside the database refuses
        # the registry outright (tests/hardening/test_rollback.py); the chain still names it.
        with pytest.raises(RollbackError, match="rolled back"):
            Registry.open(ready_home)
    with Registry.open(ready_home, check_anchor=False) as reg:
        report = reg.verify_audit()
    assert not report.ok
    assert any(fragment in p for p in report.problems), report.problems


def test_audit_is_append_only_at_the_database_level(
    ready_home: Home, signed: ConsentRecord
) -> None:
    with pytest.raises(DatabaseRefused, match="append-only"):
        tamper(ready_home, "DELETE FROM audit WHERE seq = 1")


# --- schema --------------------------------------------------------------------------------
def test_newer_schema_is_refused_untouched(ready_home: Home) -> None:
    tamper(ready_home, f"UPDATE schema_version SET version = {schema.CURRENT_VERSION + 1}")
    before = db_dump(ready_home)
    with pytest.raises(HomeError, match="newer than this consentclip supports"):
        Registry.open(ready_home)
    assert db_dump(ready_home) == before
    checks = {c.name: c for c in home_checks(ready_home)}
    assert not checks["registry schema"].ok and "newer" in checks["registry schema"].detail


def test_initialise_is_idempotent_and_open_requires_it(home: Home) -> None:
    with pytest.raises(HomeError) as missing:
        Registry.open(home)
    assert "run 'consentclip init' first" in missing.value.one_line()
    assert Registry.initialise(home) is True
    key = home.private_key_path.read_bytes()
    assert Registry.initialise(home) is False
    assert home.private_key_path.read_bytes() == key
    assert (home.private_key_path.stat().st_mode & 0o777) == 0o600
    with Registry.open(home) as reg:
        assert [e.event for e in reg.audit_entries()] == ["init"]


def test_home_checks_create_nothing(home: Home) -> None:
    checks = home_checks(home)
    assert not any(c.ok for c in checks) and "consentclip init" in checks[0].detail
    assert not home.root.exists()
    Registry.initialise(home)
    assert all(c.ok for c in home_checks(home))
    home.private_key_path.write_text("garbage")
    assert not {c.name: c for c in home_checks(home)}["signing key"].ok


# --- clip links and exports ----------------------------------------------------------------
def test_links_are_numbered_idempotent_and_refused_for_drafts(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    draft = new_consent()
    with Registry.open(ready_home) as reg:
        with pytest.raises(ConsentRefused) as refused:
            reg.link_clip(draft.id, SHA, "patient_name.mp4", "video")
        assert refused.value.rule == "not_signed"
    rec = sign(ready_home, draft, signature_png)
    with Registry.open(ready_home) as reg:
        first = reg.link_clip(rec.id, SHA, "a.mp4", "video")
        again = reg.link_clip(rec.id, SHA, "a.mp4", "video")
        second = reg.link_clip(rec.id, "cd" * 32, "b.jpg", "photo")
        assert (first.clip_number, again.clip_number, second.clip_number) == (1, 1, 2)
        assert reg.find_link(SHA) == first and reg.find_link("ef" * 32) is None
        assert [link.sha256 for link in reg.list_links(rec.id)] == [SHA, "cd" * 32]
        assert [e.event for e in reg.audit_entries(rec.id)].count("link") == 2
        assert reg.verify(rec.id).ok
    actions.revoke(home=ready_home, consent_id=rec.id, purpose=None, reason="stop")
    with Registry.open(ready_home) as reg:
        with pytest.raises(ConsentRefused) as refused:
            reg.link_clip(rec.id, "ee" * 32, "c.mp4", "video")
        assert refused.value.rule == "withdrawn"


def test_link_inserted_behind_the_tools_back_is_caught(
    ready_home: Home, signed: ConsentRecord
) -> None:
    problems = problems_after(
        ready_home,
        f"INSERT INTO clip_links VALUES ('{SHA}', '{signed.id}', 'x.mp4', 'video', '2026', 9)",
    )
    assert any("linked without an audit entry" in p for p in problems)


def test_revoke_lists_what_was_already_exported(
    ready_home: Home, new_consent: Callable[..., ConsentRecord], signature_png: Path
) -> None:
    rec = sign(ready_home, new_consent("teaching", "conference"), signature_png)
    with Registry.open(ready_home) as reg:
        reg.record_export_decision(
            consent_id=rec.id,
            sha256=SHA,
            purpose="teaching",
            allowed=True,
            rule=None,
            detail={"output": f"{rec.id}_1.mp4", "destination": "/exports"},
        )
        reg.record_export_decision(
            consent_id=rec.id,
            sha256=SHA,
            purpose="social_media",
            allowed=False,
            rule="not_granted",
            detail={},
        )
        assert [e.detail["output"] for e in reg.exports_for(rec.id)] == [f"{rec.id}_1.mp4"]
    result = actions.revoke(home=ready_home, consent_id=rec.id, purpose=None, reason="stop")
    assert [e.detail["purpose"] for e in result.exports] == ["teaching"]
    assert result.record.status is Status.SIGNED and result.record.state is State.WITHDRAWN


V1_HOME = Path(__file__).with_name("data") / "registry-v1-home.tar.gz"


@pytest.mark.sqlite_only("a SQLite registry made before Alembic")
def test_registry_made_before_alembic_migrates_forward_without_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """data/registry-v1-home.tar.gz was made by consentclip at main ae5121c (schema_version 1,
    data/make_registry_v1.py): two signed consents, a withdrawal, a clip link."""
    import tarfile

    with tarfile.open(V1_HOME) as tar:
        tar.extractall(tmp_path, filter="data")
    home = Home(tmp_path / "home")
    monkeypatch.setenv("CONSENTCLIP_HOME", str(home.root))
    old = sqlite3.connect(home.db_path)
    tables = ("consents", "grants", "record_versions", "clip_links", "audit", "audit_head")
    before = {t: old.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    assert schema.read_version(old) == 1
    old.close()
    with Registry.open(home) as reg:
        conn = reg._conn
        assert schema.read_version(conn) == schema.CURRENT_VERSION == 2
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("r0002",)]
        cols = [row[1] for row in conn.execute("PRAGMA table_info(audit)")]
        assert "person" in cols
        for table in tables:
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            if table == "audit":
                rows = [row[:-1] for row in rows if row[-1] == ""]  # person: '' for old entries
            assert rows == before[table], table
        assert reg.verify().ok and reg.verify_audit().ok
        withdrawn = reg.get("C-E949")
        assert withdrawn.state is State.PARTIALLY_WITHDRAWN
        assert reg.find_link("ab" * 32) is not None
        entry = reg.append_audit("note", detail={"after": "migration"})
        assert reg.verify_audit().ok and entry.seq == len(before["audit"]) + 1
    with Registry.open(home) as reg:  # migrated once: the second open changes nothing
        assert schema.read_version(reg._conn) == 2


def test_failed_write_leaves_nothing_behind(
    ready_home: Home,
    new_consent: Callable[..., ConsentRecord],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from consentclip.consent import audit

    before = db_dump(ready_home)

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    # The record rows are written first, the audit entry last: a crash there must undo both.
    monkeypatch.setattr(audit, "append", crash)
    with pytest.raises(OSError, match="disk full"):
        new_consent()
    assert db_dump(ready_home) == before


def test_missing_or_altered_signed_document_is_caught(
    ready_home: Home, signed: ConsentRecord
) -> None:
    assert signed.signature is not None
    doc = ready_home.documents_dir / f"{signed.signature.document_sha256}.pdf"
    doc.chmod(0o644)
    doc.write_bytes(doc.read_bytes() + b"%% appended")
    with Registry.open(ready_home) as reg:
        assert reg.verify(signed.id).ok  # per-export checks skip re-hashing documents
        assert any("was altered" in p for p in reg.verify(signed.id, documents=True).problems)
    doc.unlink()
    with Registry.open(ready_home) as reg:
        problems = reg.verify(signed.id, documents=True).problems
        assert any("is missing from the home" in p for p in problems)
