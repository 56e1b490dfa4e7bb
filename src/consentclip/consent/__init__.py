"""The consent side of consentclip: who agreed to what, provably. Knows nothing of pixels.

Records and rules (plain data and pure functions, no I/O):
- ``records``: Purpose, Grant, ConsentRecord, Status, State (plain frozen data)
- ``state``: the consent state rules: which state a record is in, which grants are in force,
  what may change from which state (pure, the date passed in)
- ``newconsent``: NewConsent, the one request type for a new consent, and its validation
- ``gate``: the pure export decision (``evaluate(GateRequest) -> GateDecision``)
- ``ids``: consent ids (``C-7K2M``)
- ``integrity``: naming the fields that no longer match a record's signature

Storage and proof:
- ``registry``: the store (SQLite, or PostgreSQL through ``backend``), signed record versions,
  clip links, export decisions
- ``backend``: which database a home uses, and the PostgreSQL connection
- ``schema`` / ``migrations/`` / ``rows``: the schema and its Alembic migrations (both
  backends); records to rows and back
- ``copy``: ``registry copy``, a SQLite registry into PostgreSQL, verified before it commits
- ``audit``: the hash-chained, append-only log with a signed head
- ``anchor``: the audit head and the withdrawal ledger kept again outside the database
- ``signing``: the clinic's Ed25519 key (optionally encrypted with a passphrase)
- ``people``: the person acting, recorded in every audit entry beside the login
- ``privacy``: the home and the registry readable by their owner only
- ``documents``: signed documents kept by hash, never overwritten
- ``home_health``: read-only checks of the consent home for ``doctor``

Forms:
- ``clinic``: the clinic's settings (``clinic.toml``)
- ``templates`` / ``pdf``: consent form templates and the PDF forms (the only reportlab import)
- ``markers``: the corner registration marks printed on every form page (read back by
  ``consentclip.scanread``, outside this package: reading a scan is pixel work)

- ``actions`` / ``audit_actions``: the plain functions behind ``consentclip consent ...`` and
  ``consentclip audit ...``

Nothing is imported here, so ``import consentclip.consent.records`` stays cheap (no reportlab,
no OpenCV) for the export and batch code that only needs the records and the gate.
"""
