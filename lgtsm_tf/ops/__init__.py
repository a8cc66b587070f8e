"""Small tensor functions shared by the layers (no weights, no state)."""
