"""All SQL lives here: SQLAlchemy Core, one module per domain, every value bound.

Each query takes a connection from the read engine and a `Window`, and returns a small,
aggregated DataFrame. No Streamlit imports: these are reused by tests and the command line.
"""
