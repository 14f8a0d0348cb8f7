"""Agent registration protocol: discovery, consent, ID-JAG, /agent/auth."""
