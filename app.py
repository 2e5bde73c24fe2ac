"""The interactive app (filled in by the app work)."""
