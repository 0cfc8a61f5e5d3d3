"""The lab's rules that the server and the client both apply without a server: units, the template
validator and its check evaluator, the built-in item types. No FastAPI and no SQL here."""
