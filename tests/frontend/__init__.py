"""Tests of the dashboard (frontend/): its Vitest unit tests and Playwright end-to-end tests."""
