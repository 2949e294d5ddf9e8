"""Test infrastructure: helpers the tests use that users of the package never need."""
