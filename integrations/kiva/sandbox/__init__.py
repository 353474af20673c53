"""A local stand-in for Kiva's auth service and Partner API (see docs/kiva.md).

State lives in its own tables, so the portal, Celery workers, tests and a standalone server
process all see the same drafts, uploads, journals and request log.
"""
