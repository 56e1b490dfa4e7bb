"""consentclip: consent-gated anonymisation of clinical recordings."""

__version__ = "0.1.0"
