"""Helpers the test suites import: worlds of real servers, in-memory ports, clocks, receivers, scanners."""
