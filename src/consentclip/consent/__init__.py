"""The consent side of consentclip: who agreed to what, provably. Knows nothing of pixels.

- ``records``: Purpose, Grant, ConsentRecord, State (plain frozen data)
- ``gate``: the pure export decision (``evaluate(GateRequest) -> GateDecision``)
- ``registry``: SQLite store, signed record versions, clip links, export decisions
- ``audit``: the hash-chained, append-only log with a signed head
- ``signing``: the clinic's Ed25519 key
- ``templates`` / ``pdf``: consent forms (the only reportlab import)
- ``markers``: the corner registration marks printed on every form page (read back by
  ``consentclip.scanread``, outside this package: reading a scan is pixel work)
- ``actions``: the plain functions behind ``consentclip consent ...``

Nothing is imported here, so ``import consentclip.consent.records`` stays cheap (no reportlab,
no OpenCV) for the export and batch code that only needs the records and the gate.
"""
