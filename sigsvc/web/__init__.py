"""HTTP plumbing shared by the blueprints: errors, endpoint declaration, auth, schemas,
request logging, serving."""
