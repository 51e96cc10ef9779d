"""The embedded document server's URI: what every process of the topology connects with."""

from __future__ import annotations

import pymongo

from embedded.document_server import start_document_server


def test_clients_of_the_embedded_server_make_no_retryable_writes():
    # Given the embedded document server (SecantusDB slows every write once it holds 10,000
    # retryable-write replies: embedded.document_server.document_server_uri)
    server = start_document_server()
    try:
        # When a process connects with its URI and writes
        client = pymongo.MongoClient(server.uri)
        client.get_default_database()["probe"].insert_one({"written": True})
        # Then the write went to the named database, and the client does not make writes retryable
        assert client.get_default_database().name == server.database
        assert client.get_default_database()["probe"].count_documents({"written": True}) == 1
        assert client.options.retry_writes is False
        client.close()
    finally:
        server.stop()
