"""methodzoo-graphrank (under construction)."""
