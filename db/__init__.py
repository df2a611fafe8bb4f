"""Schemas and connections: the base layer that queries/ (reads) and rollout/ (writes) both stand on."""
