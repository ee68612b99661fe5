"""The batch file on its own: writer, seal, format, tampering, the reference receiver."""
