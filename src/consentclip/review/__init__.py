"""Review before export: staging, decisions, approval, and the local review page."""
