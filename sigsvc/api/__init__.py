"""HTTP API: one blueprint per resource; views declared with sigsvc.web.endpoints.endpoint."""
