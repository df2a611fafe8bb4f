"""Streamlit helpers shared by the pages: context, cached reads, layout, filters, charts.

Pages stay thin by calling these; nothing here holds SQL or statistics.
"""
