"""Tests of the ethics-panel report."""
