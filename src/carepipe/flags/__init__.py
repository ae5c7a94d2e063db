"""Feature flags: definitions, their evaluation, storage, and the OpenFeature provider.

A layer of its own below ``pipelines`` (pipelines ask flags which note engine a tenant
gets) and beside ``mlops``; it needs only ``core`` and ``observability``.
"""
