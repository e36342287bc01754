"""Cross-cutting building blocks shared by every feature package."""
