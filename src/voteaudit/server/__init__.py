"""The server: a public read-only API and pages over any store, and authenticated submissions.

``app.create_app`` builds the FastAPI application, ``serve.run`` serves it (``voteaudit serve`` and
``voteaudit users`` live in ``voteaudit.cli.server``). Reads come from an in-memory read model
rebuilt when the store changes; submissions (PostgreSQL only) are kept whole with who, when, hash
and decision, and the accepted ones become records of the observers' source through the same
``Store.write_import`` as ingest.
"""
