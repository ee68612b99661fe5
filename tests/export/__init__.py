"""The service's export: batches from stored signatures, handover, acknowledgement, retention."""
