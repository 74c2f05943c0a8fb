"""Report generation: templates, filters, writers."""
