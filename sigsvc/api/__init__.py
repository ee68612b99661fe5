"""HTTP API: one blueprint per resource; views declared with sigsvc.endpoints.endpoint."""
