"""methodzoo-tint (under construction)."""
