"""Pure analysis: statistics, rollback rules and verdicts (no Streamlit, no SQL, no I/O)."""
