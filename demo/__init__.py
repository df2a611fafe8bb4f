"""The fixture schema, row builders, and the seeded synthetic data set (also the embedded default)."""
