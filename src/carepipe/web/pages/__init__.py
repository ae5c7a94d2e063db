"""Console pages: one module per area, each exposing ``router`` (an ``APIRouter``).

``carepipe.web.app.mount_console`` includes every module found here.
"""
