"""Helpers shared by dmpipe's tests: scenario builders and raw HTTP calls to the emulator."""
