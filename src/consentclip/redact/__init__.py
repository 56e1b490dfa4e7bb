"""Redaction of regions in upright BGR frames, and the preview overlays. Knows no patients."""

from consentclip.redact.overlay import draw_detections, draw_preview_band
from consentclip.redact.regions import Redactor, RedactPlan, redact_frame

__all__ = ["RedactPlan", "Redactor", "draw_detections", "draw_preview_band", "redact_frame"]
