"""Tests that render the template and run the generated project's own tooling."""
