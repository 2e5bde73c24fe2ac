"""Single runs: simulate one scenario, summarise it, record where it came from."""
