"""sigsvc package."""
