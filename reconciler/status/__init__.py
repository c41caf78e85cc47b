"""`reconciler status`: the declared projects, datasets and models as the account has them.

`read` lists what the manifests declare (read-only, a few GETs per project); `report` builds the
status as plain data (pure); `history` keeps the training times this machine has seen, so the time
left of a training is estimated from the account's own trainings; `render` prints text or JSON.
"""
