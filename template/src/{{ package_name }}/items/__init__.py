"""Example resource: items with full CRUD under /api/v1/items."""
