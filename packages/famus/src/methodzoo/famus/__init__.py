"""methodzoo-famus (under construction)."""
