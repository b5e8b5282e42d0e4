"""`preau seed`: deterministic demo and load-test data for the directory (see docs/seed.md)."""

from .accounts import sample_accounts
from .engine import DEMO_PASSWORD, SeedOptions, SeedReport, flush_seeded, seed_directory

__all__ = ["DEMO_PASSWORD", "SeedOptions", "SeedReport", "flush_seeded", "sample_accounts", "seed_directory"]
