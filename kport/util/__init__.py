"""Small helpers shared across kport."""
