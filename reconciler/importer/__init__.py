"""`reconciler import`: copy an existing account (made in Bria's console) into manifests.

`account` reads (GET only), `convert` turns the records into manifest documents (pure), `files`
writes them with the downloaded images. The manifests it writes plan as no change against the
account they came from: datasets are adopted (`reconciler.adoption_lock`), completed models
protected.
"""
