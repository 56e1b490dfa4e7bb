"""The reviewer's QA sheet: one A4 page per exported clip (an internal document).

- ``frames``: which frames to show (an approved review's risk frames first), decoded through
  ``media/``, outlined with the regions redacted there
- ``sheet``: the page itself (reportlab; the only reportlab import outside ``consent/pdf``)

Nothing is imported here, so importing ``consentclip.qa.frames`` does not load reportlab.
"""
