"""Generating with a trained model: `reconciler generate` and `reconciler samples`.

`rules` checks a request against the reference's parameter rules before any call (generation
costs money, and a request Bria would refuse is a wasted round trip); `target` finds a declared
model's current version in the account; `results` calls the route, polls asynchronous results
and downloads the images with a JSON sidecar of the request.
"""
