"""The local API Gateway: an HTTP API's routes served on 127.0.0.1 with Lambda proxy integrations.

`routes` holds the route table the deployer reads from the template, `proxy` the payload format
2.0 event and response mapping, `gateway` the HTTP server that invokes the functions.
"""
