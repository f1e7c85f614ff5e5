"""Test helpers and fixture plugins shared by the test folders (loaded via tests/conftest.py)."""
